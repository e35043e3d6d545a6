"""An event's room (a link, or a BigBlueButton meeting eventapp opens) and the presence in it."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from eventapp.extensions import db
from eventapp.models import str_enum


class RoomKind(enum.StrEnum):
    LINK = "link"  # a URL the organiser pastes (Zoom, Teams, Visio, Jitsi…): Event.connection_url
    BBB = "bbb"  # a BigBlueButton meeting that eventapp creates, joins people to and watches


class EventRoom(db.Model):
    """How an event's room is opened, and what the worker last saw of a BigBlueButton one."""

    __tablename__ = "event_rooms"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[RoomKind] = mapped_column(str_enum(RoomKind, "room_kind"), default=RoomKind.LINK)
    # A name among BBB_SERVERS: the URL and the secret stay in the configuration.
    server: Mapped[str | None] = mapped_column(String(50))
    record: Mapped[bool] = mapped_column(default=False)
    created_on_server_at: Mapped[datetime | None]  # the meeting exists on the server
    polled_at: Mapped[datetime | None]  # the worker's last look at the running meeting
    ended_at: Mapped[datetime | None]  # the meeting ended (callback or poll): no more polling
    recordings_checked_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    last_error_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<EventRoom {self.event_id} {self.kind}>"


class PresenceSource(enum.StrEnum):
    ROOM = "room"  # seen in the BigBlueButton meeting by the worker
    REPORT = "report"  # imported from the platform's attendance report
    MANUAL = "manual"  # marked by an organiser


class PresenceSpan(db.Model):
    """One stretch of time a registrant was in the room; open (no left_at) while they are."""

    __tablename__ = "presence_spans"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    source: Mapped[PresenceSource] = mapped_column(str_enum(PresenceSource, "presence_source"))
    joined_at: Mapped[datetime]
    left_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<PresenceSpan {self.registration_id} {self.joined_at}–{self.left_at}>"
