"""An event's room: the BigBlueButton meeting created ahead of time, joins signed per person,
presence polled while it runs, recordings found after it."""

from __future__ import annotations

import hashlib
import hmac
import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.registrations.models import Registration, RegistrationStatus
from eventapp.rooms import bbb
from eventapp.rooms.models import EventRoom, PresenceSource, PresenceSpan, RoomKind
from eventapp.rooms.presence import refresh_minutes
from eventapp.site.services import absolute_url

log = logging.getLogger(__name__)


# Longer than this between two looks at a meeting is a gap in the watch, not a poll missed.
POLL_GAP = timedelta(minutes=3)


class RoomNotReady(Exception):
    """The BigBlueButton server did not answer: the person is asked to try again in a minute."""


def room_of(event: Event) -> EventRoom:
    """Return the event's room settings (a link room, not yet saved, when there are none)."""
    return db.session.get(EventRoom, event.id) or EventRoom(event_id=event.id, kind=RoomKind.LINK)


def servers() -> dict[str, bbb.BbbServer]:
    """The BigBlueButton servers of this installation, from BBB_SERVERS."""
    return bbb.configured_servers(current_app.config)


def set_room(event: Event, kind: RoomKind, server: str | None, record: bool) -> EventRoom:
    """Choose how the event's room opens; a BigBlueButton room names a configured server."""
    room = db.session.get(EventRoom, event.id)
    if room is None:
        room = EventRoom(event_id=event.id)
        db.session.add(room)
    if kind == RoomKind.BBB and server not in servers():
        raise ValueError(f"unknown BigBlueButton server {server!r}")
    server = server if kind == RoomKind.BBB else None
    if (room.kind, room.server) != (kind, server):
        # Another server (or none): its meeting is to be created there, and watched anew.
        room.created_on_server_at = room.ended_at = None
    room.kind = kind
    room.server = server
    room.record = bool(record) and kind == RoomKind.BBB
    db.session.flush()
    return room


def _digest(purpose: str, value: int, length: int) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()[:length]


def meeting_id(event: Event) -> str:
    """The event's meeting id on the server: stable, and not guessable from the event's id."""
    return f"eventapp-{event.id}-{_digest('bbb-meeting', event.id, 16)}"


def attendee_id(registration_id: int) -> str:
    """The opaque user id a registrant joins with: it names nobody, and maps back to them."""
    return f"r{_digest('bbb-attendee', registration_id, 20)}"


def end_callback_token(event: Event) -> str:
    """The secret of the end-of-meeting callback URL given to the server."""
    return _digest("bbb-end-callback", event.id, 32)


def client(room: EventRoom) -> bbb.BbbClient:
    """A client of the room's server, with the configured timeout; BbbError for a server no
    longer in BBB_SERVERS (the room then says it is not ready, and organisers see why)."""
    server = servers().get(room.server or "")
    if server is None:
        raise bbb.BbbError("config", "unknownServer", f"no server {room.server!r} in BBB_SERVERS")
    return bbb.BbbClient(server, timeout=current_app.config["BBB_TIMEOUT_SECONDS"])


def _failed(room: EventRoom, error: Exception, now: datetime) -> None:
    room.last_error = str(error)[:500]
    room.last_error_at = now
    log.warning("rooms: event %s: %s", room.event_id, room.last_error)


def ensure_meeting(event: Event, room: EventRoom, now: datetime, again: bool = False) -> None:
    """Create the meeting on the server unless we know it exists (`again`: ask anyway);
    RoomNotReady if the server is down.

    Creating is idempotent on the server (the same id gives the same meeting), so two workers,
    or a worker and a join, may both try. Joins ask again, as BigBlueButton advises: a meeting
    nobody joined within minutes of its creation is gone from the server.
    """
    if room.created_on_server_at is not None and not again:
        return
    try:
        client(room).create(
            meeting_id(event),
            event.title,
            welcome=current_app.config["BBB_WELCOME"],
            record=room.record,
            logout_url=absolute_url("events.detail", slug=event.slug),
            meta={"eventapp-event": str(event.id), "eventapp-slug": event.slug},
            end_callback_url=absolute_url(
                "rooms.meeting_ended", event_id=event.id, token=end_callback_token(event)
            ),
        )
    except bbb.BbbError as error:
        _failed(room, error, now)
        raise RoomNotReady(str(error)) from error
    room.created_on_server_at = room.created_on_server_at or now
    room.last_error = None
    db.session.flush()


def join_url(registration: Registration, room: EventRoom, now: datetime) -> str:
    """A freshly signed join URL for this registrant, as a viewer, under their own name."""
    event = registration.event
    ensure_meeting(event, room, now, again=True)
    return client(room).join_url(
        meeting_id(event), registration.full_name, attendee_id(registration.id), role="VIEWER"
    )


def moderator_url(event: Event, room: EventRoom, name: str, now: datetime) -> str:
    """A moderator's join URL, for a speaker or an organiser, from the back office."""
    ensure_meeting(event, room, now, again=True)
    return client(room).join_url(meeting_id(event), name, f"o{event.id}", role="MODERATOR")


def speaker_moderator_urls(event: Event, room: EventRoom) -> list[tuple[str, str]]:
    """Each speaker's moderator link, to send them: (name, URL). Signed without a call to the
    server; it opens the room once the meeting exists (the worker creates it ahead)."""
    bbb_client = client(room)
    links = sorted(event.speaker_links, key=lambda link: (link.position, link.id))
    return [
        (
            link.speaker.name,
            bbb_client.join_url(
                meeting_id(event), link.speaker.name, f"s{link.speaker_id}", role="MODERATOR"
            ),
        )
        for link in links
    ]


