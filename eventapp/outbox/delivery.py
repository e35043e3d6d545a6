"""Claim due mail under a lease and send it through Flask-Mail over one reused SMTP connection.

What holds:
- A row is marked sent in its own commit right after the relay accepted it. A worker killed at
  any moment re-sends at most the one message whose final reply it was waiting for (if the relay
  had taken it, the copy carries the same Message-ID, so the receiver can drop it).
- A row held by a dead worker is claimed again when its lease runs out. A live worker starts a
  message only while its lease still covers a whole SMTP exchange, so it never races the next
  claimant; on PostgreSQL, SKIP LOCKED gives concurrent workers disjoint batches.
- Only the batch in hand is in memory, whatever the size of the outbox.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from flask import current_app, g
from sqlalchemy import Connection, and_, bindparam, func, literal_column, or_, select, update

from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.outbox.mime import MailAddress, build_mime, configured_address
from eventapp.outbox.models import OutboxMessage, OutboxStatus
from eventapp.outbox.relay import Relay, RelayUnavailable, describe, smtp_code
from eventapp.outbox.render import mail_organisation

log = logging.getLogger(__name__)

outbox = OutboxMessage.__table__


class DeliveryReport:
    def __init__(self) -> None:
        self.claimed = self.sent = self.retried = self.failed = self.released = 0
        self.relay_error: str | None = None  # no session could be opened: the round stopped
        # The relay's own refusal (no session, a network error, 421, a 4xx to MAIL FROM) if it
        # was the last word of the round: the relay, not a recipient, is failing.
        self.relay_refusal: str | None = None

    def __repr__(self) -> str:
        return (
            f"<DeliveryReport claimed={self.claimed} sent={self.sent} retried={self.retried} "
            f"failed={self.failed} released={self.released} relay_error={self.relay_error!r}>"
        )


class Envelope(NamedTuple):
    sender: MailAddress
    reply_to: MailAddress


def mail_envelope() -> Envelope:
    """Return From (config's address, the organisation's name) and the default Reply-To."""
    config = current_app.config
    g.pop("organisation", None)  # a long-running worker sees a renamed organisation
    organisation = mail_organisation()
    sender = configured_address(config["MAIL_DEFAULT_SENDER"], organisation.name)
    reply_to = config.get("MAIL_REPLY_TO") or organisation.email or sender.addr
    envelope = Envelope(sender, configured_address(reply_to))
    db.session.rollback()  # no transaction left open while the batch is sent
    return envelope


def backoff(attempts: int) -> timedelta:
    """Wait twice as long after each failed attempt, up to the configured cap."""
    config = current_app.config
    seconds = config["OUTBOX_BACKOFF_BASE_SECONDS"] * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, config["OUTBOX_BACKOFF_MAX_SECONDS"]))


# Statuses written as literals: a planner matches them to the partial indexes, not a parameter.
_PENDING = outbox.c.status == literal_column("'pending'")
_SENDING = outbox.c.status == literal_column("'sending'")


def _due(now: datetime) -> Any:
    return or_(
        and_(_PENDING, outbox.c.due_at <= now),
        # Its worker died or stalled: the lease ran out without an outcome.
        and_(_SENDING, outbox.c.lease_expires_at <= now),
    )


def count_due(now: datetime | None = None) -> int:
    """Count the rows a worker would claim now."""
    statement = select(func.count()).select_from(outbox).where(_due(now or now_utc()))
    return db.session.scalar(statement) or 0


def claim_batch(connection: Connection, now: datetime, size: int) -> list[int]:
    """Lease up to `size` due rows to this worker and return their ids; the caller commits.

    Rows whose lease ran out come first, then pending rows, oldest due first. Each query walks
    its partial index in order and stops at `size`, however long the queue. On PostgreSQL,
    SKIP LOCKED lets concurrent workers take disjoint batches without waiting for each other.
    """
    lease = timedelta(seconds=current_app.config["OUTBOX_LEASE_SECONDS"])
    claimed: list[int] = []
    for condition, order in (
        (and_(_SENDING, outbox.c.lease_expires_at <= now), outbox.c.lease_expires_at),
        (and_(_PENDING, outbox.c.due_at <= now), outbox.c.due_at),
    ):
        wanted = size - len(claimed)
        if wanted <= 0:
            break
        due = (
            select(outbox.c.id)
            .where(condition)
            .order_by(order, outbox.c.id)
            .limit(wanted)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite serialises writers anyway
        )
        claim = (
            update(outbox)
            .where(outbox.c.id.in_(due.scalar_subquery()))
            .values(
                status=OutboxStatus.SENDING,
                lease_expires_at=now + lease,
                # A claim counts as an attempt: a mail that kills its worker every time runs out
                # of attempts instead of looping for ever. Rows given back untried get it back.
                attempts=outbox.c.attempts + 1,
            )
            .returning(outbox.c.id)
        )
        claimed += connection.scalars(claim)
    return sorted(claimed)


# Built once: a statement caches its compiled form.
_by_id = update(outbox).where(outbox.c.id == bindparam("row_id"))
MARK_RETRY = _by_id.values(
    status=OutboxStatus.PENDING,
    due_at=bindparam("at"),
    last_error=bindparam("error"),
    lease_expires_at=None,
)
MARK_FAILED = _by_id.values(
    status=OutboxStatus.FAILED, last_error=bindparam("error"), lease_expires_at=None
)


class _SentMarks:
    """Mark mails sent with the driver's own cursor: the worker's one statement per mail costs a
    third of what it does through SQLAlchemy's execution machinery, which matters in a fan-out.
    """

    def __init__(self, connection: Connection) -> None:
        dialect = connection.dialect
        self.dbapi_connection = connection.connection.dbapi_connection
        self.to_db = outbox.c.sent_at.type.bind_processor(dialect) or (lambda value: value)
        at, row_id = (
            ("%(at)s", "%(row_id)s") if dialect.paramstyle == "pyformat" else (":at", ":row_id")
        )
        self.sql = (
            f"UPDATE {outbox.name} SET status = 'sent', sent_at = {at}, last_error = NULL, "
            f"lease_expires_at = NULL WHERE id = {row_id}"
        )

    def __call__(self, row_id: int, at: datetime) -> None:
        """Mark one mail sent and commit (no SQLAlchemy transaction is open on the connection)."""
        cursor = self.dbapi_connection.cursor()
        try:
            cursor.execute(self.sql, {"at": self.to_db(at), "row_id": row_id})
        finally:
            cursor.close()
        self.dbapi_connection.commit()


class Courier:
    """Deliver due mail over one database connection and one SMTP connection."""

    def __init__(
        self,
        *,
        clock: Callable[[], datetime] = now_utc,
        stop: threading.Event | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        self.clock = clock
        self.stop = stop or threading.Event()
        self.on_progress = on_progress
        self.relay = Relay()

    def close(self) -> None:
        """Close the SMTP connection (the next delivery opens a new one)."""
        self.relay.close()

    def deliver(self, max_batches: int | None = None) -> DeliveryReport:
        """Send what is due, batch after batch, until nothing is due (or `max_batches`, or stop)."""
        report = DeliveryReport()
        config = current_app.config
        envelope = mail_envelope()
        with db.engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                # No fsync per mark: a commit still survives a killed worker; only a power cut
                # could lose the last marks, and those mails would go out again.
                connection.exec_driver_sql("PRAGMA synchronous=NORMAL")
            batches = 0
            while not self.stop.is_set() and (max_batches is None or batches < max_batches):
                row_ids = claim_batch(connection, self.clock(), config["OUTBOX_BATCH_SIZE"])
                connection.commit()
                if not row_ids:
                    break
                batches += 1
                report.claimed += len(row_ids)
                self._send_batch(connection, envelope, row_ids, report)
                if report.relay_error:
                    break
        return report

    def _send_batch(
        self, connection: Connection, envelope: Envelope, row_ids: list[int], report: DeliveryReport
    ) -> None:
        config = current_app.config
        max_attempts = config["OUTBOX_MAX_ATTEMPTS"]
        # Start a message only while the lease covers a whole SMTP exchange.
        margin = timedelta(
            seconds=min(config["OUTBOX_SMTP_TIMEOUT_SECONDS"], config["OUTBOX_LEASE_SECONDS"] / 2)
        )
        rows = connection.execute(
            select(outbox).where(outbox.c.id.in_(row_ids)).order_by(outbox.c.id)
        ).all()
        connection.commit()  # no transaction open while talking SMTP

        mark_sent = _SentMarks(connection)
        accepted: list[tuple[int, datetime]] = []  # at most one mail, its "sent" not committed yet

        def mark_accepted() -> None:
            # Run by the relay while it reads the next MAIL command: the commit costs no time,
            # and it is in before the next mail can be accepted, so a kill loses at most one.
            while accepted:
                mark_sent(*accepted.pop())

        def mark(statement: Any, row_id: int, **values: Any) -> None:
            mark_accepted()  # outcomes are written in the order they happened
            connection.execute(statement, {"row_id": row_id, **values})
            connection.commit()

        try:
            for index, row in enumerate(rows):
                now = self.clock()
                if self.stop.is_set() or now + margin >= row.lease_expires_at:
                    report.released += self._release(connection, [r.id for r in rows[index:]])
                    return
                if row.attempts > max_attempts:
                    mark(MARK_FAILED, row.id, error="gave up: its worker died every time")
                    report.failed += 1
                    continue
                try:
                    data = build_mime(
                        row, sender=envelope.sender, reply_to=envelope.reply_to, date=now
                    )
                except (ValueError, UnicodeError) as error:  # a row no relay could take
                    mark(MARK_FAILED, row.id, error=f"cannot be written as MIME: {error}"[:1000])
                    report.failed += 1
                    continue
                try:
                    self.relay.send(envelope.sender.addr, row.to_address, data, mark_accepted)
                except RelayUnavailable as error:
                    # Logged by the worker once per outage (outbox/health.py), not per round.
                    report.relay_error = report.relay_refusal = str(error)
                    report.released += self._release(connection, [r.id for r in rows[index:]])
                    return
                except (OSError, smtplib.SMTPException) as error:
                    self._record_failure(row, error, mark, report)
                else:
                    accepted.append((row.id, self.clock()))
                    report.sent += 1
                    report.relay_refusal = None
                if self.on_progress is not None:
                    self.on_progress(1)
        finally:
            mark_accepted()

    def _record_failure(
        self, row: Any, error: BaseException, mark: Callable[..., None], report: DeliveryReport
    ) -> None:
        """Retry later after a 4xx reply or a network error; fail for good after a 5xx."""
        code, reason = smtp_code(error), describe(error)
        if code is None or code == 421 or self.relay.broken:
            self.relay.close()  # reconnect for the next message
        sender_refused = isinstance(error, smtplib.SMTPSenderRefused)
        if code is None or code == 421 or (sender_refused and 400 <= code < 500):
            report.relay_refusal = reason
        if code is not None and 500 <= code < 600:
            log.warning("outbox: %s refused for good: %s", row.dedupe_key, reason)
            mark(MARK_FAILED, row.id, error=reason)
            report.failed += 1
        elif row.attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
            log.warning(
                "outbox: %s failed after %d attempts: %s", row.dedupe_key, row.attempts, reason
            )
            mark(MARK_FAILED, row.id, error=reason)
            report.failed += 1
        else:
            mark(MARK_RETRY, row.id, at=self.clock() + backoff(row.attempts), error=reason)
            report.retried += 1

    @staticmethod
    def _release(connection: Connection, row_ids: list[int]) -> int:
        """Give back rows claimed but not tried, with their attempt."""
        connection.execute(
            update(outbox)
            .where(outbox.c.id.in_(row_ids), outbox.c.status == OutboxStatus.SENDING)
            .values(
                status=OutboxStatus.PENDING, lease_expires_at=None, attempts=outbox.c.attempts - 1
            )
        )
        connection.commit()
        return len(row_ids)


def deliver_due(
    *,
    clock: Callable[[], datetime] = now_utc,
    stop: threading.Event | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> DeliveryReport:
    """Send everything due now over one SMTP connection, then close it."""
    courier = Courier(clock=clock, stop=stop, on_progress=on_progress)
    try:
        return courier.deliver()
    finally:
        courier.close()
