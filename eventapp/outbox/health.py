"""The worker's health as the back office and monitoring see it: a heartbeat, and the relay's
outage from its first refusal, logged once and then every few minutes rather than per mail."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from eventapp.extensions import db
from eventapp.outbox.delivery import DeliveryReport
from eventapp.outbox.models import OutboxMessage, OutboxStatus, WorkerStatus

log = logging.getLogger(__name__)

status_table = WorkerStatus.__table__
ROW = 1


def _write(**values) -> None:
    """Set columns of the one status row, creating it the first time; the caller commits."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # Two workers starting together both insert; the second one's insert does nothing.
    db.session.execute(insert(status_table).values(id=ROW).on_conflict_do_nothing())
    db.session.execute(update(status_table).where(status_table.c.id == ROW).values(values))


def _row_says_failing() -> datetime | None:
    return db.session.scalar(
        select(status_table.c.relay_failing_since).where(status_table.c.id == ROW)
    )


def mails_waiting() -> int:
    """Count the mails not sent yet: waiting for their time, or claimed by a worker."""
    waiting = OutboxMessage.status.in_([OutboxStatus.PENDING, OutboxStatus.SENDING])
    return db.session.scalar(select(func.count()).select_from(OutboxMessage).where(waiting)) or 0


@dataclass(frozen=True)
class Health:
    """What an organiser needs to know: is the worker alive, is the relay taking mail."""

    seen_at: datetime | None
    worker_silent: bool
    relay_failing_since: datetime | None
    relay_error: str | None


def current_health(now: datetime) -> Health:
    """Read the status row: silent means no round for WORKER_SILENCE_MINUTES (or never)."""
    row = db.session.execute(select(status_table).where(status_table.c.id == ROW)).first()
    silence = timedelta(minutes=current_app.config["WORKER_SILENCE_MINUTES"])
    seen_at = row.seen_at if row else None
    return Health(
        seen_at=seen_at,
        worker_silent=seen_at is None or now - seen_at > silence,
        relay_failing_since=row.relay_failing_since if row else None,
        relay_error=row.relay_error if row else None,
    )


class WorkerHealth:
    """Kept by one worker process: when it last wrote its heartbeat, and what it knows of the
    relay, so that it writes and logs on a change, not on every round."""

    def __init__(self) -> None:
        self.beat_at: datetime | None = None
        self.relay_failing_since: datetime | None = None
        self.relay_error: str | None = None
        self.logged_at: datetime | None = None

    def beat(self, now: datetime) -> None:
        """Write that this worker runs, at most every WORKER_HEARTBEAT_SECONDS; commits."""
        every = timedelta(seconds=current_app.config["WORKER_HEARTBEAT_SECONDS"])
        if self.beat_at is not None and now - self.beat_at < every:
            return
        _write(seen_at=now)
        db.session.commit()
        self.beat_at = now

    def after_delivery(self, report: DeliveryReport, now: datetime) -> None:
        """Note what the round said of the relay: a refusal, an acceptance, or nothing; commits."""
        if report.relay_refusal is not None:
            self._refused(report.relay_refusal, now)
        elif report.sent and (self.relay_failing_since is not None or _row_says_failing()):
            self._accepted(now)  # also when another worker saw the refusal

    def _refused(self, error: str, now: datetime) -> None:
        every = timedelta(minutes=current_app.config["RELAY_OUTAGE_LOG_MINUTES"])
        if self.relay_failing_since is None:
            self.relay_failing_since, self.relay_error, self.logged_at = now, error, now
            # Another worker may have seen it first: keep the earliest moment.
            earlier = _row_says_failing()
            if earlier is not None:
                self.relay_failing_since = min(earlier, now)
            _write(relay_failing_since=self.relay_failing_since, relay_error=error)
            db.session.commit()
            log.warning("outbox: the relay refuses: %s; %d mails waiting", error, mails_waiting())
            return
        if error != self.relay_error:
            self.relay_error = error
            _write(relay_error=error)
            db.session.commit()
        if now - self.logged_at >= every:
            self.logged_at = now
            minutes = (now - self.relay_failing_since).total_seconds() / 60
            log.warning(
                "outbox: the relay still refuses, for %.0f min: %s; %d mails waiting",
                minutes,
                error,
                mails_waiting(),
            )

    def _accepted(self, now: datetime) -> None:
        since = self.relay_failing_since or _row_says_failing() or now
        minutes = (now - since).total_seconds() / 60
        self.relay_failing_since = self.relay_error = self.logged_at = None
        _write(relay_failing_since=None, relay_error=None)
        db.session.commit()
        log.warning(
            "outbox: the relay accepts mail again after %.0f min; %d mails waiting",
            minutes,
            mails_waiting(),
        )
