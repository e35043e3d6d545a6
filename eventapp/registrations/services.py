"""Registering, cancelling, promoting and erasing; every mail goes through the outbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    String,
    bindparam,
    case,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import aliased

from eventapp.events.models import Event, EventStatus, RegistrationState
from eventapp.extensions import db
from eventapp.kits.models import Sheet, UnsubscribeToken, kit_events
from eventapp.kits.tokens import drop_registration_followups
from eventapp.models import now_utc
from eventapp.outbox.models import OutboxMessage, OutboxStatus
from eventapp.registrations import mails
from eventapp.registrations.models import (
    ACTIVE_STATUSES,
    Registration,
    RegistrationStatus,
    RegistrationToken,
)


class RegistrationError(Exception):
    """A registration that the rules refuse; the message is shown to the person."""


class RegistrationClosed(RegistrationError):
    pass


class EventFull(RegistrationError):
    pass


class AlreadyCancelled(RegistrationError):
    pass


@dataclass
class Applicant:
    """What the registration form collected, already validated and normalised."""

    full_name: str
    email: str
    organisation: str = ""
    category: str = ""
    wants_followups: bool = False
    locale: str = "fr"
    utm: dict[str, str] = field(default_factory=dict)
    referrer: str = ""


def email_key(email: str) -> str:
    """Fold an address for comparison: Jean.Dupont@RTES.fr and jean.dupont@rtes.fr are one."""
    return email.strip().casefold()


def lock_event(event: Event) -> None:
    """Hold the event's row lock until commit, so capacity is counted by one request at a time,
    and reload the event as it is now that we hold it."""
    if db.session.get_bind().dialect.name == "sqlite":
        # SQLite locks the whole file: a no-op write takes the write lock, readers go on. It
        # names updated_at so that the column's onupdate leaves it alone: nothing changed.
        statement = (
            update(Event)
            .where(Event.id == event.id)
            .values(id=Event.id, updated_at=Event.updated_at)
            .returning(Event)
        )
    else:
        statement = select(Event).where(Event.id == event.id).with_for_update()
    db.session.execute(
        statement.execution_options(populate_existing=True, synchronize_session=False)
    ).scalars().all()


def confirmed_count(event: Event) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Registration)
        .where(Registration.event_id == event.id, Registration.status == RegistrationStatus.CONFIRMED)
    )


def active_registration(event: Event, email: str) -> Registration | None:
    # The statuses written out in the SQL, as in the partial unique index's own condition: with
    # bound values the database cannot tell that index applies (SQLite never does) and reads
    # every registration of the event instead of one entry.
    active = bindparam("active", ACTIVE_STATUSES, expanding=True, literal_execute=True)
    return db.session.scalars(
        select(Registration).where(
            Registration.event_id == event.id,
            Registration.email_key == email_key(email),
            Registration.status.in_(active),
        )
    ).first()


def register_attendee(event: Event, applicant: Applicant, now: datetime | None = None) -> Registration:
    """Register someone, confirmed or on the waiting list; an address already in sends its links again."""
    now = now or now_utc()
    # On SQLite the lock below stops every other registration until commit: read ahead of it.
    mails.prefetch()
    lock_event(event)
    if event.status != EventStatus.PUBLISHED or event.registration_state(now) != RegistrationState.OPEN:
        raise RegistrationClosed()
    existing = active_registration(event, applicant.email)
    if existing is not None:
        mails.send_links_again(existing, now)
        return existing
    if event.capacity is None or confirmed_count(event) < event.capacity:
        status = RegistrationStatus.CONFIRMED
    elif event.waitlist_enabled:
        status = RegistrationStatus.WAITLISTED
    else:
        raise EventFull()
    registration = Registration(
        event=event,
        status=status,
        full_name=applicant.full_name,
        email=applicant.email,
        email_key=email_key(applicant.email),
        organisation=applicant.organisation,
        category=applicant.category,
        locale=applicant.locale,
        wants_followups=applicant.wants_followups,
        followups_changed_at=now if applicant.wants_followups else None,
        utm=applicant.utm,
        referrer=applicant.referrer,
        created_at=now,
        confirmed_at=now if status == RegistrationStatus.CONFIRMED else None,
    )
    db.session.add(registration)
    db.session.flush()
    if status == RegistrationStatus.CONFIRMED:
        mails.send_confirmation(registration, "confirmation", now)
    else:
        mails.send_waitlist_notice(registration, now)
    return registration


def promote_next(event: Event, now: datetime) -> Registration | None:
    """Confirm the first person waiting, if a seat is free; the caller holds the event lock."""
    if event.capacity is not None and confirmed_count(event) >= event.capacity:
        return None
    waiting = db.session.scalars(
        select(Registration)
        .where(Registration.event_id == event.id, Registration.status == RegistrationStatus.WAITLISTED)
        .order_by(Registration.created_at, Registration.id)
        .limit(1)
    ).first()
    if waiting is None:
        return None
    waiting.status = RegistrationStatus.CONFIRMED
    waiting.confirmed_at = now
    db.session.flush()
    mails.send_confirmation(waiting, "promotion", now)
    return waiting


def _withdraw(registration: Registration, now: datetime) -> bool:
    """Cancel an active registration and free its seat; return whether it held one."""
    event = registration.event
    lock_event(event)
    db.session.refresh(registration)
    if registration.status == RegistrationStatus.CANCELLED:
        raise AlreadyCancelled()
    held_seat = registration.status == RegistrationStatus.CONFIRMED
    registration.status = RegistrationStatus.CANCELLED
    registration.cancelled_at = now
    mails.drop_pending(registration)
    drop_registration_followups(registration)
    db.session.flush()
    if held_seat and event.registration_state(now) != RegistrationState.ENDED:
        promote_next(event, now)
    return held_seat


def cancel_registration(registration: Registration, now: datetime | None = None) -> None:
    """Cancel at the attendee's or an organiser's request, acknowledge it, promote the next."""
    now = now or now_utc()
    held_seat = _withdraw(registration, now)
    mails.send_cancellation(registration, held_seat, now)


def set_followups(registration: Registration, wanted: bool, now: datetime | None = None) -> None:
    """Turn the follow-up mails (one per new sheet) on or off."""
    if registration.wants_followups != wanted:
        registration.wants_followups = wanted
        registration.followups_changed_at = now or now_utc()
        db.session.flush()
    if not wanted:
        drop_registration_followups(registration)  # takes effect at once, queued ones too


def anonymised_fields(now: datetime) -> dict[str, Any]:
    """Return the values of a registration's personal columns once the person is forgotten."""
    return {
        "full_name": "",
        "email": "",
        "email_key": None,
        "organisation": "",
        "utm": {},
        "referrer": "",
        "wants_followups": False,
        "erased_at": now,
    }


