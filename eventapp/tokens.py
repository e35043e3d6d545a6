"""Secrets in links: 256 random bits handed out once, kept only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Table

from eventapp.extensions import db


def new_token() -> tuple[str, str]:
    """Return a fresh secret (256 random bits) and the hash to store."""
    raw = secrets.token_urlsafe(32)
    return raw, hash_token(raw)


def hash_token(raw: str) -> str:
    """Return the hash under which a secret is stored and looked up."""
    # The secret is random and long: a plain hash is enough, no salt nor slow hash needed.
    return hashlib.sha256(raw.encode()).hexdigest()


class TokenRows:
    """Collect the rows of tokens minted for a fan-out; insert them by batches.

    The rows go straight to the driver's executemany: 100,000 of them through the SQL layer's
    per-value processing would cost more than minting the tokens. The values shared by every row
    (`common`, the last columns) are converted once by their column types.
    """

    def __init__(
        self,
        table: Table,
        columns: tuple[str, ...],
        common: dict[str, Any],
        batch_size: int,
    ) -> None:
        connection = db.session.connection()
        dialect = connection.dialect
        values = []
        for name, value in common.items():
            processor = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            values.append(processor(value) if processor and isinstance(value, datetime) else value)
        self.common = tuple(values)
        names = (*columns, *common)
        # Positional parameters: sqlite3 ("qmark") and psycopg ("format", "pyformat").
        mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}[dialect.paramstyle]
        placeholders = ", ".join([mark] * len(names))
        self.sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({placeholders})"
        self.batch_size = batch_size
        self.rows: list[tuple[Any, ...]] = []

    def add(self, *values: Any) -> None:
        """Add one row: the values of `columns`, in order."""
        self.rows.append((*values, *self.common))
        if len(self.rows) >= self.batch_size:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            db.session.connection().exec_driver_sql(self.sql, self.rows)
            self.rows = []
