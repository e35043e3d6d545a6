"""Queue mail in the caller's transaction, exactly once per dedupe key; withdraw it; count it."""

from __future__ import annotations

import base64
import functools
import itertools
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.outbox.models import OutboxMessage, OutboxStatus
from eventapp.outbox.render import MailPattern, RenderedMail, render_mail
from eventapp.text import one_line

outbox = OutboxMessage.__table__

__all__ = [
    "Attachment",
    "Recipient",
    "cancel_pending",
    "count_by_status",
    "enqueue",
    "enqueue_many",
    "enqueue_rendered",
]

# Headers the outbox writes itself; a caller's `headers` may not replace them.
MANAGED_HEADERS = frozenset(
    h.lower()
    for h in (
        "From",
        "To",
        "Cc",
        "Bcc",
        "Subject",
        "Date",
        "Message-ID",
        "Reply-To",
        "Sender",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Auto-Submitted",
    )
)
_HEADER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]*")
_ADDRESS = re.compile(r"[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\]+")
_CONTENT_TYPE = re.compile(r"[\w.+-]+/[\w.+-]+")
_METHOD = re.compile(rb"^METHOD:([A-Za-z-]+)\s*$", re.MULTILINE)


class Attachment(NamedTuple):
    """A file attached to a mail."""

    filename: str
    content_type: str  # "application/pdf"
    data: bytes


class Recipient(NamedTuple):
    """One addressee of a fan-out, with the values that differ from one recipient to the next."""

    to: str
    dedupe_key: str
    to_name: str = ""
    locale: str = "fr"
    registration_id: int | None = None  # the registration this mail is about, if any
    context: Mapping[str, str] = {}  # printed as given in the templates: {"unsubscribe_url": ...}
    headers: Mapping[str, str] = {}  # {"List-Unsubscribe": "<https://...>"}


def _checked_address(address: str) -> str:
    """Return the address as SMTP carries it (an international domain in its ASCII form)."""
    if len(address) > 320 or not _ADDRESS.fullmatch(address):
        raise ValueError(f"not a mail address: {address!r}")
    local, _, domain = address.rpartition("@")
    if not local.isascii():  # would need SMTPUTF8, which relays cannot be counted on for
        raise ValueError(f"not an ASCII mailbox name: {address!r}")
    if not domain.isascii():
        domain = domain.encode("idna").decode("ascii")
    return f"{local}@{domain}"


def _checked_key(dedupe_key: str) -> str:
    if not dedupe_key or len(dedupe_key) > 255:
        raise ValueError(f"a dedupe key has 1 to 255 characters: {dedupe_key!r}")
    return dedupe_key


def _fit(value: str, length: int) -> str:
    """Shorten a display value to its column, so that PostgreSQL never aborts the transaction."""
    return value if len(value) <= length else value[: length - 1] + "…"


@functools.lru_cache(maxsize=64)
def _checked_header_name(name: str) -> str:
    if not _HEADER_NAME.fullmatch(name) or name.lower() in MANAGED_HEADERS:
        raise ValueError(f"header {name!r} may not be set on a queued mail")
    return name


def _checked_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    return {_checked_header_name(n): one_line(str(v)) for n, v in (headers or {}).items()}


def _attachments_json(attachments: Sequence[Attachment]) -> list[dict[str, str]]:
    for attachment in attachments:
        if not _CONTENT_TYPE.fullmatch(attachment.content_type):
            raise ValueError(f"not a content type: {attachment.content_type!r}")
    return [
        {
            "filename": one_line(a.filename),
            "content_type": a.content_type,
            "data": base64.b64encode(a.data).decode("ascii"),
        }
        for a in attachments
    ]


def calendar_method(calendar: bytes) -> str:
    """Read the iTIP method (REQUEST, CANCEL, PUBLISH) from an iCalendar file."""
    found = _METHOD.search(calendar)
    if found is None:
        raise ValueError("the calendar has no METHOD line")
    return found.group(1).decode("ascii").upper()


def message_id_domain() -> str:
    """Return the site's own domain, which Message-IDs end with (not the machine's host name)."""
    return urlsplit(current_app.config["SITE_URL"]).hostname or "localhost"


def new_message_id(domain: str | None = None) -> str:
    """Return a fresh Message-ID on the site's domain."""
    return f"<{os.urandom(16).hex()}@{domain or message_id_domain()}>"


def _insert_ignoring_duplicates(target: Any, dialect: str | None = None) -> Any:
    """Return an INSERT that skips a row whose dedupe_key exists, even one a concurrent
    transaction is adding: no IntegrityError can spoil the caller's transaction."""
    dialect = dialect or db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(target).on_conflict_do_nothing(index_elements=["dedupe_key"])


