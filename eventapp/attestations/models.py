"""An attestation of presence: who, which event, how many minutes, and the hash of its code."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from eventapp.extensions import db
from eventapp.models import now_utc


class Attestation(db.Model):
    """Issued to one registration; its verification code is derived from a nonce and the secret
    key when the PDF is drawn, and only its hash is kept, to find it from the public page."""

    __tablename__ = "attestations"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), unique=True
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    code_nonce: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # What the attestation says, as issued: a later change of name or of presence does not
    # rewrite a document already handed out.
    full_name: Mapped[str] = mapped_column(String(200))
    minutes: Mapped[int]
    issued_at: Mapped[datetime] = mapped_column(default=now_utc)
    issued_by_hand: Mapped[bool] = mapped_column(default=False)
    revoked_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<Attestation {self.id} registration={self.registration_id}>"
