"""The mails a registration causes, each queued once in the outbox with its personal links."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from flask import current_app
from sqlalchemy import select, update

from eventapp import mailkeys
from eventapp.extensions import db
from eventapp.ics.invites import request_invite
from eventapp.ics.services import cancel_invite
from eventapp.models import column_values
from eventapp.outbox.models import OutboxMessage, OutboxStatus
from eventapp.outbox.render import MailPattern, RenderedMail
from eventapp.outbox.services import cancel_pending, enqueue_rendered
from eventapp.registrations.models import Registration, RegistrationStatus, TokenPurpose
from eventapp.registrations.tokens import mint_tokens, revoke_oldest_tokens, store_tokens
from eventapp.site.services import absolute_url, current_organisation


def _link_urls(raws: dict[TokenPurpose, str], with_join: bool = True) -> dict[str, str]:
    """Return the personal links these secrets open."""
    urls = {"manage_url": absolute_url("registrations.space", token=raws[TokenPurpose.MANAGE])}
    if with_join:
        urls["join_url"] = absolute_url("registrations.join", token=raws[TokenPurpose.JOIN])
    return urls


def _links(registration: Registration) -> dict[str, str]:
    """Issue fresh personal links: the attendee space and, once confirmed, the connection link."""
    raws = mint_tokens()
    # The join secret is stored even on the waiting list: once promoted, the attendee space
    # shows it, and until then it opens nothing.
    store_tokens(registration, raws)
    revoke_oldest_tokens(registration)
    return _link_urls(raws, with_join=registration.status == RegistrationStatus.CONFIRMED)


def _organiser_email() -> str:
    return current_app.config["MAIL_REPLY_TO"] or current_app.config["MAIL_DEFAULT_SENDER"]


def invite(registration: Registration, join_url: str) -> bytes:
    """Return the personal REQUEST invite: this attendee, their own connection link.

    A calendar entry is seen by whoever the calendar is shared with, and synced to its
    provider: it carries the join secret only, never the manage link, which stays in the mail.
    """
    return request_invite(
        registration.event,
        attendee_email=registration.email,
        attendee_name=registration.full_name,
        join_url=join_url,
        site_url=current_app.config["SITE_URL"],
        organisation=current_organisation(),
        organiser_email=_organiser_email(),
    )


class _Person(NamedTuple):
    """What the templates read of a registration: in a pattern, a marker stands in for it."""

    full_name: str
    wants_followups: bool = False


# The values that differ from one registrant to the next, filled into a cached pattern.
PERSONAL_KEYS = ("to", "to_name", "full_name", "join_url", "manage_url")
# Patterns by template, locale and content of everything else they show, per process; the key
# changes with any column of the event or the organisation, so an edit made here or in another
# process gets a new pattern, and the old one is never used again.
_PATTERNS: dict[tuple, MailPattern] = {}
_PATTERNS_MAX = 64


def render(registration: Registration, template: str, links: dict[str, str]) -> RenderedMail:
    """Render a mail about this registration: the pattern of its template, locale, event and
    organisation, rendered once, filled in with the person's address, name and links."""
    event, organisation = registration.event, current_organisation()
    values = [
        registration.email,
        registration.full_name,
        registration.full_name,
        links.get("join_url", ""),
        links.get("manage_url", ""),
    ]
    filled = tuple(bool(value) for value in values)
    site_url = current_app.config["SITE_URL"]
    wants_followups = bool(registration.wants_followups)
    key = (template, registration.locale, filled, site_url, wants_followups)
    key += (column_values(event), column_values(organisation))
    pattern = _PATTERNS.get(key)
    if pattern is None:

        def context(markers: dict[str, str]) -> dict[str, Any]:
            person = _Person(full_name=markers.pop("full_name"), wants_followups=wants_followups)
            return {"registration": person, "event": event, **markers}

        pattern = MailPattern(template, registration.locale, PERSONAL_KEYS, filled, context)
        if len(_PATTERNS) >= _PATTERNS_MAX:
            _PATTERNS.clear()
        _PATTERNS[key] = pattern
    return pattern.fill(values)


def _send(
    registration: Registration,
    template: str,
    key: str,
    now: datetime,
    calendar: bytes | None = None,
    **links: str,
) -> bool:
    mail = render(registration, template, links)
    return _queue(registration, template, key, mail, now, calendar)


def _queue(
    registration: Registration,
    template: str,
    key: str,
    mail: RenderedMail,
    now: datetime,
    calendar: bytes | None,
) -> bool:
    return enqueue_rendered(
        mail,
        registration.email,
        key,
        kind=template,
        registration_id=registration.id,
        to_name=registration.full_name,
        locale=registration.locale,
        calendar=calendar,
        now=now,
    )