@functools.cache
def _insert_one(dialect: str) -> Any:
    """The INSERT of enqueue_rendered, built once per dialect: it runs on every registration."""
    return _insert_ignoring_duplicates(outbox, dialect).returning(outbox.c.id)


def enqueue(
    template: str,
    to: str,
    dedupe_key: str,
    *,
    to_name: str = "",
    locale: str = "fr",
    kind: str | None = None,
    registration_id: int | None = None,
    reply_to: str | None = None,
    headers: dict[str, str] | None = None,
    calendar: bytes | None = None,
    attachments: Sequence[Attachment] = (),
    due_at: datetime | None = None,
    now: datetime | None = None,
    **context: Any,
) -> OutboxMessage | None:
    """Render mail/<template>.txt/.html in `locale` and add one row in the caller's transaction;
    None when dedupe_key exists."""
    to = _checked_address(to)
    to_name = _fit(one_line(to_name), 200)
    rendered = render_mail(template, locale, {"to": to, "to_name": to_name, **context})
    row = _row(
        rendered, to, dedupe_key, to_name=to_name, locale=locale, kind=kind or template,
        registration_id=registration_id, reply_to=reply_to, headers=headers, calendar=calendar, attachments=attachments,
        due_at=due_at, now=now,
    )  # fmt: skip
    statement = _insert_ignoring_duplicates(OutboxMessage).values(**row).returning(OutboxMessage)
    return db.session.scalars(statement).first()


def enqueue_rendered(
    mail: RenderedMail,
    to: str,
    dedupe_key: str,
    *,
    kind: str,
    to_name: str = "",
    locale: str = "fr",
    registration_id: int | None = None,
    calendar: bytes | None = None,
    now: datetime | None = None,
) -> bool:
    """Add one mail rendered by the caller (a MailPattern filled in) to the caller's
    transaction; False when dedupe_key exists."""
    row = _row(
        mail, _checked_address(to), dedupe_key, to_name=_fit(one_line(to_name), 200),
        locale=locale, kind=kind, registration_id=registration_id, calendar=calendar, now=now,
    )  # fmt: skip
    statement = _insert_one(db.session.get_bind().dialect.name)
    return db.session.execute(statement, row).first() is not None


