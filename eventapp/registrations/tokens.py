"""Secret links: random tokens handed out once, kept only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import insert, select

from eventapp.extensions import db
from eventapp.registrations.models import Registration, RegistrationToken, TokenPurpose


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_tokens(registration: Registration, *purposes: TokenPurpose) -> list[str]:
    """Add a new secret for this registration per purpose, in one statement; return them, the
    only time they exist."""
    raws = [secrets.token_urlsafe(32) for _ in purposes]  # 256 random bits each
    db.session.execute(
        insert(RegistrationToken.__table__),  # the table: rows in, no ORM bookkeeping
        [
            {"registration_id": registration.id, "purpose": purpose, "token_hash": hash_token(raw)}
            for purpose, raw in zip(purposes, raws, strict=True)
        ],
    )
    db.session.expire(registration, ["tokens"])  # a loaded list would miss the new ones
    return raws


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
