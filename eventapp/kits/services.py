"""Kits and sheets: what the public sees at a given time, what organisers change, downloads."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.kits.models import Kit, Sheet, kit_events
from eventapp.models import now_utc

# What organisers may change on a sheet through update_sheet; notified_at is never among them.
EDITABLE_SHEET_FIELDS = frozenset({"title", "summary", "themes", "accessible_body"})


# --- public reading ---------------------------------------------------------------------------


def public_kits() -> list[Kit]:
    """Return the published kits, newest first."""
    return list(
        db.session.scalars(
            select(Kit).where(Kit.published.is_(True)).order_by(Kit.created_at.desc(), Kit.id)
        )
    )


def public_kit(slug: str) -> Kit | None:
    """Return the published kit with this slug, or None."""
    return db.session.scalars(select(Kit).where(Kit.slug == slug, Kit.published.is_(True))).first()


def released_sheets(kit: Kit, now: datetime) -> list[Sheet]:
    """Return the kit's sheets public at `now`, the latest release first."""
    return list(
        db.session.scalars(
            select(Sheet)
            .where(Sheet.kit_id == kit.id, Sheet.released(now))
            .order_by(Sheet.release_at.desc(), Sheet.number.desc())
        )
    )


def upcoming_sheets(kit: Kit, now: datetime) -> list[Sheet]:
    """Return the kit's scheduled sheets not yet public at `now`, the next one first."""
    return list(
        db.session.scalars(
            select(Sheet)
            .where(Sheet.kit_id == kit.id, Sheet.release_at > now)
            .order_by(Sheet.release_at, Sheet.number)
        )
    )


def public_sheet(kit: Kit, number: int, now: datetime) -> Sheet | None:
    """Return the kit's sheet with this number if it is public at `now`, else None."""
    return db.session.scalars(
        select(Sheet).where(Sheet.kit_id == kit.id, Sheet.number == number, Sheet.released(now))
    ).first()


def count_download(sheet: Sheet) -> None:
    """Add one to the sheet's download count in the database itself, so that no click is lost."""
    db.session.execute(
        update(Sheet)
        .where(Sheet.id == sheet.id)
        .values(download_count=Sheet.download_count + 1)
        .execution_options(synchronize_session=False)
    )


# --- organisers (the back office) -------------------------------------------------------------


def create_kit(
    *,
    slug: str,
    title: str,
    description: str = "",
    events: Iterable[Event] = (),
    published: bool = False,
    show_upcoming_titles: bool = True,
    timezone: str = "Europe/Paris",
    now: datetime | None = None,
) -> Kit:
    """Add a kit; add and flush, never commit."""
    now = now or now_utc()
    kit = Kit(
        slug=slug,
        title=title,
        description=description,
        events=list(events),
        published=published,
        show_upcoming_titles=show_upcoming_titles,
        timezone=timezone,
        created_at=now,
        updated_at=now,
    )
    db.session.add(kit)
    db.session.flush()
    return kit


def add_sheet(
    kit: Kit,
    *,
    number: int,
    title: str,
    summary: str = "",
    themes: Sequence[str] = (),
    release_at: datetime | None = None,
    now: datetime | None = None,
) -> Sheet:
    """Add a sheet to a kit, unscheduled unless release_at is given; add and flush."""
    now = now or now_utc()
    sheet = Sheet(
        number=number,
        title=title,
        summary=summary,
        themes=list(themes),
        release_at=release_at,
        created_at=now,
        updated_at=now,
    )
    kit.sheets.append(sheet)
    db.session.flush()
    return sheet


