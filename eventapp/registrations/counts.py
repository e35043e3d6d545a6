"""Counting registrations: per event (confirmed, waiting, cancelled, joined) and per day, the chart
of the back office."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, func, select

from eventapp.events.models import Event, EventStatus
from eventapp.extensions import db
from eventapp.registrations.models import Registration, RegistrationStatus

# --- registration counts ----------------------------------------------------------------------


def _count_when(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def registration_counts_query() -> Any:
    """Return a subquery of counts per event: confirmed, waitlisted, cancelled, joined, total."""
    return (
        select(
            Registration.event_id.label("event_id"),
            _count_when(Registration.status == RegistrationStatus.CONFIRMED).label("confirmed"),
            _count_when(Registration.status == RegistrationStatus.WAITLISTED).label("waitlisted"),
            _count_when(Registration.status == RegistrationStatus.CANCELLED).label("cancelled"),
            _count_when(Registration.first_joined_at.is_not(None)).label("joined"),
            func.count().label("total"),
        )
        .group_by(Registration.event_id)
        .subquery("registration_counts")
    )


@dataclass
class Counts:
    confirmed: int = 0
    waitlisted: int = 0
    cancelled: int = 0
    joined: int = 0
    total: int = 0

    def fill_rate(self, capacity: int | None) -> float | None:
        """Return the share of seats taken (0 to 1), or None without a capacity."""
        if not capacity:
            return None
        return min(self.confirmed / capacity, 1.0)


def _counts(row: Any) -> Counts:
    if row is None or row.total is None:
        return Counts()
    return Counts(
        int(row.confirmed), int(row.waitlisted), int(row.cancelled), int(row.joined), int(row.total)
    )


def event_counts(event: Event) -> Counts:
    """Count an event's registrations by status, and those who joined, in one query."""
    counts = registration_counts_query()
    row = db.session.execute(select(counts).where(counts.c.event_id == event.id)).first()
    return _counts(row)


def events_with_counts(stmt: Select[tuple[Event]]) -> Select[Any]:
    """Add each event's registration counts to a select of events (one query, no N+1)."""
    counts = registration_counts_query()
    return stmt.outerjoin(counts, counts.c.event_id == Event.id).add_columns(
        counts.c.confirmed, counts.c.waitlisted, counts.c.cancelled, counts.c.joined, counts.c.total
    )


def rows_with_counts(rows: Iterable[Any]) -> list[tuple[Event, Counts]]:
    """Turn the rows of events_with_counts into (event, Counts) pairs."""
    return [(row[0], _counts(row)) for row in rows]


def upcoming_for_dashboard(now: datetime, limit: int = 8) -> list[tuple[Event, Counts]]:
    """Return the events not over yet (drafts included, cancelled ones not), soonest first."""
    stmt = (
        select(Event)
        .where(Event.ends_at > now, Event.status != EventStatus.CANCELLED)
        .order_by(Event.starts_at, Event.id)
        .limit(limit)
    )
    return rows_with_counts(db.session.execute(events_with_counts(stmt)))


# --- registrations per day (the chart) --------------------------------------------------------


@dataclass
class Bar:
    day: date
    count: int
    x: float
    y: float
    width: float
    height: float


@dataclass
class DailyChart:
    """A bar chart of registrations per day, laid out for a server-rendered SVG."""

    days: list[tuple[date, int]]
    bars: list[Bar]
    width: int
    height: int
    top: int  # the value of the highest grid line
    plot_left: int
    plot_bottom: int

    @property
    def total(self) -> int:
        return sum(count for _day, count in self.days)

    @property
    def busiest(self) -> tuple[date, int] | None:
        return max(self.days, key=lambda item: item[1]) if self.days else None


def registrations_per_day(event: Event) -> list[tuple[date, int]]:
    """Count the registrations made each day, in the event's time zone, days without any too."""
    created = db.session.scalars(
        select(Registration.created_at).where(Registration.event_id == event.id)
    )
    per_day = Counter(moment.astimezone(event.tz).date() for moment in created)
    if not per_day:
        return []
    first, last = min(per_day), max(per_day)
    return [
        (first + timedelta(days=offset), per_day.get(first + timedelta(days=offset), 0))
        for offset in range((last - first).days + 1)
    ]


def _nice_top(value: int) -> int:
    """Round a maximum up to 1, 2 or 5 times a power of ten, for a readable axis."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if value <= step * factor:
                return step * factor
        step *= 10


def daily_chart(days: list[tuple[date, int]], width: int = 640, height: int = 220) -> DailyChart:
    """Lay out one bar per day in a width × height drawing, with room for the axis labels."""
    plot_left, plot_right, plot_top, plot_bottom = 48, width - 8, 12, height - 28
    top = _nice_top(max((count for _day, count in days), default=0) or 1)
    slot = (plot_right - plot_left) / max(len(days), 1)
    bar_width = max(slot * 0.8, 1.0)
    bars = []
    for index, (day, count) in enumerate(days):
        bar_height = (plot_bottom - plot_top) * count / top
        bars.append(
            Bar(
                day=day,
                count=count,
                x=round(plot_left + index * slot + (slot - bar_width) / 2, 2),
                y=round(plot_bottom - bar_height, 2),
                width=round(bar_width, 2),
                height=round(bar_height, 2),
            )
        )
    return DailyChart(days, bars, width, height, top, plot_left, plot_bottom)
