"""One row per mail: what to send, to whom, and where its delivery stands."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from eventapp.extensions import db
from eventapp.models import now_utc, str_enum


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for due_at
    SENDING = "sending"  # claimed by a worker until lease_expires_at
    SENT = "sent"
    FAILED = "failed"  # refused for good, or out of attempts
    CANCELLED = "cancelled"  # withdrawn before sending (unsubscribe, erasure)


class OutboxMessage(db.Model):
    """A mail, rendered when queued and kept whole so that any worker can send it later."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        # What the worker claims on: due pending rows, and rows whose worker's lease ran out.
        # Partial, so that the sent rows piling up stay out of them and marking a row sent
        # touches a single index entry.
        Index(
            "ix_outbox_messages_pending_due_at",
            "due_at",
            "id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_outbox_messages_sending_lease_expires_at",
            "lease_expires_at",
            sqlite_where=text("status = 'sending'"),
            postgresql_where=text("status = 'sending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(50), default="")
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    to_address: Mapped[str] = mapped_column(String(320), index=True)  # erasure looks rows up by it
    # The registration a mail is about, if any: how its history, cancellation and erasure
    # find it (the dedupe key is only ever compared whole). Named by table, not imported.
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registrations.id", ondelete="SET NULL"), index=True
    )
    to_name: Mapped[str] = mapped_column(String(200), default="")
    locale: Mapped[str] = mapped_column(String(10), default="fr")
    subject: Mapped[str] = mapped_column(String(500))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    calendar: Mapped[bytes | None] = mapped_column(LargeBinary)
    calendar_method: Mapped[str | None] = mapped_column(String(20))
    # [{"filename", "content_type", "data" (base64)}]: a JSON value, so a fan-out inserts flat rows.
    attachments: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    reply_to: Mapped[str | None] = mapped_column(String(320))
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus, "outbox_status"), default=OutboxStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime] = mapped_column(default=now_utc)  # the next attempt, not before
    lease_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(1000))
    sent_at: Mapped[datetime | None]
    # Made when queued, so that a retry carries the same Message-ID and receivers can deduplicate.
    message_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    def __repr__(self) -> str:
        return f"<OutboxMessage {self.id} {self.dedupe_key} {self.status}>"


class WorkerStatus(db.Model):
    """What the workers last saw, for the back office and monitoring: one row (id 1), shared by
    every worker, since there is one relay and one queue."""

    __tablename__ = "worker_status"

    id: Mapped[int] = mapped_column(primary_key=True)
    seen_at: Mapped[datetime | None]  # a worker's last round, to the heartbeat's precision
    # The relay's current outage: when it first refused, and its latest reply.
    relay_failing_since: Mapped[datetime | None]
    relay_error: Mapped[str | None] = mapped_column(String(1000))

    def __repr__(self) -> str:
        return (
            f"<WorkerStatus seen_at={self.seen_at} relay_failing_since={self.relay_failing_since}>"
        )
