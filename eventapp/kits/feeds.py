"""A kit's release calendar as iCalendar, for calendar apps to subscribe to."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from flask_babel import gettext
from icalendar import Calendar, vDuration
from icalendar import Event as VEvent

from eventapp.ics.services import FEED_REFRESH, PRODID
from eventapp.kits.models import Kit, Sheet
from eventapp.models import now_utc
from eventapp.site.services import absolute_url


def sheet_uid(sheet: Sheet) -> str:
    """Return the UID of a sheet's release: the same whatever the date or title becomes."""
    host = urlsplit(absolute_url("kits.index")).hostname or "eventapp.invalid"
    return f"sheet-{sheet.id}@{host}"


def sheet_label(sheet: Sheet, *, with_title: bool) -> str:
    """Name a sheet: "Fiche n°7 « Tourisme et ESS »", or "Fiche n°7" when its title is not out."""
    if with_title:
        return gettext("Fiche n°%(number)d « %(title)s »", number=sheet.number, title=sheet.title)
    return gettext("Fiche n°%(number)d", number=sheet.number)


def release_calendar(kit: Kit, sheets: Iterable[Sheet], now: datetime | None = None) -> bytes:
    """Return the kit's release dates as all-day events, one per scheduled sheet.

    A coming sheet shows its title only if the kit says so; its UID is stable, so a moved date
    replaces the entry in subscribed calendars instead of adding one.
    """
    now = now or now_utc()
    stamp = now.astimezone(UTC).replace(microsecond=0)
    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", "PUBLISH")
    calendar.calendar_name = kit.title  # NAME and X-WR-CALNAME
    calendar.add(
        "X-WR-CALDESC",
        gettext("Le calendrier de parution des fiches : %(title)s", title=kit.title),
    )
    calendar.add("REFRESH-INTERVAL", FEED_REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", vDuration(FEED_REFRESH))
    kit_url = absolute_url("kits.detail", slug=kit.slug)
    for sheet in sheets:
        if sheet.release_at is None:
            continue
        released = sheet.is_released(now)
        day = sheet.release_at.astimezone(kit.tz).date()
        url = (
            absolute_url("kits.sheet", slug=kit.slug, number=sheet.number) if released else kit_url
        )
        with_title = released or kit.show_upcoming_titles
        lines = [sheet.summary.strip()] if with_title and sheet.summary.strip() else []
        lines.append(gettext("Plus d'informations : %(url)s", url=url))
        calendar.add_component(
            VEvent.new(
                uid=sheet_uid(sheet),
                stamp=stamp,
                start=day,
                end=day + timedelta(days=1),
                summary=f"{kit.title} – {sheet_label(sheet, with_title=with_title)}",
                description="\n\n".join(lines),
                url=url,
                created=sheet.created_at.astimezone(UTC).replace(microsecond=0),
                last_modified=sheet.updated_at.astimezone(UTC).replace(microsecond=0),
                transparency="TRANSPARENT",  # a release does not make anyone busy
            )
        )
    return calendar.to_ical()
