"""Reading events for the public pages, and what organisers change on them; add and flush, never
commit."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, exists, func, select
from sqlalchemy.orm import joinedload, selectinload

from eventapp.events.models import (
    Availability,
    Event,
    EventStatus,
    past_events,
    upcoming_events,
    visible_events,
)
from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.registrations.models import Registration, RegistrationStatus
from eventapp.registrations.services import (
    confirmed_count,
    lock_event,
    notify_event_changed,
    promote_next,
)
from eventapp.speakers.models import EventSpeaker
from eventapp.text import slugify


def _with_speakers(stmt):
    return stmt.options(selectinload(Event.speaker_links).selectinload(EventSpeaker.speaker))


def home_listing(now: datetime) -> tuple[list[Event], list[Event]]:
    """Return the upcoming events, soonest first, and the past ones, latest first."""
    upcoming = db.session.scalars(_with_speakers(upcoming_events(now))).all()
    past = db.session.scalars(_with_speakers(past_events(now))).all()
    return list(upcoming), list(past)


def availability(event: Event, now: datetime) -> Availability:
    """Return what the public can do about one event now (one count when it has a capacity)."""
    return event.availability(confirmed_count(event) if event.capacity is not None else 0, now)


def availabilities(events: list[Event], now: datetime) -> dict[int, Availability]:
    """Return each event's availability by id, counting the seats of all of them in one query."""
    limited = [event.id for event in events if event.capacity is not None]
    confirmed: dict[int, int] = {}
    if limited:
        rows = db.session.execute(
            select(Registration.event_id, func.count())
            .where(
                Registration.event_id.in_(limited),
                Registration.status == RegistrationStatus.CONFIRMED,
            )
            .group_by(Registration.event_id)
        )
        confirmed = {event_id: count for event_id, count in rows}
    return {event.id: event.availability(confirmed.get(event.id, 0), now) for event in events}


def public_event(slug: str, *, speakers: bool = True) -> Event | None:
    """Return the public event with this slug, and its speakers unless a page shows none, in one
    query, or None."""
    return db.session.scalars(_public_event_by_slug(speakers), {"slug": slug}).unique().first()


@functools.cache
def _public_event_by_slug(speakers: bool) -> Select[tuple[Event]]:
    """Build the query of public_event once: it is run on every public page."""
    stmt = visible_events().where(Event.slug == bindparam("slug"))
    if speakers:
        stmt = stmt.options(joinedload(Event.speaker_links).joinedload(EventSpeaker.speaker))
    return stmt


# --- what organisers change --------------------------------------------------------------------

EVENT_FIELDS = (
    "title",
    "slug",
    "summary",
    "description",
    "kind",
    "timezone",
    "starts_at",
    "ends_at",
    "venue",
    "capacity",
    "waitlist_enabled",
    "registration_opens_at",
    "registration_closes_at",
    "connection_url",
    "connection_url_public",
    "reminder_offsets",
)
# A change of any of these makes calendars hold a stale invite: registrants get the new one.
INVITE_FIELDS = ("starts_at", "ends_at", "connection_url")


class EditError(ValueError):
    """A change the rules refuse; the message is shown to the organiser."""


class SlugTaken(EditError):
    pass


class EventNotDeletable(EditError):
    pass


def slug_taken(slug: str, except_id: int | None = None) -> bool:
    stmt = select(Event.id).where(Event.slug == slug)
    if except_id is not None:
        stmt = stmt.where(Event.id != except_id)
    return db.session.scalar(select(exists(stmt))) or False


def free_slug(base: str, except_id: int | None = None) -> str:
    """Return `base`, or `base-2`, `base-3`… the first no other event uses."""
    base = base[:110].rstrip("-") or "evenement"
    candidate, number = base, 2
    while slug_taken(candidate, except_id):
        candidate, number = f"{base}-{number}", number + 1
    return candidate


def create_event(values: dict[str, Any], now: datetime | None = None) -> Event:
    """Add an event as a draft; an empty slug is made from the title."""
    values = dict(values)
    slug = values.pop("slug", "") or free_slug(slugify(values["title"]))
    if slug_taken(slug):
        raise SlugTaken(slug)
    now = now or now_utc()
    event = Event(slug=slug, status=EventStatus.DRAFT, created_at=now, updated_at=now, **values)
    db.session.add(event)
    db.session.flush()
    return event


def update_event(
    event: Event, values: dict[str, Any], now: datetime | None = None
) -> dict[str, Any]:
    """Apply an edit; tell registrants when the time or the link changed, fill freed seats.

    Return what the edit did: {"invites": mails queued, "promoted": people off the waiting list}.
    """
    now = now or now_utc()
    values = dict(values)
    slug = values.pop("slug", "") or event.slug
    if slug != event.slug and slug_taken(slug, except_id=event.id):
        raise SlugTaken(slug)
    for name in ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at"):
        # The form has minute precision: the same minute is no change (and sends no invite).
        if _same_minute(values.get(name), getattr(event, name)):
            values[name] = getattr(event, name)
    invite_changed = any(
        values.get(name, getattr(event, name)) != getattr(event, name) for name in INVITE_FIELDS
    )
    more_seats = "capacity" in values and _more_seats(event.capacity, values["capacity"])
    event.slug = slug
    for name, value in values.items():
        setattr(event, name, value)
    event.updated_at = now
    db.session.flush()
    outcome = {"invites": 0, "promoted": 0}
    if invite_changed and event.status != EventStatus.CANCELLED:
        outcome["invites"] = notify_event_changed(event, now)
    if more_seats and event.status == EventStatus.PUBLISHED:
        outcome["promoted"] = fill_free_seats(event, now)
    return outcome


def _same_minute(new: datetime | None, old: datetime | None) -> bool:
    if new is None or old is None:
        return False
    return new == old.replace(second=0, microsecond=0)


def _more_seats(before: int | None, after: int | None) -> bool:
    return before is not None and (after is None or after > before)


def fill_free_seats(event: Event, now: datetime) -> int:
    """Confirm people from the waiting list while seats are free; return how many."""
    lock_event(event)
    promoted = 0
    while promote_next(event, now) is not None:
        promoted += 1
    return promoted


def publish_event(event: Event, now: datetime | None = None) -> None:
    """Make a draft public."""
    if event.status != EventStatus.DRAFT:
        raise EditError(event.status)
    event.status = EventStatus.PUBLISHED
    event.updated_at = now or now_utc()
    db.session.flush()


def duplicate_event(event: Event, now: datetime | None = None) -> Event:
    """Copy an event, its settings and its speakers, as a new draft without registrations."""
    now = now or now_utc()
    values = {name: getattr(event, name) for name in EVENT_FIELDS if name != "slug"}
    values["title"] = f"{event.title} (copie)"[:200]
    values["reminder_offsets"] = list(event.reminder_offsets or [])
    copy = create_event({**values, "slug": free_slug(f"{event.slug}-copie")}, now)
    for link in event.speaker_links:
        copy.speaker_links.append(
            EventSpeaker(speaker=link.speaker, position=link.position, role=link.role)
        )
    db.session.flush()
    return copy


def has_registrations(event: Event) -> bool:
    return db.session.scalar(select(exists().where(Registration.event_id == event.id))) or False


def delete_event(event: Event) -> None:
    """Delete a draft nobody registered to; a public event is cancelled instead."""
    if event.status != EventStatus.DRAFT or has_registrations(event):
        raise EventNotDeletable(event.slug)
    db.session.delete(event)
    db.session.flush()