def erase_registration(registration: Registration, now: datetime | None = None) -> None:
    """Anonymise a registration for good: drop its pending mails, free its seat, forget the person."""
    now = now or now_utc()
    if registration.status != RegistrationStatus.CANCELLED:
        _withdraw(registration, now)
    mails.forget(registration)
    for name, value in anonymised_fields(now).items():
        setattr(registration, name, value)
    registration.tokens.clear()  # every link dies with the data
    db.session.flush()


def record_join(registration: Registration, now: datetime | None = None) -> None:
    """Remember the first and the last click on the connection link (attendance)."""
    now = now or now_utc()
    registration.first_joined_at = registration.first_joined_at or now
    registration.last_joined_at = now
    db.session.flush()


def join_opens_at(event: Event) -> datetime:
    """When the connection link starts to redirect, ahead of the start."""
    return event.starts_at - timedelta(minutes=current_app.config["JOIN_OPENS_MINUTES_BEFORE"])


def personal_data(registration: Registration) -> dict:
    """Return everything kept about this registration, for the person to download."""
    event = registration.event
    return {
        "event": {
            "title": event.title,
            "starts_at": event.starts_at.isoformat(),
            "ends_at": event.ends_at.isoformat(),
            "timezone": event.timezone,
        },
        "registration": {
            "status": str(registration.status),
            "full_name": registration.full_name,
            "email": registration.email,
            "organisation": registration.organisation,
            "category": registration.category,
            "language": registration.locale,
            "wants_followups": registration.wants_followups,
            "utm": registration.utm,
            "referrer": registration.referrer,
            "created_at": registration.created_at.isoformat(),
            "confirmed_at": _iso(registration.confirmed_at),
            "cancelled_at": _iso(registration.cancelled_at),
            "first_joined_at": _iso(registration.first_joined_at),
            "last_joined_at": _iso(registration.last_joined_at),
        },
        "mails": mails.mail_history(registration),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def notify_event_changed(event: Event, now: datetime | None = None) -> int:
    """After a change of time or link: raise SEQUENCE, send each confirmed person the new invite."""
    now = now or now_utc()
    event.ics_sequence += 1
    db.session.flush()
    sent = 0
    for registration in _registrations(event, RegistrationStatus.CONFIRMED):
        sent += mails.send_update(registration, now)
    return sent


def cancel_event(event: Event, now: datetime | None = None) -> int:
    """Cancel the event: a CANCEL invite to every confirmed person, a notice to those waiting."""
    now = now or now_utc()
    event.status = EventStatus.CANCELLED
    event.ics_sequence += 1
    db.session.flush()
    sent = 0
    for registration in _registrations(event, *ACTIVE_STATUSES):
        mails.drop_pending(registration)
        sent += mails.send_event_cancelled(registration, now)
    return sent


def _registrations(event: Event, *statuses: RegistrationStatus) -> list[Registration]:
    """Return the event's registrations with these statuses, in a stable order."""
    return list(
        db.session.scalars(
            select(Registration)
            .where(Registration.event_id == event.id, Registration.status.in_(statuses))
            .order_by(Registration.id)
        )
    )


def anonymise_registrations(chosen: ColumnElement[bool], now: datetime | None = None) -> int:
    """Forget the people of the registrations matching `chosen` (data retention); return how many.

    What erase_registration does for one person, done for many in a few set-based statements:
    their pending mails are withdrawn, the mails they were sent forget them, every link dies and
    the personal columns are blanked. Unlike an erasure, nobody is withdrawn: each status stays,
    so attendance and counts survive. Rows already erased are skipped, so a second run is a no-op.
    """
    now = now or now_utc()
    targets = select(Registration.id).where(chosen, Registration.erased_at.is_(None))
    # The follow-ups still queued for them; the key is kits.tokens.followup_key, built in SQL.
    followup_keys = (
        select(
            literal("sheet:") + cast(Sheet.id, String)
            + literal(":r") + cast(Registration.id, String)
        )
        .select_from(Sheet)
        .join(kit_events, kit_events.c.kit_id == Sheet.kit_id)
        .join(Registration, Registration.event_id == kit_events.c.event_id)
        .where(chosen, Registration.erased_at.is_(None))
    )
    db.session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.dedupe_key.in_(followup_keys),
        )
        .values(status=OutboxStatus.CANCELLED)
    )
    # Every mail sent to them under their registration's keys: from each registration, its
    # address leads to its mails through the to_address index, then the key tells whose it is.
    mail = aliased(OutboxMessage)
    person_id = cast(Registration.id, String)
    theirs = (
        select(mail.id)
        .join(Registration, Registration.email == mail.to_address)
        .where(
            chosen,
            Registration.erased_at.is_(None),
            mail.to_address != "",
            or_(
                mail.dedupe_key.like(literal("registration:") + person_id + literal(":%")),
                mail.dedupe_key.like(literal("sheet:%:r") + person_id),
            ),
        )
    )
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(theirs))
        .values(
            status=case(
                (OutboxMessage.status == OutboxStatus.PENDING, OutboxStatus.CANCELLED.value),
                else_=OutboxMessage.status,
            ),
            **mails.FORGOTTEN_MAIL,
        )
        .execution_options(synchronize_session=False)
    )
    for token in (RegistrationToken, UnsubscribeToken):
        db.session.execute(delete(token).where(token.registration_id.in_(targets)))
    result = db.session.execute(
        update(Registration)
        .where(chosen, Registration.erased_at.is_(None))
        .values(**anonymised_fields(now))
        .execution_options(synchronize_session=False)
    )
    db.session.expire_all()  # loaded registrations, tokens and mails are stale now
    return result.rowcount or 0
