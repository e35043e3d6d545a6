"""What organisers change on events and speakers; add and flush, never commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import exists, select

from eventapp.events.models import Event, EventStatus
from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.registrations import mails
from eventapp.registrations.models import Registration, RegistrationStatus
from eventapp.registrations.services import (
    confirmed_count,
    lock_event,
    notify_event_changed,
    promote_next,
)
from eventapp.speakers.models import EventSpeaker, Speaker, SpeakerRole
from eventapp.text import slugify

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
SPEAKER_FIELDS = ("name", "role_line", "organisation", "bio", "links", "photo_filename")


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


# --- speakers ---------------------------------------------------------------------------------


def create_speaker(values: dict[str, Any]) -> Speaker:
    speaker = Speaker(**values)
    db.session.add(speaker)
    db.session.flush()
    return speaker


def update_speaker(speaker: Speaker, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(speaker, name, value)
    db.session.flush()


def _ordered_links(event: Event) -> list[EventSpeaker]:
    return sorted(event.speaker_links, key=lambda link: (link.position, link.id or 0))


def attach_speaker(event: Event, speaker: Speaker, role: SpeakerRole) -> EventSpeaker:
    """Put a speaker at the end of the event's list; one already on it is refused."""
    links = _ordered_links(event)
    if any(link.speaker_id == speaker.id for link in links):
        raise EditError(speaker.name)
    for position, item in enumerate(links):
        item.position = position
    link = EventSpeaker(speaker=speaker, role=role, position=len(links))
    event.speaker_links.append(link)
    db.session.flush()
    return link


def move_speaker(link: EventSpeaker, offset: int) -> bool:
    """Move a speaker up (-1) or down (+1) the event's list; return whether it moved."""
    links = _ordered_links(link.event)
    index = links.index(link)
    target = index + offset
    if not 0 <= target < len(links):
        return False
    links[index], links[target] = links[target], links[index]
    for position, item in enumerate(links):
        item.position = position
    db.session.flush()
    return True


def reorder_speakers(event: Event, link_ids: list[int]) -> None:
    """Set the whole order at once; the ids must be exactly the event's links."""
    links = {link.id: link for link in event.speaker_links}
    if sorted(link_ids) != sorted(links):
        raise EditError("order")
    for position, link_id in enumerate(link_ids):
        links[link_id].position = position
    db.session.flush()


def detach_speaker(link: EventSpeaker) -> None:
    """Take a speaker off an event; the others close up."""
    event = link.event
    event.speaker_links.remove(link)
    db.session.flush()
    for position, item in enumerate(_ordered_links(event)):
        item.position = position
    db.session.flush()


def confirmed_registrations(event: Event) -> list[Registration]:
    """Return the confirmed registrants of an event, in order of registration."""
    return list(
        db.session.scalars(
            select(Registration)
            .where(
                Registration.event_id == event.id,
                Registration.status == RegistrationStatus.CONFIRMED,
            )
            .order_by(Registration.id)
        )
    )


class EventFull(EditError):
    pass


def promote_registration(registration: Registration, now: datetime | None = None) -> None:
    """Give a waiting person a seat, if one is free, and send them their confirmation."""
    now = now or now_utc()
    event = registration.event
    lock_event(event)
    db.session.refresh(registration)  # read it as it is now that we hold the event's lock
    if registration.status != RegistrationStatus.WAITLISTED:
        raise EditError(registration.status)
    if event.capacity is not None and confirmed_count(event) >= event.capacity:
        raise EventFull(event.capacity)
    registration.status = RegistrationStatus.CONFIRMED
    registration.confirmed_at = now
    db.session.flush()
    mails.send_confirmation(registration, "promotion", now)
