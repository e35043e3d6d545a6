"""The mails a registration causes, each queued once in the outbox with its personal links."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import select, update

from eventapp.extensions import db
from eventapp.ics.services import cancel_invite, request_invite
from eventapp.outbox.models import OutboxMessage, OutboxStatus
from eventapp.outbox.services import cancel_pending, enqueue
from eventapp.registrations.models import Registration, RegistrationStatus, TokenPurpose
from eventapp.registrations.tokens import issue_token
from eventapp.site.services import absolute_url, current_organisation


def _links(registration: Registration) -> dict[str, str]:
    """Issue fresh personal links: the attendee space and, once confirmed, the connection link."""
    links = {"manage_url": absolute_url("registrations.space", token=issue_token(registration, TokenPurpose.MANAGE))}
    if registration.status == RegistrationStatus.CONFIRMED:
        links["join_url"] = absolute_url("registrations.join", token=issue_token(registration, TokenPurpose.JOIN))
    return links


def _organiser_email() -> str:
    return current_app.config["MAIL_REPLY_TO"] or current_app.config["MAIL_DEFAULT_SENDER"]


def invite(registration: Registration, join_url: str, manage_url: str) -> bytes:
    """Return the personal REQUEST invite: this attendee, their own connection link."""
    return request_invite(
        registration.event,
        attendee_email=registration.email,
        attendee_name=registration.full_name,
        join_url=join_url,
        personal_url=manage_url,
        site_url=current_app.config["SITE_URL"],
        organisation=current_organisation(),
        organiser_email=_organiser_email(),
    )


def _send(registration: Registration, template: str, key: str, now: datetime, **context) -> bool:
    message = enqueue(
        template,
        registration.email,
        registration.mail_prefix + key,
        to_name=registration.full_name,
        locale=registration.locale,
        kind=template,
        now=now,
        registration=registration,
        event=registration.event,
        **context,
    )
    return message is not None


def send_confirmation(registration: Registration, key: str, now: datetime) -> bool:
    """Confirm a seat (at registration or on promotion) with the invite and both links."""
    links = _links(registration)
    template = "registration_promoted" if key == "promotion" else "registration_confirmed"
    calendar = invite(registration, links["join_url"], links["manage_url"])
    return _send(registration, template, key, now, calendar=calendar, **links)


def send_waitlist_notice(registration: Registration, now: datetime) -> bool:
    """Tell someone they are on the waiting list; no connection link until promoted."""
    return _send(registration, "registration_waitlisted", "waitlist", now, **_links(registration))


def send_links_again(registration: Registration, now: datetime) -> bool:
    """Send the personal links again to someone who registered twice; old links keep working."""
    links = _links(registration)
    key = f"links:{int(now.timestamp())}"  # a double click sends one mail, not two
    calendar = (
        invite(registration, links["join_url"], links["manage_url"]) if "join_url" in links else None
    )
    return _send(registration, "registration_links", key, now, calendar=calendar, **links)


def send_cancellation(registration: Registration, held_seat: bool, now: datetime) -> bool:
    """Acknowledge a cancellation; calendars that hold the invite get a CANCEL for it."""
    calendar = None
    if held_seat:
        calendar = cancel_invite(
            registration.event,
            attendee_email=registration.email,
            attendee_name=registration.full_name,
            site_url=current_app.config["SITE_URL"],
            organisation=current_organisation(),
            organiser_email=_organiser_email(),
        )
    return _send(registration, "registration_cancelled", "cancellation", now, calendar=calendar)


def send_reminder(registration: Registration, offset_minutes: int, now: datetime) -> bool:
    """Remind a confirmed person of the event, with a fresh connection link."""
    links = _links(registration)
    return _send(
        registration, "registration_reminder", f"reminder-{offset_minutes}", now, **links
    )


def send_update(registration: Registration, now: datetime) -> bool:
    """Send the new invite after the event's time or link changed (once per SEQUENCE)."""
    links = _links(registration)
    calendar = invite(registration, links["join_url"], links["manage_url"])
    key = f"update:{registration.event.ics_sequence}"
    return _send(registration, "event_updated", key, now, calendar=calendar, **links)


def send_event_cancelled(registration: Registration, now: datetime) -> bool:
    """Tell a registrant the event is cancelled, with a CANCEL invite if they held a seat."""
    calendar = None
    if registration.status == RegistrationStatus.CONFIRMED:
        calendar = cancel_invite(
            registration.event,
            attendee_email=registration.email,
            attendee_name=registration.full_name,
            site_url=current_app.config["SITE_URL"],
            organisation=current_organisation(),
            organiser_email=_organiser_email(),
        )
    return _send(registration, "event_cancelled", "event-cancelled", now, calendar=calendar)


def drop_pending(registration: Registration) -> int:
    """Cancel the mails about this registration that are not sent yet (reminders, updates)."""
    return cancel_pending(dedupe_prefix=registration.mail_prefix)


def forget(registration: Registration) -> None:
    """Erase the person from every mail about this registration, sent or not."""
    drop_pending(registration)
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.dedupe_key.startswith(registration.mail_prefix, autoescape=True))
        .values(to_address="", to_name="", text_body="", html_body="", calendar=None)
    )


def mail_history(registration: Registration) -> list[dict]:
    """List the mails about this registration: what, when, in what state."""
    rows = db.session.execute(
        select(OutboxMessage.kind, OutboxMessage.subject, OutboxMessage.status, OutboxMessage.sent_at)
        .where(OutboxMessage.dedupe_key.startswith(registration.mail_prefix, autoescape=True))
        .order_by(OutboxMessage.id)
    )
    return [
        {
            "kind": kind,
            "subject": subject,
            "status": str(status),
            "sent_at": sent_at.isoformat() if sent_at else None,
        }
        for kind, subject, status, sent_at in rows
        if status != OutboxStatus.CANCELLED
    ]