def _row(
    mail: RenderedMail,
    to: str,
    dedupe_key: str,
    *,
    to_name: str,
    locale: str,
    kind: str,
    registration_id: int | None = None,
    reply_to: str | None = None,
    headers: dict[str, str] | None = None,
    calendar: bytes | None = None,
    attachments: Sequence[Attachment] = (),
    due_at: datetime | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Return the column values of one queued mail, `to` and `to_name` already checked."""
    now = now or now_utc()
    return {
        "kind": _fit(kind, 50),
        "dedupe_key": _checked_key(dedupe_key),
        "to_address": to,
        "to_name": to_name,
        "locale": locale,
        "registration_id": registration_id,
        "subject": _fit(mail.subject, 500),
        "text_body": mail.text,
        "html_body": mail.html,
        "calendar": calendar,
        "calendar_method": calendar_method(calendar) if calendar else None,
        "attachments": _attachments_json(attachments),
        "reply_to": _checked_address(reply_to) if reply_to else None,
        "headers": _checked_headers(headers),
        "status": OutboxStatus.PENDING,
        "attempts": 0,
        "due_at": due_at or now,
        "message_id": new_message_id(),
        "created_at": now,
    }


def enqueue_many(
    template: str,
    recipients: Iterable[Recipient],
    *,
    kind: str,
    reply_to: str | None = None,
    headers: dict[str, str] | None = None,
    attachments: Sequence[Attachment] = (),
    due_at: datetime | None = None,
    now: datetime | None = None,
    batch_size: int = 2000,
    **context: Any,
) -> int:
    """Queue one mail per recipient in the caller's transaction, skipping known dedupe keys;
    return how many rows were added.

    The templates are rendered once per locale, then filled in with each recipient's `to`,
    `to_name` and `context`; rows go in by batches, so the recipients may be a lazy stream.
    """
    now = now or now_utc()
    insert = _BulkInsert(
        kind=_fit(kind, 50),
        calendar=None,
        calendar_method=None,
        attachments=_attachments_json(attachments),
        reply_to=_checked_address(reply_to) if reply_to else None,
        status=OutboxStatus.PENDING,
        attempts=0,
        due_at=due_at or now,
        lease_expires_at=None,
        last_error=None,
        sent_at=None,
        created_at=now,
    )
    common_headers = _checked_headers(headers)
    domain = message_id_domain()
    patterns: dict[tuple[str, tuple[str, ...], tuple[bool, ...]], MailPattern] = {}
    added = 0
    iterator = iter(recipients)
    while batch := list(itertools.islice(iterator, batch_size)):
        # The random part of every Message-ID of the batch, drawn at once.
        randoms = os.urandom(16 * len(batch)).hex()
        rows = []
        for index, recipient in enumerate(batch):
            to = _checked_address(recipient.to)
            to_name = _fit(one_line(recipient.to_name), 200)
            names = tuple(recipient.context)
            values = [to, to_name, *map(str, recipient.context.values())]
            filled = tuple(map(bool, values))
            pattern = patterns.get((recipient.locale, names, filled))
            if pattern is None:
                keys = ("to", "to_name", *names)
                pattern = MailPattern(template, recipient.locale, keys, filled, context)
                patterns[recipient.locale, names, filled] = pattern
            mail = pattern.fill(values)
            row_headers = common_headers
            if recipient.headers:
                row_headers = {**common_headers, **_checked_headers(recipient.headers)}
            rows.append((
                _checked_key(recipient.dedupe_key),
                to,
                to_name,
                recipient.locale,
                recipient.registration_id,
                _fit(mail.subject, 500),
                mail.text,
                mail.html,
                json.dumps(row_headers),
                f"<{randoms[32 * index:32 * index + 32]}@{domain}>",
            ))  # fmt: skip
        added += insert(rows)
    return added


class _BulkInsert:
    """INSERT ... ON CONFLICT DO NOTHING of many rows through the driver's executemany.

    A fan-out's rows skip SQLAlchemy's per-row type processing, which would otherwise cost more
    than rendering them: the values common to all rows go through their column types once, and
    the rows bring plain strings (headers already as JSON text), in the order of ROW_COLUMNS.
    """

    ROW_COLUMNS = (
        "dedupe_key", "to_address", "to_name", "locale", "registration_id", "subject",
        "text_body", "html_body", "headers", "message_id",
    )  # fmt: skip

    def __init__(self, **common: Any) -> None:
        self.connection = db.session.connection()  # the caller's transaction
        dialect = self.connection.dialect
        processed = []
        for name, value in common.items():
            # The dialect's own processor: on SQLite, UTCDateTime then DATETIME's text format.
            process = outbox.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            processed.append(process(value) if process and value is not None else value)
        self.common = tuple(processed)
        columns = [*self.ROW_COLUMNS, *common]
        # Positional parameters: sqlite3 ("qmark") and psycopg ("format", "pyformat").
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        self.sql = (
            f"INSERT INTO {outbox.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join([mark] * len(columns))}) "
            "ON CONFLICT (dedupe_key) DO NOTHING"
        )

    def __call__(self, rows: list[tuple[Any, ...]]) -> int:
        """Insert the rows; return how many were new (pysqlite and psycopg sum executemany)."""
        result = self.connection.exec_driver_sql(self.sql, [row + self.common for row in rows])
        return max(result.rowcount, 0)


def cancel_pending(
    *,
    to_address: str | None = None,
    dedupe_keys: Iterable[str] | None = None,
    registration_id: int | None = None,
) -> int:
    """Mark pending mails cancelled (unsubscribe, erasure); return how many. Filters combine."""
    if to_address is None and dedupe_keys is None and registration_id is None:
        raise ValueError("cancel_pending needs at least one filter")
    conditions = [OutboxMessage.status == OutboxStatus.PENDING]
    if to_address is not None:
        conditions.append(OutboxMessage.to_address == to_address)
    if registration_id is not None:
        conditions.append(OutboxMessage.registration_id == registration_id)
    statement = update(OutboxMessage).values(status=OutboxStatus.CANCELLED)
    if dedupe_keys is None:
        return db.session.execute(statement.where(*conditions)).rowcount
    cancelled = 0
    keys = iter(dedupe_keys)
    while chunk := list(itertools.islice(keys, 500)):
        chunk_statement = statement.where(*conditions, OutboxMessage.dedupe_key.in_(chunk))
        cancelled += db.session.execute(chunk_statement).rowcount
    return cancelled


def count_by_status() -> dict[OutboxStatus, int]:
    """Count the mails in each status, every status present."""
    counts = dict.fromkeys(OutboxStatus, 0)
    rows = db.session.execute(
        select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    )
    for status, count in rows:
        counts[OutboxStatus(status)] = count
    return counts


def retry_failed(message_id: int, now: datetime | None = None) -> bool:
    """Put a failed mail back in the queue, due now, with a fresh allowance of attempts;
    return False when it was not failed (sent meanwhile, already queued again)."""
    result = db.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.FAILED)
        .values(
            status=OutboxStatus.PENDING, due_at=now or now_utc(), attempts=0, lease_expires_at=None
        )
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount == 1
