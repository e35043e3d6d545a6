"""Minutes present, from the spans of time a registrant was in the room, and which clicks on a
connection link count as a person's."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, func, select, update

from eventapp.extensions import db
from eventapp.outbox.models import OutboxMessage, OutboxStatus
from eventapp.registrations.models import Registration
from eventapp.rooms.models import PresenceSource, PresenceSpan

_registrations = Registration.__table__
_SET_MINUTES = (
    update(_registrations)
    .where(_registrations.c.id == bindparam("row_id"))
    .values(minutes_present=bindparam("minutes"))
)

# The best source wins: an organiser's correction, then what the room saw, then a report.
SOURCE_ORDER = (PresenceSource.MANUAL, PresenceSource.ROOM, PresenceSource.REPORT)


def union_minutes(spans: Iterable[tuple[datetime, datetime]]) -> int:
    """Return the whole minutes covered by the spans, overlaps counted once."""
    total = timedelta()
    current_start = current_end = None
    for start, end in sorted(spans):
        if end <= start:
            continue
        if current_end is None or start > current_end:
            if current_end is not None:
                total += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        total += current_end - current_start
    return int(total.total_seconds() // 60)


def refresh_minutes(registration_ids: Iterable[int], now: datetime) -> None:
    """Set each registration's minutes_present from its spans of the best source; flushes."""
    ids = sorted(set(registration_ids))
    if not ids:
        return
    by_registration: dict[int, dict[PresenceSource, list[tuple[datetime, datetime]]]] = {}
    rows = db.session.execute(
        select(
            PresenceSpan.registration_id,
            PresenceSpan.source,
            PresenceSpan.joined_at,
            PresenceSpan.left_at,
        ).where(PresenceSpan.registration_id.in_(ids))
    )
    for registration_id, source, joined_at, left_at in rows:
        spans = by_registration.setdefault(registration_id, {}).setdefault(source, [])
        spans.append((joined_at, left_at or now))  # someone still in the room counts until now
    current = db.session.execute(
        select(Registration.id, Registration.minutes_present).where(Registration.id.in_(ids))
    )
    changes = []
    for registration_id, minutes_before in current:
        sources = by_registration.get(registration_id, {})
        best = next((sources[s] for s in SOURCE_ORDER if s in sources), None)
        minutes = union_minutes(best) if best is not None else None
        if minutes != minutes_before:
            changes.append({"row_id": registration_id, "minutes": minutes})
    if changes:
        # One statement for all, and only the rows whose minutes moved: a poll of a full room
        # touches every present registrant each minute.
        db.session.execute(_SET_MINUTES, changes)
        moved = {change["row_id"] for change in changes}
        for loaded in list(db.session.identity_map.values()):
            if isinstance(loaded, Registration) and loaded.id in moved:
                db.session.expire(loaded, ["minutes_present"])  # read again when next used
    db.session.flush()


def first_and_last(event_id: int, now: datetime) -> dict[int, tuple[datetime, datetime]]:
    """Each registrant's first arrival and last departure in the event's room, from the spans of
    the same best source as their minutes (someone still in the room: until now)."""
    rows = db.session.execute(
        select(
            PresenceSpan.registration_id,
            PresenceSpan.source,
            func.min(PresenceSpan.joined_at),
            func.max(func.coalesce(PresenceSpan.left_at, now)),
        )
        .where(PresenceSpan.event_id == event_id)
        .group_by(PresenceSpan.registration_id, PresenceSpan.source)
    )
    found: dict[int, dict[PresenceSource, tuple[datetime, datetime]]] = {}
    for registration_id, source, first, last in rows:
        found.setdefault(registration_id, {})[source] = (first, last)
    return {
        registration_id: next(sources[s] for s in SOURCE_ORDER if s in sources)
        for registration_id, sources in found.items()
    }


def set_minutes_by_hand(registration: Registration, minutes: int, now: datetime) -> None:
    """Record an organiser's word: present this many minutes (0: absent), whatever was measured."""
    db.session.execute(
        PresenceSpan.__table__.delete().where(
            PresenceSpan.registration_id == registration.id,
            PresenceSpan.source == PresenceSource.MANUAL,
        )
    )
    start = registration.event.starts_at
    db.session.add(
        PresenceSpan(
            registration_id=registration.id,
            event_id=registration.event_id,
            source=PresenceSource.MANUAL,
            joined_at=start,
            left_at=start + timedelta(minutes=minutes),
        )
    )
    db.session.flush()
    refresh_minutes([registration.id], now)


# Link checkers that fetch every link of a mail as it arrives (Microsoft Safe Links, Proofpoint,
# Mimecast, Barracuda, Google's image proxy and the like) say so in their user agent, or send no
# browser one at all.
SCANNER_AGENTS = (
    "safelinks",
    "proofpoint",
    "mimecast",
    "barracuda",
    "googleimageproxy",
    "bitdefender",
    "symantec",
    "forcepoint",
    "trendmicro",
    "python-requests",
    "curl/",
    "wget/",
    "go-http-client",
    "bot",
    "spider",
    "preview",
)


def looks_like_a_scanner(registration: Registration, method: str, user_agent: str, now: datetime):
    """Tell a mail scanner's fetch of the connection link from a person's click.

    A scanner fetches the links of a mail within seconds of its delivery, often with HEAD, with
    its own user agent or none; a person opens the mail later, in a browser. So a fetch counts
    as a click only when it is a GET from a browser-like agent, and not within
    JOIN_SCANNER_WINDOW_SECONDS of a mail sent to this registration.
    """
    if method != "GET":
        return True
    agent = user_agent.lower()
    if not agent.startswith("mozilla/") or any(marker in agent for marker in SCANNER_AGENTS):
        return True
    window = timedelta(seconds=current_app.config["JOIN_SCANNER_WINDOW_SECONDS"])
    last_sent = db.session.scalar(
        select(OutboxMessage.sent_at)
        .where(
            OutboxMessage.registration_id == registration.id,
            OutboxMessage.status == OutboxStatus.SENT,
        )
        .order_by(OutboxMessage.sent_at.desc())
        .limit(1)
    )
    return last_sent is not None and now - last_sent < window