def _open_spans(event_id: int) -> dict[int, PresenceSpan]:
    spans = db.session.scalars(
        select(PresenceSpan).where(
            PresenceSpan.event_id == event_id,
            PresenceSpan.source == PresenceSource.ROOM,
            PresenceSpan.left_at.is_(None),
        )
    )
    return {span.registration_id: span for span in spans}


def _attendees_by_user_id(event: Event) -> dict[str, int]:
    ids = db.session.scalars(
        select(Registration.id).where(
            Registration.event_id == event.id,
            Registration.status == RegistrationStatus.CONFIRMED,
        )
    )
    return {attendee_id(registration_id): registration_id for registration_id in ids}


def record_presence(
    event: Event, present_user_ids: set[str], now: datetime, last_seen: datetime | None = None
) -> int:
    """Open a span for each registrant now in the room, close the spans of those who left at
    `last_seen` (the previous look: after a gap, nobody is counted for time unseen); return how
    many registrants changed. A reconnection opens a new span: the minutes are the union of the
    spans."""
    # Polled every minute, someone missing left since the last look: now. After a gap (the
    # server or the worker was down) they are counted until they were last seen.
    gap = last_seen is not None and now - last_seen > POLL_GAP
    left_at = last_seen if gap else now
    open_spans = _open_spans(event.id)
    by_user_id = _attendees_by_user_id(event) if present_user_ids else {}
    present = {by_user_id[u] for u in present_user_ids if u in by_user_id}
    changed = set()
    for registration_id, span in open_spans.items():
        if registration_id not in present:
            span.left_at = max(left_at, span.joined_at)
            changed.add(registration_id)
    for registration_id in present - open_spans.keys():
        db.session.add(
            PresenceSpan(
                registration_id=registration_id,
                event_id=event.id,
                source=PresenceSource.ROOM,
                joined_at=now,
            )
        )
        changed.add(registration_id)
    db.session.flush()
    refresh_minutes(changed | present, now)
    return len(changed)


def poll_meeting(event: Event, room: EventRoom, now: datetime) -> int:
    """Look at the running meeting once: who is in it; a meeting gone or ended closes every span."""
    try:
        info = client(room).meeting_info(meeting_id(event))
    except bbb.BbbError as error:
        _failed(room, error, now)
        return 0
    # The call took time: the end callback (or another worker) may have closed the room since.
    db.session.refresh(room, with_for_update=True)
    if room.ended_at is not None:
        return 0
    last_seen, room.polled_at = room.polled_at, now
    if info is None or not info.running:
        changed = record_presence(event, set(), now, last_seen)
        _closed(event, room, ended_on_server=info is None or info.end_time is not None, now=now)
        return changed
    present = {attendee.user_id for attendee in info.attendees}
    return record_presence(event, present, now, last_seen)


def _closed(event: Event, room: EventRoom, *, ended_on_server: bool, now: datetime) -> None:
    """After the event, the room is over: no more polling. Before its end, a meeting the server
    ended (emptied, restarted) is created again at the next round or join: the links must keep
    leading somewhere."""
    if now >= event.ends_at:
        room.ended_at = room.ended_at or now
    elif ended_on_server:
        room.created_on_server_at = None


def meeting_ended(event: Event, room: EventRoom, now: datetime) -> None:
    """The server says the meeting ended: close every span; stop polling if the event is over."""
    record_presence(event, set(), now, room.polled_at)
    _closed(event, room, ended_on_server=True, now=now)
    db.session.flush()


def recordings(event: Event, room: EventRoom, now: datetime) -> list[bbb.Recording]:
    """The meeting's recordings on the server (none when it does not answer)."""
    try:
        found = client(room).recordings(meeting_id(event))
    except bbb.BbbError as error:
        _failed(room, error, now)
        return []
    room.recordings_checked_at = now
    return found


def rooms_to_create(now: datetime) -> list[tuple[Event, EventRoom]]:
    """BigBlueButton rooms whose event opens within BBB_CREATE_MINUTES_BEFORE, not created yet."""
    lead = timedelta(minutes=current_app.config["BBB_CREATE_MINUTES_BEFORE"])
    rows = db.session.execute(
        select(Event, EventRoom)
        .join(EventRoom, EventRoom.event_id == Event.id)
        .where(
            EventRoom.kind == RoomKind.BBB,
            EventRoom.created_on_server_at.is_(None),
            Event.status == "published",
            Event.starts_at <= now + lead,
            Event.ends_at > now,
        )
    )
    return [(event, room) for event, room in rows]


def rooms_to_poll(now: datetime) -> list[tuple[Event, EventRoom]]:
    """BigBlueButton rooms created and not ended, from the start until two hours after the end."""
    grace = timedelta(hours=2)
    rows = db.session.execute(
        select(Event, EventRoom)
        .join(EventRoom, EventRoom.event_id == Event.id)
        .where(
            EventRoom.kind == RoomKind.BBB,
            EventRoom.created_on_server_at.is_not(None),
            EventRoom.ended_at.is_(None),
            Event.ends_at > now - grace,
        )
    )
    return [(event, room) for event, room in rows]
