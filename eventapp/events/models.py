"""The Event model and the queries that list events."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, CheckConstraint, Select, String, Text, select, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventapp.extensions import db
from eventapp.models import now_utc, str_enum

if TYPE_CHECKING:
    from eventapp.speakers.models import EventSpeaker


DEFAULT_REMINDER_OFFSETS = (24 * 60, 60)  # a day and an hour before


class EventKind(enum.StrEnum):
    ONLINE = "online"
    IN_PERSON = "in_person"
    HYBRID = "hybrid"


class EventStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class RegistrationState(enum.StrEnum):
    """Whether the event takes registrations at a given time, and if not, why."""

    OPEN = "open"
    NOT_YET_OPEN = "not_yet_open"
    CLOSED = "closed"
    ENDED = "ended"
    CANCELLED = "cancelled"


class Phase(enum.StrEnum):
    """Where an event stands by the clock: before, during, after, or called off."""

    UPCOMING = "upcoming"
    LIVE = "live"
    ENDED = "ended"
    CANCELLED = "cancelled"


class Offer(enum.StrEnum):
    """What the registration button offers a visitor."""

    REGISTER = "register"  # a seat, or no capacity at all
    WAITLIST = "waitlist"  # full, the waiting list takes the registration
    FULL = "full"  # full, no waiting list
    NONE = "none"  # not open: not yet, closed, ended or cancelled


@dataclass(frozen=True)
class Availability:
    """What the public can do about an event at one moment, from the clock and the seats: a
    query, never a flag a job flips."""

    phase: Phase
    registration: RegistrationState
    seats_left: int | None  # None: the event has no capacity
    waitlist_enabled: bool

    @property
    def offer(self) -> Offer:
        if self.registration != RegistrationState.OPEN:
            return Offer.NONE
        if self.seats_left == 0:
            return Offer.WAITLIST if self.waitlist_enabled else Offer.FULL
        return Offer.REGISTER


class Event(db.Model):
    """A dated event: online, in person or hybrid."""

    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(String(500), default="")
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown
    kind: Mapped[EventKind] = mapped_column(
        str_enum(EventKind, "event_kind"), default=EventKind.ONLINE
    )
    status: Mapped[EventStatus] = mapped_column(
        str_enum(EventStatus, "event_status"), default=EventStatus.DRAFT, index=True
    )
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    venue: Mapped[str] = mapped_column(String(300), default="")
    capacity: Mapped[int | None]
    waitlist_enabled: Mapped[bool] = mapped_column(default=True)
    registration_opens_at: Mapped[datetime | None]
    registration_closes_at: Mapped[datetime | None]
    connection_url: Mapped[str] = mapped_column(String(500), default="")
    connection_url_public: Mapped[bool] = mapped_column(default=False)
    # Minutes before the start at which confirmed registrants get a reminder.
    reminder_offsets: Mapped[list[int]] = mapped_column(
        JSON, default=lambda: list(DEFAULT_REMINDER_OFFSETS)
    )
    # Raised on every change of time or link, so calendars replace the invite they hold.
    ics_sequence: Mapped[int] = mapped_column(default=0)
    # After the event (eventapp.aftermath): the recording's address, public once published, and
    # an optional transcript or captions file stored under a name we generated.
    replay_url: Mapped[str] = mapped_column(String(500), default="")
    replay_published_at: Mapped[datetime | None]
    transcript_file_name: Mapped[str | None] = mapped_column(String(80))
    transcript_file_size: Mapped[int | None]
    # The post-event mails: asked for by an organiser after the preview, then claimed once by a
    # worker (queued_at), which queues them all in the same transaction.
    aftermath_requested_at: Mapped[datetime | None]
    aftermath_queued_at: Mapped[datetime | None]
    # The satisfaction survey after the event (eventapp/surveys): on unless the organiser turns
    # it off; answers are taken until the organiser closes it.
    survey_enabled: Mapped[bool] = mapped_column(default=True, server_default=true())
    survey_closed_at: Mapped[datetime | None]
    # Attestations of presence (eventapp/attestations): off when None, else the minutes in the
    # room that earn one.
    attestation_min_minutes: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc, onupdate=now_utc)

    speaker_links: Mapped[list[EventSpeaker]] = relationship(
        back_populates="event",
        order_by="EventSpeaker.position",
        cascade="all, delete-orphan",
    )

    def __repr__(self) -> str:
        return f"<Event {self.slug}>"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_online(self) -> bool:
        return self.kind in (EventKind.ONLINE, EventKind.HYBRID)

    @property
    def has_replay(self) -> bool:
        """Tell whether the recording is published."""
        return bool(self.replay_url and self.replay_published_at)

    @property
    def public_connection_url(self) -> str | None:
        """Return the video-conference URL only when the organiser chose to publish it."""
        if self.connection_url_public and self.is_online and self.connection_url:
            return self.connection_url
        return None

    def registration_state(self, now: datetime | None = None) -> RegistrationState:
        """Tell whether registration is open at `now`, and if not, why."""
        return self.window().state(now or now_utc())

    def phase(self, now: datetime) -> Phase:
        """Tell whether the event is still to come, running, over or cancelled at `now`."""
        if self.status == EventStatus.CANCELLED:
            return Phase.CANCELLED
        if now >= self.ends_at:
            return Phase.ENDED
        return Phase.LIVE if now >= self.starts_at else Phase.UPCOMING

    def availability(self, confirmed: int, now: datetime) -> Availability:
        """Return what the public can do, given the number of confirmed seats."""
        seats_left = None if self.capacity is None else max(self.capacity - confirmed, 0)
        return Availability(
            self.phase(now), self.registration_state(now), seats_left, self.waitlist_enabled
        )

    def next_public_change(self, now: datetime) -> datetime | None:
        """Return the next moment the public page changes by the clock alone: the registration
        window moves, or the event starts."""
        moments = [self.window().next_change(now)]
        if self.status != EventStatus.CANCELLED and self.starts_at > now:
            moments.append(self.starts_at)
        return min((moment for moment in moments if moment), default=None)

    def window(self) -> RegistrationWindow:
        return RegistrationWindow(
            self.status, self.ends_at, self.registration_opens_at, self.registration_closes_at
        )


@dataclass(frozen=True)
class RegistrationWindow:
    """What decides whether an event takes registrations, apart from the event itself."""

    status: EventStatus
    ends_at: datetime
    opens_at: datetime | None
    closes_at: datetime | None

    def state(self, now: datetime) -> RegistrationState:
        if self.status == EventStatus.CANCELLED:
            return RegistrationState.CANCELLED
        if now >= self.ends_at:
            return RegistrationState.ENDED
        if self.opens_at and now < self.opens_at:
            return RegistrationState.NOT_YET_OPEN
        if self.closes_at and now >= self.closes_at:
            return RegistrationState.CLOSED
        return RegistrationState.OPEN

    def next_change(self, now: datetime) -> datetime | None:
        """Return the next moment the state changes by the clock alone (None: it never will)."""
        if self.status == EventStatus.CANCELLED:
            return None
        moments = (self.opens_at, self.closes_at, self.ends_at)
        return min((moment for moment in moments if moment and moment > now), default=None)


def visible_events() -> Select[tuple[Event]]:
    """Select the events the public may see: published or cancelled, never drafts."""
    return select(Event).where(Event.status != EventStatus.DRAFT)


def upcoming_events(now: datetime) -> Select[tuple[Event]]:
    """Select public events not yet over, soonest first."""
    return visible_events().where(Event.ends_at > now).order_by(Event.starts_at, Event.id)


def past_events(now: datetime) -> Select[tuple[Event]]:
    """Select public events already over, latest first."""
    return visible_events().where(Event.ends_at <= now).order_by(Event.starts_at.desc(), Event.id)
