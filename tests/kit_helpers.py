"""Builders for the kit tests: kits, sheets, registrants and kit-only subscribers."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.kits import services
from eventapp.kits.models import Kit, KitSubscriber, Sheet, SubscriptionStatus
from eventapp.kits.placeholder import placeholder_pdf
from eventapp.outbox.models import OutboxMessage
from eventapp.registrations.models import Registration, RegistrationStatus
from tests.factories import make_event

# A Thursday, 14:00 in Paris.
RELEASE = datetime(2030, 3, 7, 13, 0, tzinfo=UTC)
BEFORE = RELEASE - timedelta(days=30)

_numbers = itertools.count(1)


def make_kit(*events: Event, **fields) -> Kit:
    """Add a published kit tied to the given events (one new event if none)."""
    number = next(_numbers)
    values = {
        "slug": f"kit-{number}",
        "title": f"Kit {number}",
        "events": list(events) or [make_event()],
        "published": True,
        "now": BEFORE,
    }
    values.update(fields)
    kit = services.create_kit(**values)
    db.session.commit()
    return kit


def make_sheet(kit: Kit, number: int = 1, release_at: datetime | None = RELEASE, **fields) -> Sheet:
    values = {"title": f"Fiche {number}", "summary": f"Résumé {number}", "now": BEFORE}
    extra = ("file_name", "file_size", "accessible_body")
    stored = {name: fields.pop(name) for name in extra if name in fields}
    values.update(fields)
    sheet = services.add_sheet(kit, number=number, release_at=release_at, **values)
    for name, value in stored.items():
        setattr(sheet, name, value)
    db.session.commit()
    return sheet


def add_registrant(
    event: Event,
    email: str,
    *,
    status: RegistrationStatus = RegistrationStatus.CONFIRMED,
    wants: bool = True,
    since: datetime = BEFORE,
    erased: bool = False,
    locale: str = "fr",
    name: str | None = None,
) -> Registration:
    """Add a registration as the registration service leaves it."""
    registration = Registration(
        event=event,
        status=status,
        full_name=name if name is not None else email.split("@")[0].title(),
        email="" if erased else email,
        email_key=None if erased else email.casefold(),
        locale=locale,
        wants_followups=wants and not erased,
        followups_changed_at=since if wants else None,
        created_at=since,
        confirmed_at=since if status == RegistrationStatus.CONFIRMED else None,
        cancelled_at=since if status == RegistrationStatus.CANCELLED else None,
        erased_at=since if erased else None,
    )
    db.session.add(registration)
    db.session.commit()
    return registration


def add_subscriber(
    kit: Kit,
    email: str,
    *,
    confirmed_at: datetime | None = BEFORE,
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE,
) -> KitSubscriber:
    subscriber = KitSubscriber(
        kit=kit,
        email=email,
        email_key=email.casefold(),
        status=status,
        created_at=BEFORE,
        confirm_sent_at=BEFORE,
        confirmed_at=confirmed_at,
    )
    db.session.add(subscriber)
    db.session.commit()
    return subscriber


def followups(kind: str = "kit_sheet_released") -> list[OutboxMessage]:
    return list(
        db.session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.kind == kind)
            .order_by(OutboxMessage.dedupe_key)
        )
    )


def sample_pdf(text: str = "Fiche") -> bytes:
    return placeholder_pdf([text])
