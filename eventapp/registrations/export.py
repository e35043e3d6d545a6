"""The registrations of an event as a CSV file that French Excel opens as it is."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext

from eventapp.registrations.forms import CATEGORY_LABELS
from eventapp.registrations.models import Registration, RegistrationStatus

BOM = "\ufeff"  # tells Excel the file is UTF-8
SEPARATOR = ";"  # French Excel reads ";" as the column separator (the comma is the decimal mark)
DATE_FORMAT = "%d/%m/%Y %H:%M"
# A cell starting with one of these is a formula to a spreadsheet: a name like "=HYPERLINK(…)"
# typed in the public form must stay text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def status_label(status: RegistrationStatus) -> str:
    return {
        RegistrationStatus.CONFIRMED: gettext("Confirmée"),
        RegistrationStatus.WAITLISTED: gettext("Liste d'attente"),
        RegistrationStatus.CANCELLED: gettext("Annulée"),
    }[status]


def headers() -> list[str]:
    return [
        gettext("Nom"),
        gettext("Adresse mail"),
        gettext("Structure"),
        gettext("Catégorie"),
        gettext("Statut"),
        gettext("Inscription"),
        gettext("Confirmation"),
        gettext("Annulation"),
        gettext("Première connexion"),
        gettext("Minutes de présence"),
        gettext("Suivi des fiches"),
        gettext("Langue"),
    ]


def text_cell(value: str) -> str:
    """Return a cell that a spreadsheet keeps as text, even when it starts like a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def moment_cell(moment: datetime | None, tz: ZoneInfo) -> str:
    """Write a moment in a zone as French Excel reads a date, or nothing."""
    return moment.astimezone(tz).strftime(DATE_FORMAT) if moment else ""


def row(registration: Registration, tz: ZoneInfo) -> list[str]:
    """Return one registration's cells, dates in the event's time zone as French Excel wants."""
    category = CATEGORY_LABELS.get(registration.category, registration.category)
    return [
        text_cell(registration.full_name),
        text_cell(registration.email),
        text_cell(registration.organisation),
        text_cell(str(category)),
        status_label(registration.status),
        moment_cell(registration.created_at, tz),
        moment_cell(registration.confirmed_at, tz),
        moment_cell(registration.cancelled_at, tz),
        moment_cell(registration.first_joined_at, tz),
        "" if registration.minutes_present is None else str(registration.minutes_present),
        gettext("Oui") if registration.wants_followups else gettext("Non"),
        registration.locale,
    ]


def csv_lines(registrations: Iterable[Registration], tz: ZoneInfo) -> Iterator[str]:
    """Yield the file piece by piece: the BOM and headers first, then a line per registration."""
    return csv_stream(headers(), (row(registration, tz) for registration in registrations))


def csv_stream(header: list[str], rows: Iterable[list[str]]) -> Iterator[str]:
    """Yield a CSV file that French Excel opens, piece by piece: the BOM and the header first,
    then a line per row (the cells already made safe with text_cell)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=SEPARATOR, lineterminator="\r\n")

    def take() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(header)
    yield BOM + take()
    for cells in rows:
        writer.writerow(cells)
        yield take()
