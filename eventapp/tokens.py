"""Secrets in links: 256 random bits handed out once, kept only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> tuple[str, str]:
    """Return a fresh secret (256 random bits) and the hash to store."""
    raw = secrets.token_urlsafe(32)
    return raw, hash_token(raw)


def hash_token(raw: str) -> str:
    """Return the hash under which a secret is stored and looked up."""
    # The secret is random and long: a plain hash is enough, no salt nor slow hash needed.
    return hashlib.sha256(raw.encode()).hexdigest()
