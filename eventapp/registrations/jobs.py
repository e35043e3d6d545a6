"""Scheduled work of registrations: reminders before the start."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from eventapp import mailkeys
from eventapp.events.models import Event, EventStatus
from eventapp.extensions import db
from eventapp.outbox.jobs import job
from eventapp.outbox.models import OutboxMessage
from eventapp.registrations.mails import REMINDER, send_reminder
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
        candidates = select(Registration.id).where(
            Registration.event_id == event.id,
            Registration.status == RegistrationStatus.CONFIRMED,
            # Nobody is reminded of a window that had already opened when they got their seat.
            Registration.confirmed_at <= window_opened_at,
        )
        # Who already has this reminder: the keys of their reminders, compared whole.
        already = set(
            db.session.scalars(
                select(OutboxMessage.dedupe_key).where(
                    OutboxMessage.registration_id.in_(candidates),
                    OutboxMessage.kind == REMINDER,
                )
            )
        )
        due = [
            registration_id
            for registration_id in db.session.scalars(candidates)
            if mailkeys.reminder(registration_id, offset) not in already
        ]
        for start in range(0, len(due), 500):
            chunk = due[start : start + 500]
            registrations = db.session.scalars(
                select(Registration).where(Registration.id.in_(chunk)).order_by(Registration.id)
            ).all()
            for registration in registrations:
                queued += send_reminder(registration, offset, now)
    return queued
