"""Language choice and the French way of writing dates, times and durations."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, get_date_format, get_timezone_location
from flask import current_app, has_request_context, request
from flask_babel import LazyString, get_locale, gettext, ngettext
from werkzeug.exceptions import HTTPException
from werkzeug.sansio.request import Request

NBSP = "\u00a0"

# The name of the language buttons that replace the language links on a page answering a POST.
LANGUAGE_SWITCH_FIELD = "switch_language"


def select_locale() -> str:
    """Pick the language: the remembered choice first, then the browser's, then French."""
    if not has_request_context():  # a worker or a command: the caller forces the locale it needs
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    return language_switch() or locale_of(request, current_app.config)


def language_switch() -> str | None:
    """Return the language a form's language button asks for on this POST, or None."""
    # A page that answers a POST (a form sent back with its errors) has no address to come back
    # to with a GET: its language buttons send the form again, with what was typed, to the same
    # address. The view shows the form again in that language, and does nothing else. The
    # buttons are drawn by base.html, for the form a page names as its `language_form`.
    if not hasattr(request, "language_switch"):
        request.language_switch = None
        if request.method == "POST":
            try:
                code = request.form.get(LANGUAGE_SWITCH_FIELD)
            except HTTPException:
                # A body too large or malformed: its error page is drawn in the remembered
                # language, and must not raise the error again while doing so.
                return None
            request.language_switch = code if code in current_app.config["LANGUAGES"] else None
    return request.language_switch


def locale_of(request: Request, config: Mapping[str, Any]) -> str:
    """Return the language a request asks for (also read by the page cache, before Flask)."""
    languages = config["LANGUAGES"]
    chosen = request.cookies.get(config["LANGUAGE_COOKIE"])
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or config["BABEL_DEFAULT_LOCALE"]


def _locale() -> str:
    return str(get_locale() or "fr")


def format_clock(moment: datetime, locale: str | None = None) -> str:
    """Write a time of day: "13 h 30" and "14 h" in French, "1:30 PM" in English."""
    locale = locale or _locale()
    if locale.startswith("fr"):
        if moment.minute == 0:
            return f"{moment.hour}{NBSP}h"
        return f"{moment.hour}{NBSP}h{NBSP}{moment.minute:02d}"
    return format_time(moment, "short", locale=locale)


def format_day(moment: date | datetime, locale: str | None = None, pattern: str = "full") -> str:
    """Write a date, in full by default: "jeudi 25 février 2021"; French writes the first of the
    month as an ordinal, "jeudi 1er janvier 2026", which CLDR's patterns do not."""
    locale = locale or _locale()
    if locale.startswith("fr") and moment.day == 1:
        if pattern == "full":
            pattern = get_date_format("full", locale=locale).pattern  # "EEEE d MMMM y"
        pattern = pattern.replace("d ", "d'er' ", 1)
    return format_date(moment, pattern, locale=locale)


def format_moment(moment: datetime, tz: ZoneInfo) -> str:
    """Write a moment in a time zone, day and time: "jeudi 25 février 2021 à 13 h 30"."""
    local = moment.astimezone(tz)
    return gettext("%(day)s à %(time)s", day=format_day(local), time=format_clock(local))


# Open Graph names a locale with its territory: one mapping for every page's link preview.
OG_LOCALES = {"fr": "fr_FR", "en": "en_US"}


def og_locale(code: str) -> str:
    """Write a language the Open Graph way: "fr" -> "fr_FR"."""
    return OG_LOCALES.get(code, code)


def timezone_label(tz: ZoneInfo, locale: str | None = None) -> str:
    """Name a time zone by its city: "heure de Paris"."""
    city = get_timezone_location(tz, locale=locale or _locale(), return_city=True)
    return gettext("heure de %(city)s", city=city)


def format_span(starts_at: datetime, ends_at: datetime, tz: ZoneInfo) -> str:
    """Write when something happens, in its own time zone.

    "jeudi 25 février 2021, 13 h 30 – 14 h, heure de Paris"; the end date is written too when
    the span crosses midnight.
    """
    start, end = starts_at.astimezone(tz), ends_at.astimezone(tz)
    text = f"{format_day(start)}, {format_clock(start)} – "
    if end.date() != start.date():
        text += f"{format_day(end)}, "
    return f"{text}{format_clock(end)}, {timezone_label(tz)}"


def chars_at_most(limit: int) -> LazyString:
    """Say "N caractères au plus" in the reader's language, for a message fixed at import."""
    # A lambda rather than lazy_ngettext, which `pybabel extract -k _l` would not find.
    return LazyString(
        lambda: ngettext("%(num)d caractère au plus.", "%(num)d caractères au plus.", limit)
    )


def format_duration(length: timedelta) -> str:
    """Write a duration in hours and minutes: "30 minutes", "1 h 30"."""
    minutes = int(length.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours == 0:
        return ngettext("%(num)d minute", "%(num)d minutes", minutes)
    if minutes == 0:
        return ngettext("%(num)d heure", "%(num)d heures", hours)
    return gettext("%(hours)d h %(minutes)02d", hours=hours, minutes=minutes)
