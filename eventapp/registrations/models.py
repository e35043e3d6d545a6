"""Registrations and the hashed tokens of their personal links."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.models import now_utc, str_enum


class RegistrationStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"


class TokenPurpose(enum.StrEnum):
    """What a link's secret opens; one purpose never opens another."""

    MANAGE = "manage"  # the attendee space, /r/<token>
    JOIN = "join"  # the connection link, /j/<token>
    SURVEY = "survey"  # the satisfaction survey after the event, /s/<token>


ACTIVE_STATUSES = (RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED)
# The same statuses in SQL: the condition of the unique index on active addresses.
ACTIVE_CONDITION = "status IN ('confirmed', 'waitlisted')"


class Registration(db.Model):
    """One person's registration to one event."""

    __tablename__ = "registrations"
    __table_args__ = (
        # One active registration per address and event, whatever the race: the database decides.
        Index(
            "uq_registrations_active_email",
            "event_id",
            "email_key",
            unique=True,
            sqlite_where=text(ACTIVE_CONDITION),
            postgresql_where=text(ACTIVE_CONDITION),
        ),
        Index("ix_registrations_event_status", "event_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    status: Mapped[RegistrationStatus] = mapped_column(
        str_enum(RegistrationStatus, "registration_status")
    )
    full_name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    # The address folded for comparison; NULL once the registration is erased.
    email_key: Mapped[str | None] = mapped_column(String(320))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    category: Mapped[str] = mapped_column(String(40), default="")
    locale: Mapped[str] = mapped_column(String(10), default="fr")
    wants_followups: Mapped[bool] = mapped_column(default=False)
    followups_changed_at: Mapped[datetime | None]
    utm: Mapped[dict[str, str]] = mapped_column(db.JSON, default=dict)
    referrer: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=now_utc, index=True)
    confirmed_at: Mapped[datetime | None]
    # When the form last mailed this person their links: a re-post within
    # REGISTRATION_LINKS_RESEND_MINUTES mails nothing (and mints nothing).
    links_sent_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]
    # Clicks on the connection link (a mail scanner's fetch is not counted: rooms/presence.py).
    first_joined_at: Mapped[datetime | None]
    last_joined_at: Mapped[datetime | None]
    # Minutes in the room, measured (BigBlueButton), imported (a platform's report) or marked by
    # an organiser: the best the app has, kept up to date from the registration's presence spans.
    minutes_present: Mapped[int | None]

    event: Mapped[Event] = relationship()
    tokens: Mapped[list[RegistrationToken]] = relationship(
        back_populates="registration", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Registration {self.id} {self.status}>"


class RegistrationToken(db.Model):
    """The SHA-256 of one secret link; the secret itself is only ever in the mail."""

    __tablename__ = "registration_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[TokenPurpose] = mapped_column(str_enum(TokenPurpose, "token_purpose"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    registration: Mapped[Registration] = relationship(back_populates="tokens")
