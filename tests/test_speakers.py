"""The speakers page."""

from datetime import timedelta

from eventapp.events.models import EventStatus
from eventapp.models import now_utc
from tests.factories import add_speaker, make_event, make_speaker


def test_every_speaker_is_listed_with_their_public_events(client):
    now = now_utc()
    launch = make_event(title="Lancement", starts_at=now + timedelta(days=3))
    later = make_event(title="Atelier", starts_at=now + timedelta(days=9))
    secret = make_event(title="Brouillon secret", status=EventStatus.DRAFT)
    mahel, catherine = make_speaker(name="Mahel Coppey"), make_speaker(name="Catherine Zuber")
    add_speaker(later, mahel)
    add_speaker(launch, mahel)
    add_speaker(secret, catherine)
    html = client.get("/speakers").get_data(as_text=True)
    assert html.index("Catherine Zuber") < html.index("Mahel Coppey")
    assert html.index("Lancement") < html.index("Atelier")
    assert "Brouillon secret" not in html


def test_speakers_page_in_english(client):
    make_speaker(name="Mahel Coppey")
    html = client.get("/speakers", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<h1>Speakers</h1>" in html
