"""Reading the press room, and taking a journalist's inquiry."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from datetime import date, datetime

import nh3
from flask import current_app
from flask_babel import get_locale
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from eventapp import mailkeys
from eventapp.events.models import Event, EventStatus
from eventapp.extensions import db
from eventapp.i18n import format_day
from eventapp.markup import render_markdown
from eventapp.models import now_utc
from eventapp.outbox.services import enqueue
from eventapp.press.models import (
    InquiryStatus,
    PressContact,
    PressInquiry,
    PressRelease,
    published_releases,
)
from eventapp.site.services import absolute_url, current_organisation
from eventapp.speakers.models import EventSpeaker

# Paths of the press blueprint that a release slug must not take.
RESERVED_SLUGS = frozenset({"contact", "contacts", "feed.atom"})

INQUIRY_FIELDS = ("name", "outlet", "email", "phone", "subject", "message")


def _with_details(stmt):
    return stmt.options(
        selectinload(PressRelease.contacts),
        selectinload(PressRelease.attachments),
        selectinload(PressRelease.event)
        .selectinload(Event.speaker_links)
        .selectinload(EventSpeaker.speaker),
    )


def public_releases(now: datetime) -> list[PressRelease]:
    """Return the releases the public may read at `now`, newest first."""
    return list(db.session.scalars(published_releases(now)))


def public_release(slug: str, now: datetime) -> PressRelease | None:
    """Return the release with this slug if the public may read it at `now`, else None."""
    stmt = _with_details(select(PressRelease).where(PressRelease.slug == slug))
    return db.session.scalars(stmt.where(PressRelease.published_by(now))).first()


def releases_for_organisers() -> list[PressRelease]:
    """Return every release, embargoed and draft ones included, newest first."""
    stmt = _with_details(select(PressRelease)).order_by(
        PressRelease.dateline_date.desc(), PressRelease.id.desc()
    )
    return list(db.session.scalars(stmt))


def public_event(release: PressRelease) -> Event | None:
    """Return the release's event when the public may see it (never a draft)."""
    event = release.event
    return event if event is not None and event.status != EventStatus.DRAFT else None


def all_contacts() -> list[PressContact]:
    """Return every press contact, in display order."""
    stmt = select(PressContact).order_by(PressContact.position, PressContact.name, PressContact.id)
    return list(db.session.scalars(stmt))


def default_contacts() -> list[PressContact]:
    """Return the contacts that answer for the whole organisation."""
    return [contact for contact in all_contacts() if contact.is_default]


def release_contacts(release: PressRelease | None) -> list[PressContact]:
    """Return who answers for a release: its own contacts, else the default ones."""
    if release is not None and release.contacts:
        return list(release.contacts)
    return default_contacts()


def press_contact(contact_id: int) -> PressContact | None:
    return db.session.get(PressContact, contact_id)


def format_dateline(place: str, day: date, locale: str | None = None) -> str:
    """Write a dateline: "Lille, le 22 février 2021"; in English "Lille, 22 February 2021"."""
    locale = locale or str(get_locale() or "fr")
    text = format_day(day, locale, pattern="d MMMM y")
    if locale.startswith("fr"):
        # "Lille, le 22 février 2021": French puts an article before the date, English none.
        text = f"le {text}" if place else text
    return f"{place}, {text}" if place else text


def sharing_description(release: PressRelease, limit: int = 200) -> str:
    """Return the summary, or the start of the body as plain text, for sharing previews."""
    if release.summary:
        return release.summary
    text = html.unescape(nh3.clean(str(render_markdown(release.body)), tags=set()))
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def submit_inquiry(
    fields: Mapping[str, str],
    release: PressRelease | None,
    locale: str,
    now: datetime | None = None,
) -> PressInquiry:
    """Store an inquiry and queue its mails: one to each press contact, and an acknowledgement.

    The fields must come from a validated PressInquiryForm (no line break in single-line fields).
    """
    now = now or now_utc()
    inquiry = PressInquiry(
        release=release,
        locale=locale,
        created_at=now,
        status=InquiryStatus.NEW,
        **{name: fields.get(name) or "" for name in INQUIRY_FIELDS},
    )
    db.session.add(inquiry)
    db.session.flush()  # the id names the mails' dedupe keys

    contacts = release_contacts(release)
    staff_locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    context = {
        "inquiry": inquiry,
        "release": release,
        "contacts": contacts,
        "press_url": absolute_url("press.index"),
        "release_url": absolute_url("press.detail", slug=release.slug) if release else None,
    }
    for contact in contacts:
        enqueue(
            "press_inquiry_notification",
            contact.email,
            mailkeys.press_inquiry_to_contact(inquiry.id, contact.id),
            to_name=contact.name,
            locale=staff_locale,
            reply_to=inquiry.email,  # answering the mail answers the journalist
            now=now,
            recipient_name=contact.name,
            **context,
        )
    if not contacts and current_organisation().email:
        # No press contact yet: the organisation's own address still hears about it.
        organisation = current_organisation()
        enqueue(
            "press_inquiry_notification",
            organisation.email,
            mailkeys.press_inquiry_to_organisation(inquiry.id),
            to_name=organisation.name,
            locale=staff_locale,
            reply_to=inquiry.email,
            now=now,
            recipient_name=organisation.name,
            **context,
        )
    enqueue(
        "press_inquiry_ack",
        inquiry.email,
        mailkeys.press_inquiry_ack(inquiry.id),
        to_name=inquiry.name,
        locale=locale,
        now=now,
        **context,
    )
    return inquiry


def inquiries_statement(status: InquiryStatus | None = None) -> Select[tuple[PressInquiry]]:
    """Select the inquiries, newest first, optionally only those in one state."""
    stmt = select(PressInquiry).options(selectinload(PressInquiry.release))
    if status is not None:
        stmt = stmt.where(PressInquiry.status == status)
    return stmt.order_by(PressInquiry.created_at.desc(), PressInquiry.id.desc())


def inquiries_for_organisers(status: InquiryStatus | None = None) -> list[PressInquiry]:
    """Return the inquiries, newest first, optionally only those in one state."""
    return list(db.session.scalars(inquiries_statement(status)))


def set_inquiry_handled(
    inquiry: PressInquiry, handled: bool = True, now: datetime | None = None
) -> None:
    """Mark an inquiry handled (or back to new); flush, never commit."""
    inquiry.status = InquiryStatus.HANDLED if handled else InquiryStatus.NEW
    inquiry.handled_at = (now or now_utc()) if handled else None
    db.session.flush()
