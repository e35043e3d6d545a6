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
        gettext("Suivi des fiches"),
        gettext("Langue"),
    ]


def _cell(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _when(moment: datetime | None, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime(DATE_FORMAT) if moment else ""


def row(registration: Registration, tz: ZoneInfo) -> list[str]:
    """Return one registration's cells, dates in the event's time zone as French Excel wants."""
    category = CATEGORY_LABELS.get(registration.category, registration.category)
    return [
        _cell(registration.full_name),
        _cell(registration.email),
        _cell(registration.organisation),
        _cell(str(category)),
        status_label(registration.status),
        _when(registration.created_at, tz),
        _when(registration.confirmed_at, tz),
        _when(registration.cancelled_at, tz),
        _when(registration.first_joined_at, tz),
        gettext("Oui") if registration.wants_followups else gettext("Non"),
        registration.locale,
    ]


def csv_lines(registrations: Iterable[Registration], tz: ZoneInfo) -> Iterator[str]:
    """Yield the file piece by piece: the BOM and headers first, then a line per registration."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=SEPARATOR, lineterminator="\r\n")

    def take() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(headers())
    yield BOM + take()
    for registration in registrations:
        writer.writerow(row(registration, tz))
        yield take()
