"""The richer event page: schema.org JSON-LD, link previews, share links, speakers and kits."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from html import unescape
from urllib.parse import parse_qs, unquote, urlsplit

from eventapp.events.models import EventKind, EventStatus
from eventapp.events.sharing import script_json
from eventapp.extensions import db
from eventapp.registrations.services import Applicant, register_attendee
from eventapp.site.models import Organisation
from tests.factories import add_speaker, make_event, make_speaker
from tests.kit_helpers import make_kit

LAUNCH = datetime(2021, 2, 25, 12, 30, tzinfo=UTC)  # 13:30 in Paris
PHOTO = "0123456789abcdef0123456789abcdef.webp"


def get_html(client, url: str, lang: str = "fr") -> str:
    response = client.get(url, headers={"Accept-Language": lang})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def json_ld(html: str) -> dict:
    scripts = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert len(scripts) == 1
    return json.loads(scripts[0])


def meta(html: str, name: str) -> list[str]:
    """Return the content of every <meta property|name="name">, entities decoded."""
    pattern = rf'<meta (?:property|name)="{re.escape(name)}" content="([^"]*)">'
    return [unescape(value) for value in re.findall(pattern, html)]


def links(html: str, text: str) -> list[str]:
    """Return the href of every link whose text is `text`, entities decoded."""
    pattern = rf'<a href="([^"]*)"[^>]*>{re.escape(text)}</a>'
    return [unescape(href) for href in re.findall(pattern, html)]


def test_the_json_ld_describes_the_event_and_never_its_connection_link(app, client):
    db.session.add(Organisation(name="RTES", website="https://www.rtes.fr"))
    event = make_event(
        slug="lancement",
        title="Lancement du kit RégionalESS",
        summary="Présentation du kit.",
        starts_at=LAUNCH,
        connection_url="https://visio.example.org/room-secrete",
        connection_url_public=True,
    )
    add_speaker(event, make_speaker(name="Mahel Coppey", role_line="présidente du RTES"), 1)
    add_speaker(event, make_speaker(name="Pascal Duforestel"), 2)
    html = get_html(client, "/events/lancement")
    data = json_ld(html)
    assert "room-secrete" not in json.dumps(data)
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "Event"
    assert data["name"] == "Lancement du kit RégionalESS"
    assert data["description"] == "Présentation du kit."
    assert data["url"] == "https://events.test/events/lancement"
    assert data["startDate"] == "2021-02-25T13:30:00+01:00"
    assert data["endDate"] == "2021-02-25T14:00:00+01:00"
    assert data["eventAttendanceMode"] == "https://schema.org/OnlineEventAttendanceMode"
    assert data["eventStatus"] == "https://schema.org/EventScheduled"
    assert data["location"] == [
        {"@type": "VirtualLocation", "url": "https://events.test/events/lancement"}
    ]
    assert data["organizer"] == {
        "@type": "Organization",
        "name": "RTES",
        "url": "https://www.rtes.fr",
    }
    assert [(p["@type"], p["name"]) for p in data["performer"]] == [
        ("Person", "Mahel Coppey"),
        ("Person", "Pascal Duforestel"),
    ]
    assert data["performer"][0]["jobTitle"] == "présidente du RTES"
    assert data["offers"]["price"] == 0
    assert data["offers"]["priceCurrency"] == "EUR"
    assert "image" not in data  # no speaker has a photo


def test_an_in_person_event_is_at_its_venue_and_a_hybrid_one_at_both(client):
    make_event(slug="salle", kind=EventKind.IN_PERSON, venue="La Grappe, 59000 Lille")
    make_event(slug="mixte", kind=EventKind.HYBRID, venue="La Grappe, 59000 Lille")
    in_person = json_ld(get_html(client, "/events/salle"))
    assert in_person["eventAttendanceMode"] == "https://schema.org/OfflineEventAttendanceMode"
    assert in_person["location"] == [
        {"@type": "Place", "name": "La Grappe, 59000 Lille", "address": "La Grappe, 59000 Lille"}
    ]
    hybrid = json_ld(get_html(client, "/events/mixte"))
    assert hybrid["eventAttendanceMode"] == "https://schema.org/MixedEventAttendanceMode"
    assert [place["@type"] for place in hybrid["location"]] == ["VirtualLocation", "Place"]
    assert hybrid["location"][0]["url"] == "https://events.test/events/mixte"


def test_a_cancelled_event_is_event_cancelled(client):
    make_event(slug="annule", status=EventStatus.CANCELLED)
    assert json_ld(get_html(client, "/events/annule"))["eventStatus"] == (
        "https://schema.org/EventCancelled"
    )


def test_the_offer_says_whether_seats_are_left_and_follows_registrations(app, client):
    event = make_event(slug="places", capacity=1)
    assert json_ld(get_html(client, "/events/places"))["offers"]["availability"] == (
        "https://schema.org/InStock"
    )
    register_attendee(event, Applicant(full_name="A", email="a@example.org"))
    db.session.commit()
    assert json_ld(get_html(client, "/events/places"))["offers"]["availability"] == (
        "https://schema.org/SoldOut"
    )


def test_a_title_cannot_close_the_script_element(client):
    title = 'Atelier </script><script>alert("x")</script> & <!-- fin'
    make_event(slug="piege", title=title)
    html = get_html(client, "/events/piege")
    head = html[: html.index("</head>")]
    assert head.count("</script>") == 1  # only the JSON-LD's own end tag
    assert "<script>alert" not in html
    assert "<!--" not in head
    assert json_ld(html)["name"] == title


def test_script_json_escapes_what_html_would_read():
    assert str(script_json({"a": "</script>&"})) == '{"a": "\\u003c/script\\u003e\\u0026"}'
    assert json.loads(str(script_json({"a": "</script>&"}))) == {"a": "</script>&"}


def test_open_graph_and_twitter_tags_describe_the_page(client):
    make_event(slug="apercu", title="Lancement & présentation", summary="Le kit en 30 minutes.")
    html = get_html(client, "/events/apercu")
    assert meta(html, "og:title") == ["Lancement & présentation"]
    assert meta(html, "og:description") == ["Le kit en 30 minutes."]
    assert meta(html, "og:url") == ["https://events.test/events/apercu"]
    assert meta(html, "og:type") == ["website"]
    assert meta(html, "og:locale") == ["fr_FR"]
    assert meta(html, "og:locale:alternate") == ["en_US"]
    assert meta(html, "twitter:card") == ["summary"]
    assert meta(html, "og:image") == []  # no picture: no tag rather than a broken one
    assert meta(get_html(client, "/events/apercu", lang="en"), "og:locale") == ["en_US"]


def test_a_speaker_photo_is_the_preview_picture(client):
    event = make_event(slug="photo")
    add_speaker(event, make_speaker(name="Sans photo"), 1)
    add_speaker(event, make_speaker(name="Catherine Zuber", photo_filename=PHOTO), 2)
    html = get_html(client, "/events/photo")
    picture = f"https://events.test/speakers/photos/{PHOTO}"
    assert meta(html, "og:image") == [picture]
    assert meta(html, "og:image:alt") == ["Photo de Catherine Zuber"]
    assert json_ld(html)["image"] == [picture]


def test_share_links_carry_the_page_address_encoded(client):
    make_event(slug="partage", title="Kit & fiches : le lancement", starts_at=LAUNCH)
    html = get_html(client, "/events/partage")
    page_url = "https://events.test/events/partage"
    assert 'aria-labelledby="partager"' in html and "Partager cet événement</h2>" in html

    (mail,) = links(html, "Partager par mail")
    assert mail.startswith("mailto:?subject=")
    assert "+" not in mail and " " not in mail  # RFC 6068: spaces are %20
    fields = parse_qs(urlsplit(mail).query)
    assert fields["subject"] == ["Kit & fiches : le lancement"]
    assert page_url in fields["body"][0]

    (linkedin,) = links(html, "Partager sur LinkedIn")
    assert linkedin == (
        "https://www.linkedin.com/sharing/share-offsite/?url="
        "https%3A%2F%2Fevents.test%2Fevents%2Fpartage"
    )

    (mastodon,) = links(html, "Partager sur Mastodon")
    assert mastodon.startswith("https://s2f.kytta.dev/?text=")
    text = mastodon.removeprefix("https://s2f.kytta.dev/?text=")
    assert "&" not in text and ":" not in text and "/" not in text
    assert unquote(text) == f"Kit & fiches : le lancement\n{page_url}"


def test_the_address_is_shown_to_copy_and_the_copy_script_is_our_own(client):
    make_event(slug="copie")
    html = get_html(client, "/events/copie")
    assert '<label for="adresse-evenement">Adresse de cette page</label>' in html
    assert (
        '<input id="adresse-evenement" type="text" value="https://events.test/events/copie" '
        "readonly>" in html
    )
    assert '<script src="/static/share-copy.js" defer></script>' in html
    assert 'data-copy-button="Copier l\'adresse"' in html
    script = client.get("/static/share-copy.js")
    script.close()
    assert script.status_code == 200
    # Every script of the page comes from the site itself: the CSP allows no other.
    sources = re.findall(r"<script\b([^>]*)>", html)
    assert sources and all(
        'type="application/ld+json"' in attrs or 'src="/static/' in attrs for attrs in sources
    )


def test_a_speakers_name_links_to_their_bio(client):
    event = make_event(slug="bio")
    speaker = make_speaker(name="Mahel Coppey")
    add_speaker(event, speaker)
    html = get_html(client, "/events/bio")
    assert links(html, "Mahel Coppey") == [f"/speakers#intervenant-{speaker.id}"]
    assert f'id="intervenant-{speaker.id}"' in get_html(client, "/speakers")


def test_the_event_links_to_its_published_kits_and_the_kit_back(app, client):
    event = make_event(slug="lancement-kit", title="Lancement du kit")
    other = make_event(slug="autre")
    make_kit(event, slug="regionaless", title="Kit RégionalESS")
    make_kit(event, slug="en-preparation", title="Kit en préparation", published=False)
    make_kit(other, slug="municipaless", title="Kit MunicipalESS")
    html = get_html(client, "/events/lancement-kit")
    assert links(html, "Kit RégionalESS") == ["/kits/regionaless"]
    assert "Le kit lancé</h2>" in html
    assert "Kit en préparation" not in html
    assert "Kit MunicipalESS" not in html
    assert links(get_html(client, "/kits/regionaless"), "Lancement du kit") == [
        "/events/lancement-kit"
    ]


def test_an_event_without_kit_shows_no_kit_section(client):
    make_event(slug="seul")
    assert 'aria-labelledby="kits-lances"' not in get_html(client, "/events/seul")


def test_a_change_to_a_kit_refreshes_the_cached_event_page(app, client):
    event = make_event(slug="cache-kit")
    kit = make_kit(event, title="Avant")
    assert links(get_html(client, "/events/cache-kit"), "Avant")
    kit.title = "Après"
    db.session.commit()
    assert links(get_html(client, "/events/cache-kit"), "Après")
    kit.published = False
    db.session.commit()
    assert not links(get_html(client, "/events/cache-kit"), "Après")
    kit.published = True
    kit.events = []
    db.session.commit()
    assert not links(get_html(client, "/events/cache-kit"), "Après")


def test_the_kits_cost_one_query_whatever_their_number(app, client):
    from tests.test_events import count_queries

    one, many = make_event(slug="un-kit"), make_event(slug="trois-kits")
    make_kit(one)
    for _ in range(3):
        make_kit(many)
    assert count_queries(app, lambda: client.get("/events/un-kit")) == count_queries(
        app, lambda: client.get("/events/trois-kits")
    )
