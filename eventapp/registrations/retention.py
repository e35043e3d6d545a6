"""Data retention for registrations: forgetting many people at once, in a few statements."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, case, delete, select, update

from eventapp.attestations.models import Attestation
from eventapp.extensions import db
from eventapp.kits.models import UnsubscribeToken
from eventapp.models import now_utc
from eventapp.outbox.models import OutboxMessage, OutboxStatus
from eventapp.registrations import mails
from eventapp.registrations.models import Registration, RegistrationToken
from eventapp.registrations.services import anonymised_fields
from eventapp.surveys.models import SurveyAnswer


def anonymise_registrations(chosen: ColumnElement[bool], now: datetime | None = None) -> int:
    """Forget the people of the registrations matching `chosen` (data retention); return how many.

    What erase_registration does for one person, done for many in a few set-based statements:
    their pending mails are withdrawn, the mails they were sent forget them, every link dies and
    the personal columns are blanked. Unlike an erasure, nobody is withdrawn: each status stays,
    so attendance and counts survive. Rows already erased are skipped, so a second run is a no-op.
    """
    now = now or now_utc()
    targets = select(Registration.id).where(chosen, Registration.erased_at.is_(None))
    # Every mail about them, follow-ups included, sent or not: pending ones are withdrawn, and
    # all of them forget the person.
    db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.registration_id.in_(targets))
        .values(
            status=case(
                (OutboxMessage.status == OutboxStatus.PENDING, OutboxStatus.CANCELLED.value),
                else_=OutboxMessage.status,
            ),
            **mails.FORGOTTEN_MAIL,
        )
        .execution_options(synchronize_session=False)
    )
    # Attestations name the person on a public page: they go (their code then answers 404).
    db.session.execute(
        delete(Attestation)
        .where(Attestation.registration_id.in_(targets))
        .execution_options(synchronize_session=False)
    )
    # Survey answers keep their rating for the statistics; what was written in them may name
    # someone, and goes.
    db.session.execute(
        update(SurveyAnswer)
        .where(SurveyAnswer.registration_id.in_(targets))
        .values(most_useful="", to_improve="", next_topics="")
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