class Draft(NamedTuple):
    """A mail rendered for a registration that has no id yet, with the secrets of its links."""

    template: str
    what: str  # "confirmation" or "promotion": its key once the registration has an id
    secrets: dict[TokenPurpose, str]
    mail: RenderedMail
    calendar: bytes | None


def draft_confirmation(registration: Registration, what: str) -> Draft:
    """Render the confirmation of a seat (at registration or on promotion), with the invite and
    both links, without writing anything yet."""
    raws = mint_tokens()
    links = _link_urls(raws)
    template = "registration_promoted" if what == "promotion" else "registration_confirmed"
    calendar = invite(registration, links["join_url"])
    return Draft(template, what, raws, render(registration, template, links), calendar)


def send_draft(registration: Registration, draft: Draft, now: datetime) -> bool:
    """Queue a drafted mail once its registration is flushed: its links start to work with it."""
    store_tokens(registration, draft.secrets)
    key = mailkeys.registration(registration.id, draft.what)
    return _queue(registration, draft.template, key, draft.mail, now, draft.calendar)


def send_confirmation(registration: Registration, what: str, now: datetime) -> bool:
    """Confirm a seat (on promotion: the registration has older links) with the invite and both
    links."""
    queued = send_draft(registration, draft_confirmation(registration, what), now)
    revoke_oldest_tokens(registration)
    return queued


def send_waitlist_notice(registration: Registration, now: datetime) -> bool:
    """Tell someone they are on the waiting list; no connection link until promoted."""
    key = mailkeys.registration(registration.id, "waitlist")
    return _send(registration, "registration_waitlisted", key, now, **_links(registration))


def send_links_again(registration: Registration, now: datetime) -> bool:
    """Send the personal links again to someone who registered twice; old links keep working
    (up to REGISTRATION_LIVE_LINKS_MAX of them)."""
    links = _links(registration)
    key = mailkeys.registration_links(registration.id, now)  # a double click sends one mail
    calendar = None
    if "join_url" in links:
        calendar = invite(registration, links["join_url"])
    return _send(registration, "registration_links", key, now, calendar=calendar, **links)


def send_cancellation(registration: Registration, held_seat: bool, now: datetime) -> bool:
    """Acknowledge a cancellation; calendars that hold the invite get a CANCEL for it."""
    calendar = _cancel_invite(registration) if held_seat else None
    key = mailkeys.registration(registration.id, "cancellation")
    return _send(registration, "registration_cancelled", key, now, calendar=calendar)


REMINDER = "registration_reminder"  # the template, and the kind of the queued mail


def send_reminder(registration: Registration, offset_minutes: int, now: datetime) -> bool:
    """Remind a confirmed person of the event, with a fresh connection link."""
    links = _links(registration)
    key = mailkeys.reminder(registration.id, offset_minutes)
    return _send(registration, REMINDER, key, now, **links)


def send_update(registration: Registration, now: datetime) -> bool:
    """Send the new invite after the event's time or link changed (once per SEQUENCE)."""
    links = _links(registration)
    calendar = invite(registration, links["join_url"])
    key = mailkeys.event_update(registration.id, registration.event.ics_sequence)
    return _send(registration, "event_updated", key, now, calendar=calendar, **links)


def send_event_cancelled(registration: Registration, now: datetime) -> bool:
    """Tell a registrant the event is cancelled, with a CANCEL invite if they held a seat."""
    held_seat = registration.status == RegistrationStatus.CONFIRMED
    calendar = _cancel_invite(registration) if held_seat else None
    key = mailkeys.registration(registration.id, "event-cancelled")
    return _send(registration, "event_cancelled", key, now, calendar=calendar)


def _cancel_invite(registration: Registration) -> bytes:
    """Return the CANCEL that takes the event out of this registrant's calendar."""
    return cancel_invite(
        registration.event,
        attendee_email=registration.email,
        attendee_name=registration.full_name,
        site_url=current_app.config["SITE_URL"],
        organisation=current_organisation(),
        organiser_email=_organiser_email(),
    )


def drop_pending(registration: Registration) -> int:
    """Cancel the mails about this registration that are not sent yet (reminders, updates)."""
    return cancel_pending(registration_id=registration.id)


# What a mail about a forgotten person keeps of them: nothing (the subject names no one).
FORGOTTEN_MAIL = {
    "to_address": "",
    "to_name": "",
    "text_body": "",
    "html_body": "",
    "calendar": None,
}


def forget(registration: Registration) -> None:
    """Erase the person from every mail about this registration, sent or not."""
    drop_pending(registration)
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.registration_id == registration.id)
        .values(**FORGOTTEN_MAIL)
    )


def mail_history(registration: Registration) -> list[dict]:
    """List the mails about this registration: what, when, in what state."""
    rows = db.session.execute(
        select(
            OutboxMessage.kind, OutboxMessage.subject, OutboxMessage.status, OutboxMessage.sent_at
        )
        .where(OutboxMessage.registration_id == registration.id)
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
