"""Small text helpers shared by several domains: slugs, address keys, one-line values."""

from __future__ import annotations

from slugify import slugify as _transliterating_slugify


def slugify(text: str, max_length: int = 60) -> str:
    """Turn a title into lowercase ASCII words joined by dashes ("L'ESS au cœur": "l-ess-au-coeur")."""
    # python-slugify transliterates (œ → oe, ß → ss) where dropping accents alone would lose letters.
    return _transliterating_slugify(text, max_length=max_length, word_boundary=False)


def email_key(email: str) -> str:
    """Fold an address for comparison and storage: Jean.Dupont@RTES.fr and jean.dupont@rtes.fr are one."""
    return email.strip().casefold()


def one_line(value: str) -> str:
    """Collapse each run of whitespace, CR and LF included, to a space: a header stays one line."""
    return " ".join(value.split())
