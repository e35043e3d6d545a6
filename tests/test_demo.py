"""The demo loader: the seeds' launch webinar, loaded once however often it runs."""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from eventapp.aftermath.demo import PAST_SLUG, REGISTRANTS
from eventapp.aftermath.mails import send_requested_aftermaths
from eventapp.aftermath.models import EventMaterial
from eventapp.demo import LAUNCH_SLUG, load_demo, next_thursday
from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.press.models import PressRelease
from eventapp.registrations.models import Registration
from eventapp.site.models import Organisation
from eventapp.speakers.models import EventSpeaker, Speaker
from eventapp.surveys.models import SurveyAnswer


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_demo_places_the_launch_next_thursday_at_13_30_paris(app):
    event = load_demo(now=datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
    assert event.slug == LAUNCH_SLUG
    assert event.starts_at == datetime(2026, 11, 26, 12, 30, tzinfo=UTC)
    assert event.ends_at == datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
    assert [link.speaker.name for link in event.speaker_links] == [
        "Mahel Coppey",
        "Pascal Duforestel",
        "Catherine Zuber",
    ]
    assert event.connection_url_public is False


def test_as_published_keeps_the_2021_date(app):
    event = load_demo(as_published=True)
    assert event.starts_at == datetime(2021, 2, 25, 12, 30, tzinfo=UTC)
    (release,) = db.session.scalars(select(PressRelease)).all()
    assert release.dateline_date == date(2021, 2, 22)


@pytest.mark.parametrize(
    "today",
    [
        datetime(2026, 11, 21, 9, 0, tzinfo=UTC),  # a Saturday
        datetime(2026, 11, 26, 7, 0, tzinfo=UTC),
    ],
)  # Thursday 8:00
def test_the_press_release_is_out_a_few_days_before_the_launch_it_announces(app, today):
    event = load_demo(now=today)
    (release,) = db.session.scalars(select(PressRelease)).all()
    published = release.published_at.replace(tzinfo=release.published_at.tzinfo or UTC)
    assert published <= today  # out already: the press room shows it
    assert timedelta(0) < event.starts_at - published <= timedelta(days=8)
    assert release.dateline_date == published.astimezone(event.tz).date()


def test_next_thursday_is_strictly_after_today():
    assert next_thursday(datetime(2026, 11, 26).date()).isoformat() == "2026-12-03"
    assert next_thursday(datetime(2026, 11, 25).date()).isoformat() == "2026-11-26"


def test_loading_twice_duplicates_nothing(app, runner):
    for _ in range(2):
        result = runner.invoke(args=["demo"])
        assert result.exit_code == 0, result.output
    # The launch and the past webinar.
    assert (count(Event), count(Speaker), count(EventSpeaker), count(Organisation)) == (2, 3, 3, 1)
    assert count(EventMaterial) == 1 and count(Registration) == len(REGISTRANTS)


def test_if_empty_leaves_a_database_with_events_alone(app, runner):
    runner.invoke(args=["demo"])
    db.session.execute(db.delete(EventSpeaker))
    db.session.commit()
    result = runner.invoke(args=["demo", "--if-empty"])
    assert "already has events" in result.output
    assert count(EventSpeaker) == 0


def test_the_demo_page_shows_the_launch_with_its_three_speakers(client, runner):
    runner.invoke(args=["demo"])
    html = client.get(f"/events/{LAUNCH_SLUG}").get_data(as_text=True)
    for name in ("Mahel Coppey", "Pascal Duforestel", "Catherine Zuber"):
        assert name in html
    assert "Présidente du RTES" in html
    assert "visio.example.org" not in html


def test_the_past_webinar_shows_its_replay_and_slides_and_mails_nobody(app, client):
    launch = load_demo(now=datetime(2026, 11, 21, 9, 0, tzinfo=UTC))
    db.session.commit()
    past = db.session.scalars(select(Event).where(Event.slug == PAST_SLUG)).one()
    assert past.ends_at < launch.starts_at and past.has_replay
    html = client.get(f"/events/{PAST_SLUG}").get_data(as_text=True)
    assert "Voir le replay" in html and past.replay_url in html
    assert "Diaporama de la rencontre" in html and "Version accessible" in html
    material = db.session.scalars(select(EventMaterial)).one()
    for url in (
        f"/events/{PAST_SLUG}/materials/{material.id}/{material.download_name}",
        f"/events/{PAST_SLUG}/materials/{material.id}/accessible/x.txt",
    ):
        response = client.get(url)
        assert response.status_code == 200
        response.close()
    joined = [r for r in db.session.scalars(select(Registration)) if r.first_joined_at]
    assert len(joined) == sum(1 for _, _, came, _ in REGISTRANTS if came)
    assert send_requested_aftermaths(now_utc()) == 0  # "sent" before the demo existed
    assert count(SurveyAnswer) == 4 and {
        a.event_id for a in db.session.scalars(select(SurveyAnswer))
    } == {past.id}
