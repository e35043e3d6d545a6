"""The audit log's table: one row per change, kept for the record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from eventapp.extensions import db
from eventapp.models import now_utc


class AuditLog(db.Model):
    """One change made by an organiser (or a command), kept for the record."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now_utc, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # A copy of the address: the entry still says who once the account is gone.
    user_email: Mapped[str] = mapped_column(String(254), default="")
    action: Mapped[str] = mapped_column(String(60))  # "event.update", "speaker.photo"
    target_type: Mapped[str] = mapped_column(String(40), default="")
    target_id: Mapped[int | None]
    # What was changed: {"label": "Lancement…", "changed": {"capacity": [100, 200]}}
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    def __repr__(self) -> str:
        return f"<AuditLog {self.action} {self.target_type}:{self.target_id}>"
