"""BigBlueButton rooms that eventapp opens, on the stand-in server (tests/bbb_standin.py): the
meeting created once, joins signed per registrant, presence polled and merged, the server down
at join time, the end callback, recordings made a replay; and which clicks count."""

from __future__ import annotations

import re
import secrets
import urllib.parse
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.outbox.models import OutboxMessage, OutboxStatus
from eventapp.registrations.models import Registration, TokenPurpose
from eventapp.registrations.services import Applicant, register_attendee
from eventapp.registrations.tokens import store_tokens
from eventapp.rooms import jobs, services
from eventapp.rooms.models import PresenceSpan, RoomKind
from eventapp.rooms.presence import first_and_last, union_minutes
from eventapp.site.logredact import redact
from tests.admin_helpers import Poster, signed_in
from tests.bbb_standin import BbbStandIn
from tests.factories import make_event
from tests.helpers import text

BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0"}


@pytest.fixture
def bbb(app):
    server = BbbStandIn(secret="stand-in-secret").start()
    app.config["BBB_SERVERS"] = {"salle": server.config()}
    app.config["BBB_TIMEOUT_SECONDS"] = 1.0
    yield server
    server.stop()


def live_event(**fields):
    """A webinar that started ten minutes ago, in a BigBlueButton room."""
    start = now_utc().replace(microsecond=0) - timedelta(minutes=10)
    event = make_event(starts_at=start, ends_at=start + timedelta(minutes=90), **fields)
    services.set_room(event, RoomKind.BBB, "salle", record=True)
    db.session.commit()
    return event


def registrant(event, name: str, email: str) -> tuple[Registration, str]:
    """Register someone before the start; return them with the raw secret of their join link."""
    registration = register_attendee(
        event, Applicant(full_name=name, email=email), event.starts_at - timedelta(days=1)
    )
    raw = secrets.token_urlsafe(32)
    store_tokens(registration, {TokenPurpose.JOIN: raw})
    db.session.commit()
    return registration, raw


def follow(url: str) -> int:
    """Open a join URL as the person's browser would (the stand-in puts them in the meeting)."""
    import urllib.request

    with urllib.request.urlopen(url, timeout=5) as answer:
        return answer.status


def test_the_meeting_is_created_once_before_the_start(app, bbb):
    event = live_event()
    assert jobs.create_meetings(now_utc()) == 1
    db.session.commit()
    assert jobs.create_meetings(now_utc()) == 0  # already there
    services.ensure_meeting(event, services.room_of(event), now_utc())  # a first join: nothing
    assert bbb.creates == 1 and bbb.calls.count("create") == 1
    params = bbb.meetings[services.meeting_id(event)].params
    assert params["name"] == event.title and params["record"] == "true"
    assert params["logoutURL"] == f"https://events.test/events/{event.slug}"
    assert str(event.id) not in services.meeting_id(event).split("-")[-1]  # not guessable


def test_a_join_is_signed_for_the_registrant_and_names_nobody_else(app, client, bbb):
    event = live_event()
    person, raw = registrant(event, "Camille Lefèvre", "camille@example.org")

    answer = client.get(f"/j/{raw}", headers=BROWSER)

    assert answer.status_code == 303
    target = urllib.parse.urlsplit(answer.headers["Location"])
    query = dict(urllib.parse.parse_qsl(target.query))
    assert target.path.endswith("/bigbluebutton/api/join")
    assert query["fullName"] == "Camille Lefèvre" and query["role"] == "VIEWER"
    assert query["userID"] == services.attendee_id(person.id)
    assert "camille@example.org" not in answer.headers["Location"]
    assert follow(answer.headers["Location"]) == 200
    assert db.session.get(Registration, person.id).first_joined_at is not None  # a click


