"""Press releases, press contacts, their files, and the inquiries journalists send."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Column,
    ColumnElement,
    ForeignKey,
    Select,
    String,
    Table,
    Text,
    and_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.models import now_utc, str_enum

press_release_contacts = Table(
    "press_release_contacts",
    db.metadata,
    Column("release_id", ForeignKey("press_releases.id", ondelete="CASCADE"), primary_key=True),
    Column("contact_id", ForeignKey("press_contacts.id", ondelete="CASCADE"), primary_key=True),
)


class PressContact(db.Model):
    """Someone journalists can reach: shown on releases, in the press room and as a vCard."""

    __tablename__ = "press_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(200), default="")
    organisation: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(40), default="")  # as written: "07 81 50 06 46"
    social_handle: Mapped[str] = mapped_column(String(100), default="")
    social_url: Mapped[str] = mapped_column(String(300), default="")
    street: Mapped[str] = mapped_column(String(300), default="")
    postcode: Mapped[str] = mapped_column(String(20), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    country: Mapped[str] = mapped_column(String(100), default="")
    # Default contacts answer for releases that name none, and for general inquiries.
    is_default: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    def __repr__(self) -> str:
        return f"<PressContact {self.email}>"

    @property
    def address(self) -> str:
        """Return the postal address on one line: "La Grappe, 75 rue Léon Gambetta, 59000 Lille"."""
        town = " ".join(part for part in (self.postcode, self.city) if part)
        return ", ".join(part for part in (self.street, town) if part)


class PressRelease(db.Model):
    """A dated text for the press, public from `published_at` on (a draft while that is None)."""

    __tablename__ = "press_releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500), default="")  # the sharing description
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown
    dateline_place: Mapped[str] = mapped_column(String(100), default="")
    dateline_date: Mapped[date]
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="SET NULL"), index=True
    )
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    image_filename: Mapped[str | None] = mapped_column(String(100))
    image_alt: Mapped[str] = mapped_column(String(300), default="")
    image_width: Mapped[int | None]
    image_height: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    event: Mapped[Event | None] = relationship()
    contacts: Mapped[list[PressContact]] = relationship(
        secondary=press_release_contacts,
        order_by=(PressContact.position, PressContact.name),
    )
    attachments: Mapped[list[PressAttachment]] = relationship(
        back_populates="release",
        order_by="PressAttachment.position, PressAttachment.id",
        cascade="all, delete-orphan",
    )

    def __repr__(self) -> str:
        return f"<PressRelease {self.slug}>"

    def is_published(self, now: datetime) -> bool:
        """Tell whether the public may read this release at `now`."""
        return self.published_at is not None and self.published_at <= now

    @classmethod
    def published_by(cls, now: datetime) -> ColumnElement[bool]:
        """Return the SQL condition "public at `now`": scheduled, and its embargo is over."""
        return and_(cls.published_at.is_not(None), cls.published_at <= now)


class PressAttachment(db.Model):
    """A file offered for download with a release, such as the press kit PDF."""

    __tablename__ = "press_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(
        ForeignKey("press_releases.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    original_name: Mapped[str] = mapped_column(String(255))  # offered as the download name
    stored_name: Mapped[str] = mapped_column(String(100), unique=True)  # generated by us
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int]
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    release: Mapped[PressRelease] = relationship(back_populates="attachments")


class InquiryStatus(enum.StrEnum):
    NEW = "new"
    HANDLED = "handled"


class PressInquiry(db.Model):
    """A journalist's message to the press team, kept until an organiser handles it."""

    __tablename__ = "press_inquiries"

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int | None] = mapped_column(
        ForeignKey("press_releases.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    outlet: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(40), default="")
    subject: Mapped[str] = mapped_column(String(200))
    message: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(10), default="fr")  # the acknowledgement's language
    status: Mapped[InquiryStatus] = mapped_column(
        str_enum(InquiryStatus, "press_inquiry_status"), default=InquiryStatus.NEW, index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=now_utc, index=True)
    handled_at: Mapped[datetime | None]

    release: Mapped[PressRelease | None] = relationship()

    def __repr__(self) -> str:
        return f"<PressInquiry {self.id} {self.status}>"


def published_releases(now: datetime) -> Select[tuple[PressRelease]]:
    """Select the releases the public may read at `now`, newest first."""
    return (
        select(PressRelease)
        .where(PressRelease.published_by(now))
        .order_by(
            PressRelease.dateline_date.desc(),
            PressRelease.published_at.desc(),
            PressRelease.id.desc(),
        )
    )
