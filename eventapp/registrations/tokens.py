"""Secret links: random tokens handed out once, kept only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from eventapp.extensions import db
from eventapp.registrations.models import Registration, RegistrationToken, TokenPurpose


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(registration: Registration, purpose: TokenPurpose) -> str:
    """Add a new secret for this registration and purpose; return it, the only time it exists."""
    raw = secrets.token_urlsafe(32)  # 256 random bits
    registration.tokens.append(RegistrationToken(purpose=purpose, token_hash=hash_token(raw)))
    return raw


def find_by_token(raw: str, purpose: TokenPurpose) -> Registration | None:
    """Return the registration a secret of this purpose opens, or None."""
    if not raw or len(raw) > 200:
        return None
    stmt = (
        select(Registration)
        .join(RegistrationToken)
        .where(RegistrationToken.token_hash == hash_token(raw), RegistrationToken.purpose == purpose)
    )
    return db.session.scalars(stmt).first()
