"""Scheduled work of registrations: reminders before the start."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, cast, literal, select

from eventapp.events.models import Event, EventStatus
from eventapp.extensions import db
from eventapp.outbox.jobs import job
from eventapp.outbox.models import OutboxMessage
from eventapp.registrations.mails import send_reminder
from eventapp.registrations.models import Registration, RegistrationStatus

LONGEST_REMINDER = timedelta(days=8)  # how far ahead events are looked at


def due_offset(event: Event, now: datetime) -> int | None:
    """Return the reminder window open now: the latest to open, so a late worker sends one, not all."""
    opened = [m for m in event.reminder_offsets if event.starts_at - timedelta(minutes=m) <= now]
    return min(opened) if opened and now < event.starts_at else None


@job("registration-reminders", every=timedelta(minutes=1))
def send_due_reminders(now: datetime) -> int:
    """Queue each confirmed registrant's reminder once, for the window open now."""
    events = db.session.scalars(
        select(Event).where(
            Event.status == EventStatus.PUBLISHED,
            Event.starts_at > now,
            Event.starts_at <= now + LONGEST_REMINDER,
        )
    ).all()
    queued = 0
    for event in events:
        offset = due_offset(event, now)
        if offset is None:
            continue
        window_opened_at = event.starts_at - timedelta(minutes=offset)
        # The reminder's dedupe key, built in SQL, tells who already has this one.
        key = (
            literal("registration:")
            + cast(Registration.id, String)
            + literal(f":reminder-{offset}")
        )
        already = select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)
        registrations = db.session.scalars(
            select(Registration).where(
                Registration.event_id == event.id,
                Registration.status == RegistrationStatus.CONFIRMED,
                # Nobody is reminded of a window that had already opened when they got their seat.
                Registration.confirmed_at <= window_opened_at,
                ~already.exists(),
            )
        ).all()
        for registration in registrations:
            queued += send_reminder(registration, offset, now)
    return queued