def test_presence_is_polled_and_reconnections_merged(app, bbb):
    event = live_event()
    camille, _ = registrant(event, "Camille", "camille@example.org")
    driss, _ = registrant(event, "Driss", "driss@example.org")
    room = services.room_of(event)
    services.ensure_meeting(event, room, now_utc())
    meeting = services.meeting_id(event)
    start = event.starts_at

    def poll(minute: int) -> None:
        services.poll_meeting(event, room, start + timedelta(minutes=minute))
        db.session.commit()

    bbb.add_attendee(meeting, services.attendee_id(camille.id), "Camille")
    bbb.add_attendee(meeting, services.attendee_id(driss.id), "Driss")
    for minute in range(1, 21):
        poll(minute)
    bbb.leave(meeting, services.attendee_id(camille.id))
    for minute in range(21, 31):
        poll(minute)
    bbb.add_attendee(meeting, services.attendee_id(camille.id), "Camille")  # back
    for minute in range(31, 91):
        poll(minute)
    services.meeting_ended(event, room, event.ends_at + timedelta(seconds=30))
    db.session.commit()

    assert db.session.get(Registration, camille.id).minutes_present == 20 + 59
    assert db.session.get(Registration, driss.id).minutes_present == 89
    first, last = first_and_last(event.id, now_utc())[camille.id]
    assert first == start + timedelta(minutes=1)
    assert last == event.ends_at + timedelta(seconds=30)  # the end callback
    spans = db.session.scalar(
        select(func.count()).select_from(PresenceSpan).where(PresenceSpan.left_at.is_(None))
    )
    assert spans == 0
    assert services.room_of(event).ended_at is not None
    assert not services.rooms_to_poll(event.ends_at + timedelta(minutes=2))  # no more polling


def test_after_a_gap_in_the_watch_nobody_is_counted_for_time_unseen(app, bbb):
    event = live_event()
    camille, _ = registrant(event, "Camille", "camille@example.org")
    room = services.room_of(event)
    services.ensure_meeting(event, room, now_utc())
    meeting = services.meeting_id(event)
    bbb.add_attendee(meeting, services.attendee_id(camille.id), "Camille")
    services.poll_meeting(event, room, event.starts_at + timedelta(minutes=1))
    services.poll_meeting(event, room, event.starts_at + timedelta(minutes=2))
    bbb.leave(meeting, services.attendee_id(camille.id))
    # The worker was down for half an hour: she left at some point after the last look.
    services.poll_meeting(event, room, event.starts_at + timedelta(minutes=32))
    db.session.commit()
    assert db.session.get(Registration, camille.id).minutes_present == 1


def test_union_minutes_counts_overlaps_once(app):
    base = now_utc()
    spans = [
        (base, base + timedelta(minutes=10)),
        (base + timedelta(minutes=5), base + timedelta(minutes=20)),
        (base + timedelta(minutes=30), base + timedelta(minutes=40)),
    ]
    assert union_minutes(spans) == 30


def test_a_server_down_at_join_time_asks_to_retry_and_warns_the_organisers(app, client, bbb):
    event = live_event()
    _person, raw = registrant(event, "Camille", "camille@example.org")
    bbb.down = True

    answer = client.get(f"/j/{raw}", headers=BROWSER)

    assert answer.status_code == 503 and answer.headers["Retry-After"] == "60"
    assert "La salle n'est pas encore prête, réessayez dans une minute." in text(answer)
    room = services.room_of(event)
    assert room.last_error and "stand-in-secret" not in room.last_error
    signed_in(client)
    page = text(client.get(f"/admin/events/{event.id}/presence"))
    assert "Dernière erreur du serveur" in page

    bbb.down = False  # back: the same link joins
    assert client.get(f"/j/{raw}", headers=BROWSER).status_code == 303


def test_the_end_callback_closes_presence_and_needs_its_secret(app, client, bbb):
    event = live_event()
    person, _ = registrant(event, "Camille", "camille@example.org")
    room = services.room_of(event)
    services.ensure_meeting(event, room, now_utc())
    bbb.add_attendee(services.meeting_id(event), services.attendee_id(person.id), "Camille")
    services.poll_meeting(event, room, now_utc())
    db.session.commit()

    assert client.get(f"/rooms/{event.id}/ended/wrong").status_code == 404
    assert "/ended/[redacted]" in redact(f"GET /rooms/{event.id}/ended/{'x' * 32} HTTP/1.1")
    # The address the server calls back when the meeting ends, as given at its creation.
    callback = bbb.meetings[services.meeting_id(event)].params["meta_endCallbackUrl"]
    path = urllib.parse.urlsplit(callback).path
    assert path.startswith(f"/rooms/{event.id}/ended/")

    assert client.get(path, query_string={"meetingID": "x"}).status_code == 204
    db.session.expire_all()
    room = services.room_of(event)
    # Ended on the server before the event's end: polling stops until it is created again.
    assert room.ended_at is None and room.created_on_server_at is None
    assert db.session.get(Registration, person.id).minutes_present is not None
    assert db.session.scalar(select(PresenceSpan.left_at)) is not None


