"""Speakers and their ordered place on events."""

from __future__ import annotations

import enum

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.models import str_enum


class SpeakerRole(enum.StrEnum):
    SPEAKER = "speaker"
    MODERATOR = "moderator"
    HOST = "host"
    PANELIST = "panelist"


class Speaker(db.Model):
    """A person shown on events, with the role line under their name."""

    __tablename__ = "speakers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role_line: Mapped[str] = mapped_column(String(300), default="")
    organisation: Mapped[str] = mapped_column(String(200), default="")
    bio: Mapped[str] = mapped_column(Text, default="")  # Markdown
    photo_filename: Mapped[str | None] = mapped_column(String(200))
    links: Mapped[list[str]] = mapped_column(JSON, default=list)

    event_links: Mapped[list[EventSpeaker]] = relationship(
        back_populates="speaker", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Speaker {self.name}>"


class EventSpeaker(db.Model):
    """One speaker on one event, at a display position, with a role at that event."""

    __tablename__ = "event_speakers"
    __table_args__ = (UniqueConstraint("event_id", "speaker_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    speaker_id: Mapped[int] = mapped_column(
        ForeignKey("speakers.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    role: Mapped[SpeakerRole] = mapped_column(
        str_enum(SpeakerRole, "speaker_role"), default=SpeakerRole.SPEAKER
    )

    event: Mapped[Event] = relationship(back_populates="speaker_links")
    speaker: Mapped[Speaker] = relationship(back_populates="event_links")
