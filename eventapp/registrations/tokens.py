"""Secret links: random tokens handed out once, kept only as SHA-256 hashes."""

from __future__ import annotations

import secrets

from sqlalchemy import insert, select

from eventapp.extensions import db
from eventapp.registrations.models import Registration, RegistrationToken, TokenPurpose
from eventapp.tokens import hash_token

# Into the table: rows in, no ORM bookkeeping (built once: it runs on every registration).
_INSERT = insert(RegistrationToken.__table__)


def mint_tokens(*purposes: TokenPurpose) -> dict[TokenPurpose, str]:
    """Return a new secret per purpose, not stored yet: the only time they exist."""
    return {purpose: secrets.token_urlsafe(32) for purpose in purposes}  # 256 random bits each


def store_tokens(registration: Registration, raws: dict[TokenPurpose, str]) -> None:
    """Add the hashes of these secrets to the registration, in one statement."""
    db.session.execute(
        _INSERT,
        [
            {"registration_id": registration.id, "purpose": purpose, "token_hash": hash_token(raw)}
            for purpose, raw in raws.items()
        ],
    )
    db.session.expire(registration, ["tokens"])  # a loaded list would miss the new ones


def find_by_token(raw: str, purpose: TokenPurpose) -> Registration | None:
    """Return the registration a secret of this purpose opens, or None."""
    if not raw or len(raw) > 200:
        return None
    stmt = (
        select(Registration)
        .join(RegistrationToken)
        .where(
            RegistrationToken.token_hash == hash_token(raw), RegistrationToken.purpose == purpose
        )
    )
    return db.session.scalars(stmt).first()