def test_speakers_get_moderator_links_in_the_back_office(app, client, bbb):
    from tests.factories import add_speaker, make_speaker

    event = live_event()
    add_speaker(event, make_speaker(name="Mahel Coppey"))
    db.session.commit()
    signed_in(client)
    page = text(client.get(f"/admin/events/{event.id}/presence"))
    found = re.search(r'value="([^"]+role=MODERATOR[^"]*)"', page)
    assert "Mahel Coppey" in page and found
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(found.group(1)).query))
    assert query["fullName"] == "Mahel Coppey" and query["meetingID"] == services.meeting_id(event)


def test_a_recording_is_published_as_the_replay_in_one_click(app, client, bbb):
    start = now_utc().replace(microsecond=0) - timedelta(hours=3)
    event = make_event(starts_at=start, ends_at=start + timedelta(hours=1))
    room = services.set_room(event, RoomKind.BBB, "salle", record=True)
    services.ensure_meeting(event, room, start)
    room.ended_at = start + timedelta(hours=1)
    db.session.commit()
    bbb.add_recording(
        services.meeting_id(event),
        "rec-1",
        start,
        start + timedelta(hours=1),
        "https://bbb.example.org/playback/presentation/2.3/rec-1",
    )
    signed_in(client)
    assert "Publier comme replay" in text(client.get(f"/admin/events/{event.id}/presence"))

    answer = Poster(client)(
        f"/admin/events/{event.id}/room/recordings/publish", {"record_id": "rec-1"}
    )

    assert answer.status_code == 303
    db.session.expire_all()
    assert event.replay_url == "https://bbb.example.org/playback/presentation/2.3/rec-1"


@pytest.mark.parametrize(
    ("method", "agent", "counted"),
    [
        ("GET", BROWSER["User-Agent"], True),
        ("HEAD", BROWSER["User-Agent"], False),
        ("GET", "Mozilla/5.0 (compatible; Microsoft SafeLinks)", False),
        ("GET", "python-requests/2.32", False),
        ("GET", "", False),
    ],
)
def test_only_a_persons_click_counts(app, client, method, agent, counted):
    start = now_utc().replace(microsecond=0) - timedelta(minutes=5)
    event = make_event(starts_at=start, connection_url="https://visio.example.org/salle")
    _person, raw = registrant(event, "Camille", "camille@example.org")
    answer = client.open(f"/j/{raw}", method=method, headers={"User-Agent": agent})
    assert answer.status_code == 303  # the link works for everyone
    clicked = db.session.scalar(select(Registration.first_joined_at)) is not None
    assert clicked is counted


def test_a_fetch_right_after_the_mail_is_a_scanners(app, client):
    start = now_utc().replace(microsecond=0) - timedelta(minutes=5)
    event = make_event(starts_at=start, connection_url="https://visio.example.org/salle")
    person, raw = registrant(event, "Camille", "camille@example.org")
    db.session.execute(
        OutboxMessage.__table__.update()
        .where(OutboxMessage.registration_id == person.id)
        .values(status=OutboxStatus.SENT, sent_at=now_utc() - timedelta(seconds=5))
    )
    db.session.commit()
    client.get(f"/j/{raw}", headers=BROWSER)
    assert db.session.scalar(select(Registration.first_joined_at)) is None


def test_a_meeting_the_server_forgot_is_created_again_for_the_next_join(app, client, bbb):
    event = live_event()
    _person, raw = registrant(event, "Camille", "camille@example.org")
    room = services.room_of(event)
    services.ensure_meeting(event, room, now_utc())
    db.session.commit()
    bbb.meetings.clear()  # the server restarted

    services.poll_meeting(event, room, now_utc())
    db.session.commit()
    assert client.get(f"/j/{raw}", headers=BROWSER).status_code == 303
    assert services.meeting_id(event) in bbb.meetings  # created again by the join


def test_a_server_no_longer_configured_asks_to_retry_instead_of_failing(app, client, bbb):
    event = live_event()
    _person, raw = registrant(event, "Camille", "camille@example.org")
    app.config["BBB_SERVERS"] = {}
    answer = client.get(f"/j/{raw}", headers=BROWSER)
    assert answer.status_code == 503
    assert "BBB_SERVERS" in services.room_of(event).last_error
