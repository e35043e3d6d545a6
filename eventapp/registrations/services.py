"""Registering, cancelling, promoting and erasing; every mail goes through the outbox."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import (
    bindparam,
    delete,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql import Executable

from eventapp.attestations.models import Attestation
from eventapp.events.models import Event, EventStatus, RegistrationState
from eventapp.extensions import db
from eventapp.kits.followups import drop_registration_followups
from eventapp.models import now_utc
from eventapp.registrations import mails
from eventapp.registrations.models import (
    ACTIVE_CONDITION,
    ACTIVE_STATUSES,
    Registration,
    RegistrationStatus,
)
from eventapp.surveys.services import delete_answer, personal_answer
from eventapp.text import email_key


class RegistrationError(Exception):
    """A registration that the rules refuse; the message is shown to the person."""


class RegistrationClosed(RegistrationError):
    pass


class EventFull(RegistrationError):
    pass


class AlreadyCancelled(RegistrationError):
    pass


class NotWaitlisted(RegistrationError):
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


def lock_event(event: Event) -> None:
    """Hold the event's row lock until commit, so capacity is counted by one request at a time,
    and reload the event as it is now that we hold it."""
    statement = _locking(_dialect(), Event).execution_options(
        populate_existing=True, synchronize_session=False
    )
    db.session.execute(statement, {"event_id": event.id}).scalars().all()


# What decides whether a registration gets a seat, read again under the lock.
_SEAT_RULES = ("status", "ends_at", "registration_opens_at", "registration_closes_at",
               "capacity", "waitlist_enabled", "updated_at")  # fmt: skip


def lock_seats(event: Event) -> None:
    """Take the lock of lock_event, reloading only what decides a seat (a few columns, no ORM
    reload: on SQLite every other registration waits while we hold it)."""
    row = db.session.execute(_seat_locking(_dialect()), {"event_id": event.id}).one()
    for name, value in zip(_SEAT_RULES, row, strict=True):
        set_committed_value(event, name, value)


def _dialect() -> str:
    return db.session.get_bind().dialect.name


@functools.cache
def _seat_locking(dialect: str) -> Executable:
    """Build the statement of lock_seats once per dialect: it runs on every registration."""
    table = Event.__table__
    return _locking(dialect, *(table.c[name] for name in _SEAT_RULES))


def _locking(dialect: str, *columns) -> Executable:
    """Return the statement that locks the row of the event :event_id and reads `columns`."""
    table = Event.__table__
    if dialect == "sqlite":
        # SQLite locks the whole file: a no-op write takes the write lock, readers go on. It
        # names updated_at so that the column's onupdate leaves it alone: nothing changed.
        return (
            update(table)
            .where(table.c.id == bindparam("event_id"))
            .values(id=table.c.id, updated_at=table.c.updated_at)
            .returning(*columns)
        )
    return select(*columns).where(table.c.id == bindparam("event_id")).with_for_update()


def confirmed_count(event: Event) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(Registration)
        .where(
            Registration.event_id == event.id, Registration.status == RegistrationStatus.CONFIRMED
        )
    )


@functools.cache
def _active_id() -> Executable:
    """Select the id of the active registration of :event_id and :email_key."""
    # The partial unique index's own condition, word for word: with bound values the database
    # cannot tell that index applies (SQLite never does) and reads every registration of the
    # event instead of one entry.
    table = Registration.__table__
    return select(table.c.id).where(
        table.c.event_id == bindparam("event_id"),
        table.c.email_key == bindparam("email_key"),
        text(ACTIVE_CONDITION),
    )


def active_registration(event: Event, email: str) -> Registration | None:
    found = db.session.execute(
        _active_id(), {"event_id": event.id, "email_key": email_key(email)}
    ).scalar()
    return None if found is None else db.session.get(Registration, found)


@dataclass(frozen=True)
class Submission:
    """What one post of the registration form did, as the visitor may be told it.

    `outcome` is what a new address got at that moment (a seat, the waiting list, or "full"):
    an address registered before gets its links again and the same page, so the page never
    tells whether someone had registered.
    """

    registration: Registration | None
    outcome: str  # "confirmed", "waitlisted" or "full"


def register_attendee(
    event: Event, applicant: Applicant, now: datetime | None = None
) -> Registration:
    """Register someone, confirmed or on the waiting list; an address already in sends its links again."""
    submission = submit_registration(event, applicant, now)
    if submission.registration is None:
        raise EventFull()
    return submission.registration


def submit_registration(
    event: Event, applicant: Applicant, now: datetime | None = None
) -> Submission:
    """Register someone and say what a new address got; raise RegistrationClosed when the event
    takes no registration."""
    now = now or now_utc()
    _check_open(event, now)
    registration = Registration(
        event=event,
        event_id=event.id,
        status=RegistrationStatus.CONFIRMED,
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
        confirmed_at=now,
        links_sent_at=now,
    )
    # Rendered before the lock, as if the seat were free and the address new, the common case:
    # on SQLite the lock stops every other registration until commit.
    confirmation = mails.draft_confirmation(registration, "confirmation")
    rendered_from = event.updated_at
    lock_seats(event)
    _check_open(event, now)
    if event.updated_at != rendered_from:  # edited meanwhile: the mail must say what is true now
        db.session.refresh(event)
        confirmation = mails.draft_confirmation(registration, "confirmation")
    full = event.capacity is not None and confirmed_count(event) >= event.capacity
    outcome = "confirmed"
    if full and not event.waitlist_enabled:
        outcome = "full"
        existing = active_registration(event, applicant.email)
        if existing is None:
            return Submission(None, outcome)
    else:
        if full:
            outcome = "waitlisted"
            registration.status = RegistrationStatus.WAITLISTED
            registration.confirmed_at = None
        # Into the table, then into the session as if loaded: no unit of work under the lock.
        values = {name: getattr(registration, name) for name in _INSERTED}
        inserted = db.session.execute(_insert_registration(_dialect()), values).scalar()
        if inserted is not None:
            registration.id = inserted
            make_transient_to_detached(registration)
            db.session.add(registration)
            if registration.status == RegistrationStatus.CONFIRMED:
                mails.send_draft(registration, confirmation, now)
            else:
                mails.send_waitlist_notice(registration, now)
            return Submission(registration, outcome)
        existing = active_registration(event, applicant.email)  # the unique index found it
    resend_links(existing, now)
    return Submission(existing, outcome)


def resend_links(registration: Registration, now: datetime) -> bool:
    """Mail the links again to an address registered twice, at most once per
    REGISTRATION_LINKS_RESEND_MINUTES: re-posting the form with someone's address can neither
    flood their mailbox nor pile up secrets. The page shown is the same either way."""
    resend_after = timedelta(minutes=current_app.config["REGISTRATION_LINKS_RESEND_MINUTES"])
    last = registration.links_sent_at
    if last is not None and now - last < resend_after:
        return False
    registration.links_sent_at = now
    db.session.flush()
    return mails.send_links_again(registration, now)


# The columns register_attendee sets; the others keep their defaults (NULL).
_INSERTED = ("event_id", "status", "full_name", "email", "email_key", "organisation", "category",
             "locale", "wants_followups", "followups_changed_at", "utm", "referrer", "created_at",
             "confirmed_at", "links_sent_at")  # fmt: skip


@functools.cache
def _insert_registration(dialect: str) -> Executable:
    """INSERT a registration and return its id, or nothing when the address has an active one."""
    table = Registration.__table__
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        insert(table)
        .on_conflict_do_nothing(
            index_elements=["event_id", "email_key"], index_where=text(ACTIVE_CONDITION)
        )
        .returning(table.c.id)
    )


def _check_open(event: Event, now: datetime) -> None:
    """Refuse a registration to an event that does not take any now."""
    state = event.registration_state(now)
    if event.status != EventStatus.PUBLISHED or state != RegistrationState.OPEN:
        raise RegistrationClosed()


def promote_next(event: Event, now: datetime) -> Registration | None:
    """Confirm the first person waiting, if a seat is free; the caller holds the event lock."""
    if event.capacity is not None and confirmed_count(event) >= event.capacity:
        return None
    waiting = db.session.scalars(
        select(Registration)
        .where(
            Registration.event_id == event.id, Registration.status == RegistrationStatus.WAITLISTED
        )
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
    """Turn the follow-up mails (one per new sheet) on or off, withdrawing the queued ones."""
    record_followup_choice(registration, wanted, now)
    if not wanted:
        drop_registration_followups(registration)  # takes effect at once, queued ones too


def record_followup_choice(
    registration: Registration, wanted: bool, now: datetime | None = None
) -> None:
    """Note whether the person wants follow-ups; the caller withdraws what is queued."""
    # Kept apart from set_followups: a kit unsubscribing an address withdraws every pending
    # follow-up of the address itself, once, instead of once per registration.
    if registration.wants_followups != wanted:
        registration.wants_followups = wanted
        registration.followups_changed_at = now or now_utc()
        db.session.flush()


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
    delete_answer(registration)  # what the person wrote goes with them
    # Its public verification page names the person: it goes too (an unknown code is a 404).
    db.session.execute(delete(Attestation).where(Attestation.registration_id == registration.id))
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


def join_expires_at(event: Event) -> datetime:
    """When the connection links, which calendars keep, stop opening anything."""
    return event.ends_at + timedelta(days=current_app.config["JOIN_LINK_VALID_DAYS_AFTER_END"])


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
        "survey_answer": personal_answer(registration),
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


# --- what organisers do to registrations ------------------------------------------------------


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


def promote_registration(registration: Registration, now: datetime | None = None) -> None:
    """Give a waiting person a seat, if one is free, and send them their confirmation."""
    now = now or now_utc()
    event = registration.event
    lock_event(event)
    db.session.refresh(registration)  # read it as it is now that we hold the event's lock
    if registration.status != RegistrationStatus.WAITLISTED:
        raise NotWaitlisted(registration.status)
    if event.capacity is not None and confirmed_count(event) >= event.capacity:
        raise EventFull(event.capacity)
    registration.status = RegistrationStatus.CONFIRMED
    registration.confirmed_at = now
    db.session.flush()
    mails.send_confirmation(registration, "promotion", now)
