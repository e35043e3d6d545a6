"""Issue, revoke and find attestations of presence, and draw their PDF.

A verification code is derived from a random nonce and the secret key (HMAC-SHA256, 160 bits
shown as eight groups of base32), so the code itself is never stored: only its SHA-256, to find
the attestation from the public page. Rotating SECRET_KEY changes the code a PDF drawn after it
shows, which then does not verify (those handed out before still do): after a rotation,
organisers revoke and issue again the attestations still to be downloaded (docs/deployment.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

from flask import current_app
from flask_babel import format_date
from sqlalchemy import select

from eventapp.attestations.models import Attestation
from eventapp.attestations.pdf import AttestationData, render_attestation
from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.i18n import format_span
from eventapp.registrations.models import Registration, RegistrationStatus
from eventapp.site.services import absolute_url, current_organisation

CODE_BYTES = 20  # 160 bits


def _normalised(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


def _code_hash(code: str) -> str:
    return hashlib.sha256(_normalised(code).encode()).hexdigest()


def code_of(attestation: Attestation) -> str:
    """The attestation's verification code: "K7QF-3M9D-…", eight groups of four."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(key, f"attestation:{attestation.code_nonce}".encode(), hashlib.sha256)
    letters = base64.b32encode(digest.digest()[:CODE_BYTES]).decode()
    return "-".join(letters[i : i + 4] for i in range(0, len(letters), 4))


def verify_url(attestation: Attestation) -> str:
    """The public page that confirms the attestation, as printed on it."""
    return absolute_url("attestations.verify", code=code_of(attestation))


def find_by_code(code: str) -> Attestation | None:
    """Return the attestation a code names, revoked or not; None for an unknown code."""
    if len(_normalised(code)) != len(base64.b32encode(bytes(CODE_BYTES))):
        return None
    return db.session.scalar(select(Attestation).where(Attestation.code_hash == _code_hash(code)))


def attestation_of(registration: Registration) -> Attestation | None:
    return db.session.scalar(
        select(Attestation).where(Attestation.registration_id == registration.id)
    )


def eligible(registration: Registration) -> bool:
    """Attestations are on for the event, and the registrant was there long enough."""
    threshold = registration.event.attestation_min_minutes
    return (
        threshold is not None
        and registration.status == RegistrationStatus.CONFIRMED
        and registration.erased_at is None
        and (registration.minutes_present or 0) >= threshold
    )


def attestation_ready(registration: Registration) -> bool:
    """The registrant can download an attestation: one valid is issued, or they earned one."""
    attestation = attestation_of(registration)
    if attestation is not None:
        return attestation.revoked_at is None
    return eligible(registration)


def issue(registration: Registration, now: datetime, by_hand: bool = False) -> Attestation:
    """Issue the registrant's attestation (again, if it was revoked); flushes.

    An attestation already valid is left as it was issued: a document handed out does not change.
    """
    attestation = attestation_of(registration)
    if attestation is not None and attestation.revoked_at is None:
        return attestation
    attestation = _fill(attestation, registration, now, by_hand)
    db.session.flush()
    return attestation


def _fill(
    attestation: Attestation | None, registration: Registration, now: datetime, by_hand: bool
) -> Attestation:
    """Give an attestation (a new one if None) a fresh code and what it states today."""
    if attestation is None:
        attestation = Attestation(registration_id=registration.id, event_id=registration.event_id)
        db.session.add(attestation)
    attestation.code_nonce = secrets.token_hex(16)
    attestation.code_hash = _code_hash(code_of(attestation))
    attestation.full_name = registration.full_name
    attestation.minutes = registration.minutes_present or 0
    attestation.issued_at = now
    attestation.issued_by_hand = by_hand
    attestation.revoked_at = None
    return attestation


def revoke(attestation: Attestation, now: datetime) -> None:
    """Revoke it: its page says so, its PDF is no longer served; flushes."""
    attestation.revoked_at = attestation.revoked_at or now
    db.session.flush()


def issue_due(event: Event, now: datetime) -> dict[int, Attestation]:
    """Issue the attestation of every registrant of the event above its threshold; return the
    valid ones by registration id (the post-event mail links each). A revoked one stays revoked:
    only an organiser's hand issues it again."""
    if event.attestation_min_minutes is None:
        return {}
    registrations = db.session.scalars(
        select(Registration).where(
            Registration.event_id == event.id,
            Registration.status == RegistrationStatus.CONFIRMED,
            Registration.erased_at.is_(None),
            Registration.minutes_present >= event.attestation_min_minutes,
        )
    )
    # The event's attestations in one query, and one flush for the new ones: the post-event
    # mail of a large training must not look each registrant up.
    existing = {
        a.registration_id: a
        for a in db.session.scalars(select(Attestation).where(Attestation.event_id == event.id))
    }
    issued = {}
    for registration in registrations:
        attestation = existing.get(registration.id)
        if attestation is None:
            issued[registration.id] = _fill(None, registration, now, by_hand=False)
        elif attestation.revoked_at is None:
            issued[registration.id] = attestation
    db.session.flush()
    return issued


def pdf_of(attestation: Attestation) -> bytes:
    """Draw the attestation's PDF, in the current language."""
    event = db.session.get(Event, attestation.event_id)
    organisation = current_organisation()
    minutes = int((event.ends_at - event.starts_at).total_seconds() // 60)
    return render_attestation(
        AttestationData(
            organisation_name=organisation.name,
            organisation_address=organisation.address or "",
            event_title=event.title,
            event_when=format_span(event.starts_at, event.ends_at, event.tz),
            event_minutes=minutes,
            full_name=attestation.full_name,
            minutes_present=attestation.minutes,
            code=code_of(attestation),
            verify_url=verify_url(attestation),
            issued_on=format_date(attestation.issued_at, format="long"),
        )
    )


def download_name(attestation: Attestation) -> str:
    return f"attestation-{attestation.id}.pdf"
