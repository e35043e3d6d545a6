"""Calendar files parsed back with icalendar, the public routes, and the "add to calendar" links."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from flask_babel import force_locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar
from sqlalchemy import select

from eventapp.events.models import Event, EventKind, EventStatus
from eventapp.extensions import db
from eventapp.ics import invites, services
from eventapp.models import now_utc
from eventapp.site.services import current_organisation
from tests.factories import make_event

SITE = "https://events.test"
PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2021, 3, 1, 9, 15, tzinfo=UTC)
# Paris moves from UTC+1 to UTC+2 on 28 March 2021: both events are at 13:30 local time.
BEFORE_DST = datetime(2021, 3, 27, 12, 30, tzinfo=UTC)
AFTER_DST = datetime(2021, 3, 29, 11, 30, tzinfo=UTC)
SECRET = "https://visio.example.org/secret-room"


@pytest.fixture(autouse=True)
def french(app):
    """Build files in French outside a request, as the mail worker does for each recipient."""
    with force_locale("fr"):
        yield


def parse(data: bytes) -> Calendar:
    return Calendar.from_ical(data)


def only_vevent(data: bytes):
    (vevent,) = parse(data).walk("VEVENT")
    return vevent


def attendees(vevent) -> list:
    value = vevent.get("ATTENDEE")
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def publish(event, **kwargs) -> bytes:
    return services.publish_event(
        event, site_url=SITE, organisation=current_organisation(), now=NOW, **kwargs
    )


def request(event, **overrides) -> bytes:
    values = {
        "attendee_email": "anne@example.org",
        "attendee_name": "Anne Martin",
        "join_url": f"{SITE}/j/join-token",
        "site_url": SITE,
        "organisation": current_organisation(),
        "organiser_email": "contact@events.test",
        "now": NOW,
    }
    values.update(overrides)
    return invites.request_invite(event, **values)


def cancel(event, **overrides) -> bytes:
    values = {
        "attendee_email": "anne@example.org",
        "attendee_name": "Anne Martin",
        "site_url": SITE,
        "organisation": current_organisation(),
        "organiser_email": "contact@events.test",
        "now": NOW,
    }
    values.update(overrides)
    return services.cancel_invite(event, **values)


def assert_wire_format(data: bytes) -> None:
    """CRLF after every line, no bare LF, no line over 75 octets (RFC 5545, 3.1)."""
    assert data.endswith(b"\r\n")
    lines = data.split(b"\r\n")[:-1]
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert max(len(line) for line in lines) <= 75


# --- PUBLISH -----------------------------------------------------------------------------------


def test_publish_event_has_every_field_and_no_attendee_or_private_link(app):
    event = make_event(
        slug="lancement",
        title="Lancement du kit RégionalESS",
        summary="Présentation des fiches du kit.",
        starts_at=BEFORE_DST,
        ics_sequence=4,
        connection_url=SECRET,
    )
    data = publish(event)
    calendar = parse(data)
    assert calendar["METHOD"] == "PUBLISH"
    assert calendar["VERSION"] == "2.0"
    assert "eventapp" in calendar["PRODID"]
    vevent = only_vevent(data)
    assert vevent["UID"] == f"event-{event.id}@events.test"
    assert vevent["SEQUENCE"] == 4
    assert vevent["SUMMARY"] == "Lancement du kit RégionalESS"
    assert "Présentation des fiches du kit." in vevent["DESCRIPTION"]
    assert f"{SITE}/events/lancement" in vevent["DESCRIPTION"]
    assert vevent["URL"] == f"{SITE}/events/lancement"
    assert vevent["STATUS"] == "CONFIRMED"
    assert vevent["LOCATION"] == "En ligne (visioconférence)"
    assert vevent["DTSTAMP"].dt == NOW and b"DTSTAMP:20210301T091500Z\r\n" in data
    assert vevent["LAST-MODIFIED"].dt.utcoffset() == timedelta(0)
    assert b"LAST-MODIFIED:" in data and re.search(rb"LAST-MODIFIED:\d{8}T\d{6}Z\r\n", data)
    assert attendees(vevent) == [] and b"ATTENDEE" not in data
    assert b"secret-room" not in data
    assert_wire_format(data)


def test_publish_shows_the_connection_link_only_when_the_organiser_made_it_public(app):
    event = make_event(connection_url=SECRET, connection_url_public=True)
    vevent = only_vevent(publish(event))
    assert vevent["LOCATION"] == SECRET
    assert SECRET in vevent["DESCRIPTION"]


def test_times_keep_their_local_hour_on_both_sides_of_the_dst_change(app):
    winter = make_event(starts_at=BEFORE_DST)
    summer = make_event(starts_at=AFTER_DST)
    for event, utc_start in ((winter, BEFORE_DST), (summer, AFTER_DST)):
        data = publish(event)
        assert b"DTSTART;TZID=Europe/Paris:2021032" in data
        vevent = only_vevent(data)
        start, end = vevent["DTSTART"], vevent["DTEND"]
        assert start.params["TZID"] == end.params["TZID"] == "Europe/Paris"
        assert (start.dt.hour, start.dt.minute) == (13, 30)
        assert (end.dt.hour, end.dt.minute) == (14, 0)
        assert start.dt == utc_start and end.dt == utc_start + timedelta(minutes=30)
        # The VTIMEZONE itself, not only the name, gives the right offset on each side.
        (vtimezone,) = parse(data).walk("VTIMEZONE")
        assert vtimezone["TZID"] == "Europe/Paris"
        own_tz = vtimezone.to_tz(lookup_tzid=False)
        local = start.dt.replace(tzinfo=None).replace(tzinfo=own_tz)
        assert local.astimezone(UTC) == utc_start
    assert b"DTSTART;TZID=Europe/Paris:20210327T133000" in publish(winter)
    assert b"DTSTART;TZID=Europe/Paris:20210329T133000" in publish(summer)


def test_uid_stays_when_title_and_time_change_while_sequence_follows_the_event(app):
    event = make_event(title="Avant", starts_at=BEFORE_DST)
    before = only_vevent(publish(event))
    event.title = "Après"
    event.starts_at = AFTER_DST
    event.ends_at = AFTER_DST + timedelta(hours=1)
    event.ics_sequence += 1
    db.session.commit()
    after = only_vevent(publish(event))
    assert before["UID"] == after["UID"] == services.event_uid(event, SITE)
    assert (before["SEQUENCE"], after["SEQUENCE"]) == (0, 1)
    assert after["SUMMARY"] == "Après" and after["DTSTART"].dt == AFTER_DST
    assert services.event_uid(make_event(), SITE) != before["UID"]


def test_event_uid_uses_the_site_host_and_needs_a_saved_event(app):
    event = make_event()
    uid = services.event_uid(event, "https://www.rtes.fr/agenda")
    assert uid == f"event-{event.id}@www.rtes.fr"
    with pytest.raises(ValueError):
        services.event_uid(Event(slug="x", title="x"), SITE)


def test_long_accented_text_is_folded_at_75_octets_and_reads_back_whole(app):
    title = "Économie sociale et solidaire : quelles coopérations entre collectivités ? " * 2
    event = make_event(title=title.strip(), summary="é" * 300, venue="Lille", kind=EventKind.HYBRID)
    outputs = [
        publish(event),
        request(event),
        cancel(event),
        services.publish_feed(
            [event], site_url=SITE, organisation=current_organisation(), name="Agenda", now=NOW
        ),
    ]
    for data in outputs:
        assert_wire_format(data)
        assert b"\r\n " in data  # something was folded
        vevent = only_vevent(data)
        assert vevent["SUMMARY"] == title.strip()
        assert "é" * 300 in vevent["DESCRIPTION"]


def test_cancelled_event_is_published_with_status_cancelled(app):
    event = make_event(status=EventStatus.CANCELLED)
    vevent = only_vevent(publish(event))
    assert vevent["STATUS"] == "CANCELLED"
    assert "Cet événement est annulé." in vevent["DESCRIPTION"]


# --- REQUEST and CANCEL -----------------------------------------------------------------------


def test_request_invite_names_organiser_and_attendee_and_carries_the_join_link_only(app):
    event = make_event(slug="webinaire", starts_at=AFTER_DST, ics_sequence=2, connection_url=SECRET)
    data = request(event)
    calendar = parse(data)
    assert calendar["METHOD"] == "REQUEST"
    vevent = only_vevent(data)
    assert vevent["UID"] == services.event_uid(event, SITE)
    assert vevent["SEQUENCE"] == 2
    organiser = vevent["ORGANIZER"]
    assert organiser == "mailto:contact@events.test"
    assert organiser.params["CN"] == current_organisation().name
    (attendee,) = attendees(vevent)
    assert attendee == "mailto:anne@example.org"
    assert attendee.params["CN"] == "Anne Martin"
    assert attendee.params["RSVP"] == "FALSE"
    assert attendee.params["PARTSTAT"] == "ACCEPTED"
    assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
    assert vevent["LOCATION"] == f"{SITE}/j/join-token"
    assert vevent["URL"] == f"{SITE}/j/join-token"
    assert f"{SITE}/j/join-token" in vevent["DESCRIPTION"]
    assert f"{SITE}/r/" not in data.decode()  # no attendee space: a calendar is shared
    assert f"{SITE}/events/webinaire" in vevent["DESCRIPTION"]
    assert b"secret-room" not in data  # the personal link stands for the real one
    (vtimezone,) = parse(data).walk("VTIMEZONE")
    assert vtimezone["TZID"] == vevent["DTSTART"].params["TZID"] == "Europe/Paris"
    assert vevent["DTSTART"].dt.hour == 13 and vevent["DTSTAMP"].dt == NOW
    assert_wire_format(data)


def test_request_location_is_the_venue_in_person_and_both_when_hybrid(app):
    in_person = make_event(kind=EventKind.IN_PERSON, venue="La Grappe, 59000 Lille")
    vevent = only_vevent(request(in_person))
    assert vevent["LOCATION"] == "La Grappe, 59000 Lille"
    assert "/j/join-token" not in vevent["DESCRIPTION"]
    assert f"{SITE}/events/" in vevent["DESCRIPTION"]

    hybrid = make_event(kind=EventKind.HYBRID, venue="La Grappe, 59000 Lille")
    location = only_vevent(request(hybrid))["LOCATION"]
    assert "La Grappe, 59000 Lille" in location and f"{SITE}/j/join-token" in location


def test_a_name_with_line_breaks_cannot_add_a_property(app):
    event = make_event()
    data = request(event, attendee_name="Anne\r\nX-EVIL:1\r\nATTENDEE:mailto:x@evil.test")
    vevent = only_vevent(data)
    assert "X-EVIL" not in vevent
    (attendee,) = attendees(vevent)
    assert attendee == "mailto:anne@example.org"
    with pytest.raises(ValueError):
        request(event, attendee_email="anne@example.org\r\nX-EVIL:1")


# The invite's personal part is filled into a pattern instead of being built with icalendar for
# each registrant: it must come out byte for byte as icalendar writes it.

TRICKY = st.sampled_from(list(",;:\\^\"'\n\r\t éÉ€😀xX-/=?&"))
names = st.lists(st.one_of(TRICKY, st.characters(codec="utf-8")), max_size=90).map("".join)
links = st.lists(st.one_of(TRICKY, st.sampled_from(list("aZ09_-"))), max_size=160).map(
    lambda chars: f"{SITE}/x/" + "".join(c for c in chars if not c.isspace())  # as URLs are
)


def icalendar_invite(event, *, attendee_email, attendee_name, join_url) -> bytes:
    """The same properties with the real values, serialised whole by icalendar."""
    join_url = join_url if event.is_online else ""
    values = {"email": attendee_email, "name": " ".join(attendee_name.split()),
              "join_text": join_url, "join_uri": join_url}  # fmt: skip
    personal = invites._personal_properties(event, SITE, values)
    personal.DTSTAMP = NOW
    head, tail = invites._request_frame(event, SITE, current_organisation(), "contact@events.test")
    properties = personal.to_ical().removeprefix(b"BEGIN:VEVENT\r\n")
    return head + properties.removesuffix(b"END:VEVENT\r\n") + tail


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=names,
    join_url=st.one_of(st.just(""), links),
    locale=st.sampled_from(["fr", "en"]),
    kind=st.sampled_from(list(EventKind)),
)
def test_a_filled_invite_is_byte_for_byte_what_icalendar_writes(app, name, join_url, locale, kind):
    event = db.session.scalar(select(Event).where(Event.slug == "pattern")) or make_event(
        slug="pattern", venue="La Grappe, 59000 Lille"
    )
    event.kind = kind
    values = {"attendee_email": "anne.o'hara+kit@example.org", "attendee_name": name,
              "join_url": join_url}  # fmt: skip
    with force_locale(locale):
        assert request(event, **values) == icalendar_invite(event, **values)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("ab\\^,;:é€😀 ")), min_size=50, max_size=400).map("".join))
def test_lines_are_folded_as_icalendar_folds_them(line):
    from icalendar.parser import Contentline

    assert invites._fold("DESCRIPTION:" + line) == Contentline("DESCRIPTION:" + line).to_ical()


def test_cancel_invite_has_same_uid_status_cancelled_and_the_sequence(app):
    event = make_event(starts_at=BEFORE_DST)
    uid = only_vevent(request(event))["UID"]
    event.status = EventStatus.CANCELLED
    event.ics_sequence = 3
    db.session.commit()
    data = cancel(event)
    assert parse(data)["METHOD"] == "CANCEL"
    vevent = only_vevent(data)
    assert vevent["UID"] == uid
    assert vevent["STATUS"] == "CANCELLED"
    assert vevent["SEQUENCE"] == 3
    assert vevent["ORGANIZER"] == "mailto:contact@events.test"
    (attendee,) = attendees(vevent)
    assert attendee == "mailto:anne@example.org"
    assert vevent["DTSTART"].dt == BEFORE_DST
    assert parse(data).walk("VTIMEZONE")[0]["TZID"] == "Europe/Paris"
    assert_wire_format(data)

    without_attendee = only_vevent(cancel(event, attendee_email=None, attendee_name=None))
    assert attendees(without_attendee) == []
    assert without_attendee["STATUS"] == "CANCELLED"


# --- Feed -------------------------------------------------------------------------------------


def test_feed_has_a_name_refresh_hints_and_one_vtimezone_per_tzid(app):
    events = [
        make_event(starts_at=BEFORE_DST),
        make_event(starts_at=AFTER_DST),
        make_event(starts_at=AFTER_DST, timezone="America/Toronto"),
    ]
    data = services.publish_feed(
        events, site_url=SITE, organisation=current_organisation(), name="Agenda RTES", now=NOW
    )
    calendar = parse(data)
    assert calendar["METHOD"] == "PUBLISH"
    assert calendar["X-WR-CALNAME"] == "Agenda RTES"
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in data
    assert b"X-PUBLISHED-TTL:PT1H\r\n" in data
    assert sorted(tz["TZID"] for tz in calendar.walk("VTIMEZONE")) == [
        "America/Toronto",
        "Europe/Paris",
    ]
    vevents = calendar.walk("VEVENT")
    assert [v["UID"] for v in vevents] == [services.event_uid(e, SITE) for e in events]
    toronto = vevents[2]["DTSTART"]
    assert toronto.params["TZID"] == "America/Toronto" and toronto.dt.hour == 7
    assert all(attendees(v) == [] for v in vevents)
    assert b"secret-room" not in data
    assert_wire_format(data)


# --- Routes -----------------------------------------------------------------------------------


def test_event_file_route_serves_a_public_event_as_an_attachment(client):
    make_event(slug="lancement", title="Lancement", connection_url=SECRET)
    response = client.get("/events/lancement.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="lancement.ics"'
    assert "max-age=300" in response.headers["Cache-Control"]
    calendar = parse(response.data)
    assert calendar["METHOD"] == "PUBLISH"
    assert only_vevent(response.data)["SUMMARY"] == "Lancement"
    assert b"secret-room" not in response.data
    # The page itself is still the page.
    page = client.get("/events/lancement")
    assert page.status_code == 200 and page.mimetype == "text/html"


def test_event_file_route_refuses_drafts_and_unknown_slugs(client):
    make_event(slug="brouillon", status=EventStatus.DRAFT)
    for url in ("/events/brouillon.ics", "/events/inconnu.ics"):
        response = client.get(url)
        assert response.status_code == 404
        assert response.mimetype == "text/html"


def test_event_file_route_serves_cancelled_events_as_cancelled(client):
    make_event(slug="annule", status=EventStatus.CANCELLED)
    response = client.get("/events/annule.ics")
    assert response.status_code == 200
    assert only_vevent(response.data)["STATUS"] == "CANCELLED"


def test_feed_route_lists_public_events_upcoming_and_recent_only(client):
    now = now_utc()
    upcoming = make_event(title="A venir", starts_at=now + timedelta(days=3), connection_url=SECRET)
    public_link = make_event(
        title="Lien public",
        starts_at=now + timedelta(days=4),
        connection_url="https://visio.example.org/open-room",
        connection_url_public=True,
    )
    cancelled = make_event(
        title="Annulé", starts_at=now + timedelta(days=5), status=EventStatus.CANCELLED
    )
    recent = make_event(title="Récent", starts_at=now - timedelta(days=30))
    make_event(title="Brouillon", starts_at=now + timedelta(days=6), status=EventStatus.DRAFT)
    make_event(title="Ancien", starts_at=now - timedelta(days=200))

    response = client.get("/calendar.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    calendar = parse(response.data)
    assert calendar["METHOD"] == "PUBLISH"
    assert calendar["X-WR-CALNAME"].startswith("Événements")
    by_title = {str(v["SUMMARY"]): v for v in calendar.walk("VEVENT")}
    assert set(by_title) == {"Récent", "A venir", "Lien public", "Annulé"}
    assert by_title["Annulé"]["STATUS"] == "CANCELLED"
    assert by_title["A venir"]["STATUS"] == "CONFIRMED"
    assert by_title["Récent"]["UID"] == services.event_uid(recent, SITE)
    assert by_title["A venir"]["UID"] == services.event_uid(upcoming, SITE)
    assert by_title["Annulé"]["UID"] == services.event_uid(cancelled, SITE)
    assert by_title["Lien public"]["LOCATION"] == public_link.connection_url
    assert b"secret-room" not in response.data
    assert_wire_format(response.data)


# --- Links on the event page ------------------------------------------------------------------


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def calendar_section(client, url: str, lang: str = "fr") -> tuple[str, dict[str, str]]:
    response = client.get(url, headers={"Accept-Language": lang})
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    match = re.search(r'<section class="add-to-calendar".*?</section>', body, re.S)
    if match is None:
        return body, {}
    links = {
        html.unescape(text).strip(): html.unescape(href)
        for href, text in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', match.group(0))
    }
    return body, links


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_event_page_offers_ics_google_and_outlook_links(client, lang):
    starts_at = now_utc().replace(microsecond=0) + timedelta(days=10)
    make_event(slug="lancement", title="Lancement", starts_at=starts_at, connection_url=SECRET)
    body, links = calendar_section(client, "/events/lancement", lang)
    assert f'<html lang="{lang}">' in body
    assert 'aria-labelledby="agenda"' in body and 'id="agenda"' in body
    hrefs = set(links.values())
    assert "/events/lancement.ics" in hrefs
    assert "/calendar.ics" in hrefs
    google = next(h for h in hrefs if h.startswith("https://calendar.google.com/calendar/render?"))
    outlook = next(
        h for h in hrefs if h.startswith("https://outlook.live.com/calendar/0/deeplink/")
    )
    assert query(google)["dates"].startswith(f"{starts_at:%Y%m%dT%H%M%SZ}/")
    assert query(outlook)["startdt"] == f"{starts_at:%Y-%m-%dT%H:%M:%SZ}"
    assert "secret-room" not in body
    if lang == "fr":
        assert "Ajouter à mon agenda" in body
        labels = {"Télécharger le fichier .ics", "Ajouter à Google Agenda", "Ajouter à Outlook.com"}
        assert labels <= set(links)


def test_event_page_has_no_calendar_links_when_cancelled_or_over(client):
    now = now_utc()
    make_event(slug="annule", starts_at=now + timedelta(days=3), status=EventStatus.CANCELLED)
    make_event(slug="passe", starts_at=now - timedelta(days=3))
    for url in ("/events/annule", "/events/passe"):
        body, links = calendar_section(client, url)
        assert links == {}
        assert "Ajouter à mon agenda" not in body
        assert ".ics" not in body


# --- Google and Outlook links -----------------------------------------------------------------


def test_google_link_carries_utc_times_title_details_and_time_zone(app):
    details = f"{SITE}/events/ete"
    for starts_at in (BEFORE_DST, AFTER_DST):
        event = make_event(title="Lancement du kit", starts_at=starts_at, connection_url=SECRET)
        url = services.google_calendar_url(event, details_url=details)
        assert url.startswith("https://calendar.google.com/calendar/render?")
        params = query(url)
        end = starts_at + timedelta(minutes=30)
        assert params["action"] == "TEMPLATE"
        assert params["dates"] == f"{starts_at:%Y%m%dT%H%M%SZ}/{end:%Y%m%dT%H%M%SZ}"
        assert params["ctz"] == "Europe/Paris"
        assert params["text"] == "Lancement du kit"
        assert details in params["details"]
        assert "secret-room" not in url
    summer = make_event(starts_at=AFTER_DST)
    dates = query(services.google_calendar_url(summer, details_url=details))["dates"]
    assert dates == "20210329T113000Z/20210329T120000Z"


def test_outlook_link_carries_utc_times_subject_and_body(app):
    event = make_event(title="Lancement & suite", starts_at=BEFORE_DST, connection_url=SECRET)
    url = services.outlook_calendar_url(event, details_url=f"{SITE}/events/x")
    assert url.startswith("https://outlook.live.com/calendar/0/deeplink/compose?")
    params = query(url)
    assert params["path"] == "/calendar/action/compose"
    assert params["rru"] == "addevent"
    assert params["subject"] == "Lancement & suite"
    assert params["startdt"] == "2021-03-27T12:30:00Z"
    assert params["enddt"] == "2021-03-27T13:00:00Z"
    assert f"{SITE}/events/x" in params["body"]
    assert "secret-room" not in url


def test_calendar_links_show_the_connection_link_only_when_public(app):
    public = make_event(
        kind=EventKind.HYBRID,
        venue="Lille",
        connection_url="https://visio.example.org/open-room",
        connection_url_public=True,
    )
    for build in (services.google_calendar_url, services.outlook_calendar_url):
        params = query(build(public, details_url=f"{SITE}/events/x"))
        assert params["location"] == "Lille – https://visio.example.org/open-room"


def test_cached_calendar_files_follow_every_change_of_the_event(client):
    event = make_event(slug="lancement", title="Lancement")
    first = client.get("/events/lancement.ics")
    feed = client.get("/calendar.ics")
    assert only_vevent(first.data)["SUMMARY"] == "Lancement"
    assert client.get("/events/lancement.ics").data == first.data  # served again as it was
    event.title = "Lancement du kit"
    db.session.commit()
    assert only_vevent(client.get("/events/lancement.ics").data)["SUMMARY"] == "Lancement du kit"
    assert b"Lancement du kit" in client.get("/calendar.ics").data
    assert b"Lancement du kit" not in feed.data
    event.status = EventStatus.CANCELLED
    db.session.commit()
    assert only_vevent(client.get("/events/lancement.ics").data)["STATUS"] == "CANCELLED"