def update_sheet(sheet: Sheet, now: datetime | None = None, **changes: Any) -> None:
    """Change a sheet's content; a released sheet is not announced again."""
    unknown = set(changes) - EDITABLE_SHEET_FIELDS
    if unknown:
        raise ValueError(f"not editable here: {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(sheet, name, list(value) if name == "themes" else value)
    sheet.updated_at = now or now_utc()
    db.session.flush()


def reschedule_sheet(
    sheet: Sheet, release_at: datetime | None, now: datetime | None = None
) -> None:
    """Move one sheet's release, earlier or later, before or after it came out.

    The follow-ups go once: a sheet already announced keeps its notified_at and sends nothing
    again; None takes it off the calendar (and off the public pages).
    """
    if release_at is not None and release_at.tzinfo is None:
        raise ValueError("release_at must be an aware datetime")
    if sheet.release_at != release_at:
        sheet.release_at = release_at
        sheet.updated_at = now or now_utc()  # calendars and feeds see the entry changed
    db.session.flush()


def weekly_dates(
    first_release: datetime,
    count: int,
    *,
    tz: Any,
    weekday: int | None = None,
    every_weeks: int = 1,
) -> list[datetime]:
    """Return `count` release times a week apart, at the same wall-clock time in `tz`.

    The series starts on `first_release` or, when `weekday` is given (Monday 0 ... Thursday 3),
    on the first such day from it; a change of daylight saving time does not shift the hour.
    """
    local = first_release.astimezone(tz)
    day: date = local.date()
    if weekday is not None:
        day += timedelta(days=(weekday - day.weekday()) % 7)
    clock = time(local.hour, local.minute, local.second)
    return [
        datetime.combine(day + timedelta(weeks=index * every_weeks), clock, tzinfo=tz)
        for index in range(count)
    ]


def schedule_weekly(
    kit: Kit,
    first_release: datetime,
    *,
    weekday: int | None = None,
    every_weeks: int = 1,
    only_unannounced: bool = True,
    now: datetime | None = None,
) -> list[Sheet]:
    """Lay the kit's sheets out on a weekly calendar, in order of number; add and flush.

    Sheets already announced keep their date unless `only_unannounced` is False; organisers can
    then move any sheet alone with reschedule_sheet.
    """
    sheets = [
        sheet
        for sheet in sorted(kit.sheets, key=lambda s: s.number)
        if not (only_unannounced and sheet.notified_at is not None)
    ]
    dates = weekly_dates(
        first_release, len(sheets), tz=kit.tz, weekday=weekday, every_weeks=every_weeks
    )
    now = now or now_utc()
    for sheet, release_at in zip(sheets, dates, strict=True):
        reschedule_sheet(sheet, release_at, now)
    return sheets


def organiser_sheets(kit: Kit) -> list[Sheet]:
    """Return every sheet of the kit, released or not, in order of number."""
    return list(
        db.session.scalars(select(Sheet).where(Sheet.kit_id == kit.id).order_by(Sheet.number))
    )


def next_releases(now: datetime, limit: int = 5) -> list[Sheet]:
    """Return the next scheduled sheets of every kit, soonest first (the dashboard)."""
    return list(
        db.session.scalars(
            select(Sheet).where(Sheet.release_at > now).order_by(Sheet.release_at).limit(limit)
        )
    )


def kits_of_event(event: Event) -> list[Kit]:
    """Return the published kits an event belongs to (its page links to them)."""
    return list(
        db.session.scalars(
            select(Kit)
            .join(kit_events, kit_events.c.kit_id == Kit.id)
            .where(kit_events.c.event_id == event.id, Kit.published.is_(True))
            .order_by(Kit.title)
        )
    )


def total_downloads(kit: Kit) -> int:
    """Return the downloads of all the kit's sheets."""
    return db.session.scalar(
        select(func.coalesce(func.sum(Sheet.download_count), 0)).where(Sheet.kit_id == kit.id)
    )


def next_sheet_releases(now: datetime, limit: int = 5) -> list[Sheet]:
    """Return the next scheduled sheets of every kit with their kit, soonest first."""
    return list(
        db.session.scalars(
            select(Sheet)
            .options(joinedload(Sheet.kit))
            .where(Sheet.release_at > now)
            .order_by(Sheet.release_at, Sheet.id)
            .limit(limit)
        )
    )
