"""Reminders and event changes: the right mail, to the right people, exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar
from sqlalchemy import select

from eventapp.extensions import db
from eventapp.outbox.models import OutboxMessage
from eventapp.registrations import services
from eventapp.registrations.jobs import send_due_reminders
from eventapp.registrations.models import RegistrationStatus
from tests.factories import make_event

START = datetime(2030, 3, 27, 12, 30, tzinfo=UTC)


def applicant(email: str) -> services.Applicant:
    return services.Applicant(full_name=email.split("@")[0], email=email, category="elu")


def keys() -> list[str]:
    return sorted(db.session.scalars(select(OutboxMessage.dedupe_key)))


def messages(kind: str) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == kind)))


def test_reminders_go_once_per_window_to_confirmed_people_only(app):
    event = make_event(starts_at=START, capacity=1)
    early = services.register_attendee(
        event, applicant("early@example.org"), now=START - timedelta(days=5)
    )
    waiting = services.register_attendee(
        event, applicant("waiting@example.org"), now=START - timedelta(days=4)
    )
    db.session.commit()
    assert waiting.status == RegistrationStatus.WAITLISTED

    assert send_due_reminders(START - timedelta(days=2)) == 0
    day_before = START - timedelta(hours=23)
    assert send_due_reminders(day_before) == 1
    assert send_due_reminders(day_before + timedelta(minutes=5)) == 0  # idempotent
    db.session.commit()
    assert send_due_reminders(START - timedelta(minutes=50)) == 1
    assert send_due_reminders(START - timedelta(minutes=10)) == 0
    db.session.commit()
    reminders = messages("registration_reminder")
    assert sorted(m.dedupe_key for m in reminders) == [
        f"registration:{early.id}:reminder-1440",
        f"registration:{early.id}:reminder-60",
    ]
    assert all(m.to_address == "early@example.org" for m in reminders)
    assert all("/j/" in m.text_body for m in reminders)
    assert send_due_reminders(START + timedelta(minutes=1)) == 0  # started: nothing more


def test_no_reminder_for_a_window_already_open_at_registration(app):
    event = make_event(starts_at=START)
    services.register_attendee(event, applicant("late@example.org"), now=START - timedelta(hours=3))
    db.session.commit()
    assert send_due_reminders(START - timedelta(hours=2)) == 0  # the day-before window had opened
    assert send_due_reminders(START - timedelta(minutes=30)) == 1  # the hour-before one had not


def test_a_late_worker_sends_only_the_latest_window(app):
    event = make_event(starts_at=START)
    services.register_attendee(event, applicant("a@example.org"), now=START - timedelta(days=3))
    db.session.commit()
    assert send_due_reminders(START - timedelta(minutes=30)) == 1
    assert [m.dedupe_key.rsplit(":", 1)[1] for m in messages("registration_reminder")] == [
        "reminder-60"
    ]


def test_cancelled_people_get_no_reminder(app):
    event = make_event(starts_at=START)
    registration = services.register_attendee(
        event, applicant("gone@example.org"), now=START - timedelta(days=3)
    )
    services.cancel_registration(registration, now=START - timedelta(days=2))
    db.session.commit()
    assert send_due_reminders(START - timedelta(minutes=30)) == 0


def test_reminder_windows_are_configurable_per_event(app):
    event = make_event(starts_at=START, reminder_offsets=[7 * 24 * 60])
    services.register_attendee(event, applicant("a@example.org"), now=START - timedelta(days=10))
    db.session.commit()
    assert send_due_reminders(START - timedelta(days=6)) == 1
    assert send_due_reminders(START - timedelta(minutes=30)) == 0


def test_a_change_of_time_sends_each_confirmed_person_one_update_with_a_higher_sequence(app):
    event = make_event(starts_at=START, capacity=2)
    for email in ("a@example.org", "b@example.org", "c@example.org"):
        services.register_attendee(event, applicant(email), now=START - timedelta(days=5))
    db.session.commit()
    first_invite = Calendar.from_ical(messages("registration_confirmed")[0].calendar)

    event.starts_at, event.ends_at = START + timedelta(hours=1), START + timedelta(hours=2)
    assert services.notify_event_changed(event, now=START - timedelta(days=4)) == 2
    db.session.commit()
    updates = messages("event_updated")
    assert sorted(m.to_address for m in updates) == ["a@example.org", "b@example.org"]
    invite = Calendar.from_ical(updates[0].calendar)
    old, new = first_invite.walk("VEVENT")[0], invite.walk("VEVENT")[0]
    assert str(new["UID"]) == str(old["UID"])
    assert int(new["SEQUENCE"]) == int(old["SEQUENCE"]) + 1
    assert new.decoded("DTSTART").astimezone(UTC) == START + timedelta(hours=1)

    # The same change announced twice (a retried request) sends nothing more.
    event.ics_sequence -= 1
    assert services.notify_event_changed(event, now=START - timedelta(days=4)) == 0


def test_cancelling_the_event_sends_a_cancel_invite_to_confirmed_people(app):
    event = make_event(starts_at=START, capacity=1)
    services.register_attendee(event, applicant("a@example.org"), now=START - timedelta(days=5))
    services.register_attendee(event, applicant("b@example.org"), now=START - timedelta(days=5))
    db.session.commit()
    assert services.cancel_event(event, now=START - timedelta(days=1)) == 2
    db.session.commit()
    cancelled = {m.to_address: m for m in messages("event_cancelled")}
    invite = Calendar.from_ical(cancelled["a@example.org"].calendar)
    assert invite["METHOD"] == "CANCEL"
    assert invite.walk("VEVENT")[0]["STATUS"] == "CANCELLED"
    assert cancelled["b@example.org"].calendar is None  # was waiting: no invite to withdraw
    assert send_due_reminders(START - timedelta(minutes=30)) == 0
