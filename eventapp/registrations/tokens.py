"""Secret links: random tokens handed out once, kept only as SHA-256 hashes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from flask import current_app
from sqlalchemy import delete, insert, select

from eventapp.extensions import db
from eventapp.registrations.models import Registration, RegistrationToken, TokenPurpose
from eventapp.tokens import hash_token

# Into the table: rows in, no ORM bookkeeping (built once: it runs on every registration).
_INSERT = insert(RegistrationToken.__table__)


def mint_tokens() -> dict[TokenPurpose, str]:
    """Return a new manage secret and its join secret, not stored yet: the only time they exist."""
    manage = secrets.token_urlsafe(32)  # 256 random bits
    return {TokenPurpose.MANAGE: manage, TokenPurpose.JOIN: join_secret(manage)}


def join_secret(manage_raw: str) -> str:
    """Return the join secret that goes with a manage secret.

    The attendee space knows only its own manage secret, yet its calendar links must carry a
    join secret: it computes this one. HMAC is one-way, so a calendar that holds the join secret
    cannot work back to the manage secret.
    """
    digest = hmac.new(manage_raw.encode(), b"eventapp join link", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()  # 43 characters, as minted


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


def revoke_oldest_tokens(registration: Registration) -> None:
    """Keep the newest REGISTRATION_LIVE_LINKS_MAX secrets of each purpose, revoke the others:
    the links of old mails stop working rather than pile up without end."""
    keep = current_app.config["REGISTRATION_LIVE_LINKS_MAX"]
    table = RegistrationToken.__table__
    for purpose in TokenPurpose:
        mine = (table.c.registration_id == registration.id, table.c.purpose == purpose)
        newest = select(table.c.id).where(*mine).order_by(table.c.id.desc()).limit(keep)
        db.session.execute(delete(table).where(*mine, table.c.id.not_in(newest)))
    db.session.expire(registration, ["tokens"])


def ensure_join_token(registration: Registration, manage_raw: str) -> tuple[str, bool]:
    """Return the join secret of a manage secret and whether its hash had to be added (links
    minted before join secrets were derived from manage secrets have none)."""
    raw = join_secret(manage_raw)
    if find_by_token(raw, TokenPurpose.JOIN) is not None:
        return raw, False
    store_tokens(registration, {TokenPurpose.JOIN: raw})
    return raw, True


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
