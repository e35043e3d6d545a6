"""Kits, their numbered sheets, kit-only subscribers and the hashed one-click unsubscribe tokens."""

from __future__ import annotations

import enum
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ColumnElement,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.models import now_utc, str_enum
from eventapp.text import slugify

kit_events = Table(
    "kit_events",
    db.metadata,
    Column("kit_id", ForeignKey("kits.id", ondelete="CASCADE"), primary_key=True),
    Column("event_id", ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
)


class Kit(db.Model):
    """A series of numbered sheets released on a calendar, tied to one or more events."""

    __tablename__ = "kits"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown
    # A kit in preparation stays out of the public pages until an organiser publishes it.
    published: Mapped[bool] = mapped_column(default=False)
    # Whether the coming sheets show their titles, or only "coming on <date>".
    show_upcoming_titles: Mapped[bool] = mapped_column(default=True)
    # Release dates are laid out and written in this time zone.
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc)

    events: Mapped[list[Event]] = relationship(secondary=kit_events, order_by=Event.starts_at)
    sheets: Mapped[list[Sheet]] = relationship(
        back_populates="kit", order_by="Sheet.number", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Kit {self.slug}>"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Sheet(db.Model):
    """One numbered document of a kit, public from `release_at` on (never while it is None)."""

    __tablename__ = "kit_sheets"
    __table_args__ = (
        UniqueConstraint("kit_id", "number"),
        CheckConstraint("number > 0", name="number_positive"),
        CheckConstraint("download_count >= 0", name="download_count_not_negative"),
        # What the release job looks for: released sheets not yet announced.
        Index("ix_kit_sheets_notified_at_release_at", "notified_at", "release_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The unique (kit_id, number) index serves the look-ups by kit.
    kit_id: Mapped[int] = mapped_column(ForeignKey("kits.id", ondelete="CASCADE"))
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    themes: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The PDF, stored in the upload folder under a name we generated; None until uploaded.
    file_name: Mapped[str | None] = mapped_column(String(80))
    file_size: Mapped[int | None]
    # The accessible version: Markdown shown as HTML on the sheet's page, and/or a tagged PDF.
    accessible_body: Mapped[str] = mapped_column(Text, default="")
    accessible_file_name: Mapped[str | None] = mapped_column(String(80))
    accessible_file_size: Mapped[int | None]
    release_at: Mapped[datetime | None] = mapped_column(index=True)
    # Set once, when the follow-ups were queued; a later change of release_at sends nothing again.
    notified_at: Mapped[datetime | None]
    download_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    # When an organiser last changed the content (not the counters): the feed's <updated>.
    updated_at: Mapped[datetime] = mapped_column(default=now_utc)

    kit: Mapped[Kit] = relationship(back_populates="sheets")

    def __repr__(self) -> str:
        return f"<Sheet {self.kit_id}#{self.number}>"

    @classmethod
    def released(cls, now: datetime) -> ColumnElement[bool]:
        """Return the SQL condition "public at `now`"."""
        return and_(cls.release_at.is_not(None), cls.release_at <= now)

    def is_released(self, now: datetime) -> bool:
        """Tell whether the sheet is public at `now`."""
        return self.release_at is not None and self.release_at <= now

    @property
    def download_name(self) -> str:
        """Return the file name offered for download: "fiche-07-tourisme-et-ess.pdf"."""
        return f"fiche-{self.number:02d}-{slugify(self.title) or 'document'}.pdf"

    @property
    def accessible_download_name(self) -> str:
        return f"fiche-{self.number:02d}-{slugify(self.title) or 'document'}-accessible.pdf"


class SubscriptionStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for the click in the confirmation mail
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"


class KitSubscriber(db.Model):
    """Someone who subscribed to a kit alone, with double opt-in."""

    __tablename__ = "kit_subscribers"
    __table_args__ = (
        # One row per address and kit; an unsubscribed row forgets its address (NULL key).
        Index("uq_kit_subscribers_kit_id_email_key", "kit_id", "email_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kit_id: Mapped[int] = mapped_column(ForeignKey("kits.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    email_key: Mapped[str | None] = mapped_column(String(320))
    locale: Mapped[str] = mapped_column(String(10), default="fr")
    status: Mapped[SubscriptionStatus] = mapped_column(
        str_enum(SubscriptionStatus, "kit_subscription_status"), default=SubscriptionStatus.PENDING
    )
    # SHA-256 of the secret in the confirmation mail; the secret itself is never stored.
    confirm_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    confirm_sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    # The subscription starts here: no sheet released earlier is ever sent.
    confirmed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]

    kit: Mapped[Kit] = relationship()

    def __repr__(self) -> str:
        return f"<KitSubscriber {self.id} {self.status}>"


class UnsubscribeToken(db.Model):
    """The SHA-256 of the one-click unsubscribe secret in one follow-up mail."""

    __tablename__ = "kit_unsubscribe_tokens"
    __table_args__ = (
        CheckConstraint(
            "(registration_id IS NULL) <> (subscriber_id IS NULL)", name="one_subscriber"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kit_id: Mapped[int] = mapped_column(ForeignKey("kits.id", ondelete="CASCADE"))
    # Exactly one of these: a registrant of the kit's events, or a kit-only subscriber.
    registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE")
    )
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("kit_subscribers.id", ondelete="CASCADE")
    )
    sheet_id: Mapped[int | None] = mapped_column(ForeignKey("kit_sheets.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    kit: Mapped[Kit] = relationship()
