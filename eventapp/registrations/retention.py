"""Data retention for registrations: forgetting many people at once, in a few statements."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, String, case, cast, delete, literal, or_, select, update
from sqlalchemy.orm import aliased

from eventapp.extensions import db
from eventapp.kits.models import Sheet, UnsubscribeToken, kit_events
from eventapp.models import now_utc
from eventapp.outbox.models import OutboxMessage, OutboxStatus
from eventapp.registrations import mails
from eventapp.registrations.models import Registration, RegistrationToken
from eventapp.registrations.services import anonymised_fields


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
            literal("sheet:")
            + cast(Sheet.id, String)
            + literal(":r")
            + cast(Registration.id, String)
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
