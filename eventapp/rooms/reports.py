"""Read the attendance reports video platforms export: columns, rows, people, registrants."""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

from eventapp.text import email_key

MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
FIELDS = ("email", "name", "joined_at", "left_at", "minutes")
# Visio and most registration exports split the name: "Prénom" joins "Nom" to make the name.
OPTIONAL_FIELDS = ("first_name",)

# Known headers, folded by header_key, best first: Zoom, Microsoft Teams, the BigBlueButton
# learning dashboard, the State's Visio and what a person typing a spreadsheet would write.
# fmt: off
HEADERS = {
    "email": (
        "user email", "e-mail de l'utilisateur", "email", "e-mail", "courriel", "adresse e-mail",
        "adresse mail", "adresse electronique", "mail", "email address",
        "participant id (upn)", "id du participant (upn)",
    ),
    "name": (
        "name (original name)", "nom (nom d'origine)", "name", "nom", "full name", "nom complet",
        "participant", "nom du participant", "nom d'affichage", "display name", "last name",
    ),
    "first_name": ("prenom", "first name"),
    "joined_at": (
        "join time", "heure d'arrivee", "first join", "premiere participation", "join",
        "arrivee", "heure d'entree", "joined", "connexion",
    ),
    "left_at": (
        "leave time", "heure de depart", "last leave", "dernier depart", "left", "depart",
        "heure de sortie", "leave", "deconnexion",
    ),
    "minutes": (
        "duration (minutes)", "duree (minutes)", "in-meeting duration", "duree de la reunion",
        "duration", "duree", "duree de presence", "temps de presence", "attendance duration",
    ),
}
# fmt: on
EMPTY_VALUES = {"", "-", "--", "n/a"}  # BigBlueButton writes "-" for a time it does not know
# Teams follows its participants table with "3. In-Meeting Activities", one row per session.
SECTION_TITLE = re.compile(r"\d+\.\s+\S")
SLASH_DATE = re.compile(
    r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4}),?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?"
    r"\s*([ap])?\.?\s*(?:m\.?)?",
    re.IGNORECASE,
)
CLOCK = re.compile(r"(\d+):(\d{1,2})(?::(\d{1,2}))?")
UNITS = re.compile(
    r"(\d+(?:[.,]\d+)?)\s*(h|hr|hrs|hours?|heures?|m|mn|mins?|minutes?|s|secs?|seconds?|secondes?)(?![a-z])",
    re.IGNORECASE,
)
NUMBER = re.compile(r"\d+(?:[.,]\d+)?")

NOT_CSV = _l("Ce fichier n'est pas un rapport de présence lisible : enregistrez-le au format CSV.")
SPREADSHEET = _l(
    "Ce fichier est un classeur Excel, pas un fichier CSV : ouvrez-le et enregistrez-le au "
    "format CSV, puis importez ce fichier."
)
TOO_BIG = _l("Ce fichier dépasse 5 Mo : un rapport de présence est bien plus petit.")
TOO_MANY_ROWS = _l("Ce fichier a plus de 20 000 lignes : importez une réunion à la fois.")


class ReportError(ValueError):
    """A file that cannot be read as an attendance report at all."""

    def __init__(self, message) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Report:
    columns: list[str]
    rows: list[list[str]]  # rows[i] is the file's row first_line + i, as a spreadsheet numbers it
    first_line: int


@dataclass
class ReportRow:
    line: int
    email: str | None
    name: str | None
    joined_at: datetime | None
    left_at: datetime | None
    minutes: int | None


@dataclass
class RowProblem:
    line: int
    message: str


@dataclass
class Person:
    email: str | None
    name: str | None
    lines: list[int]
    spans: list[tuple[datetime, datetime]]
    minutes: int


@dataclass
class Registrant:
    id: int
    email: str
    full_name: str


@dataclass
class Match:
    person: Person
    registration_id: int | None
    how: str  # "email", "name", "ambiguous" or "none"


def folded(text: str) -> str:
    """Lowercase a text and drop its accents: "Durée" and "DUREE" are one."""
    decomposed = unicodedata.normalize("NFKD", text.replace("\u2019", "'"))
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def header_key(header: str) -> str:
    """Fold a column header for comparison with the known ones."""
    return " ".join(folded(header).split())


def decoded(data: bytes) -> str:
    """Return the text of a file in the encodings platforms write, or refuse it."""
    if not data.strip():
        raise ReportError(NOT_CSV)
    if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):  # .xlsx (a ZIP), old .xls
        raise ReportError(SPREADSHEET)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encodings = ["utf-16"]  # Teams writes UTF-16 with a byte order mark
    else:
        encodings = ["utf-8-sig", "cp1252"]  # cp1252: what French Excel saves as "CSV"
    for encoding in encodings:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        # A control character other than tab and line breaks means a binary file, not a report.
        if not any(unicodedata.category(c) == "Cc" and c not in "\t\r\n" for c in text):
            return text
    raise ReportError(NOT_CSV)


def header_fields(cells: list[str]) -> set[str]:
    """Return the fields whose known headers appear among the cells."""
    keys = {header_key(cell) for cell in cells}
    return {field for field, names in HEADERS.items() if keys.intersection(names)}


def is_header(cells: list[str]) -> bool:
    """Say whether a row names a person's column and a time or duration column."""
    fields = header_fields(cells)
    return bool(fields & {"name", "first_name"}) and bool(
        fields & {"joined_at", "left_at", "minutes"}
    )


def delimiters(text: str) -> list[str]:
    """Return the candidate delimiters, the one csv.Sniffer finds first."""
    candidates = [",", ";", "\t"]
    try:
        sniffed = csv.Sniffer().sniff(text[:20_000], delimiters="".join(candidates)).delimiter
    except csv.Error:
        return candidates
    return [sniffed] + [d for d in candidates if d != sniffed]


def read_report(data: bytes) -> Report:
    """Read a platform's CSV export: find its delimiter, its header row and the rows under it."""
    if len(data) > MAX_BYTES:
        raise ReportError(TOO_BIG)
    text = decoded(data)
    tables = []
    for delimiter in delimiters(text):
        try:
            rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
        except csv.Error as error:
            raise ReportError(NOT_CSV) from error
        header_at = next((i for i, cells in enumerate(rows) if is_header(cells)), None)
        if header_at is not None:
            break
        tables.append(rows)
    else:
        # No known header: the first row of the sniffed reading is the header, and the import
        # page lets the organiser say which column is which.
        rows = tables[0]
        header_at = next((i for i, cells in enumerate(rows) if any(c.strip() for c in cells)), None)
        if header_at is None or max(len(cells) for cells in rows) < 2:
            raise ReportError(NOT_CSV)
    body = rows[header_at + 1 :]
    end = next((i for i, cells in enumerate(body) if is_section_title(cells)), len(body))
    body = body[:end]
    while body and not any(cell.strip() for cell in body[-1]):
        body.pop()
    if len(body) > MAX_ROWS:
        raise ReportError(TOO_MANY_ROWS)
    columns = [cell.strip() for cell in rows[header_at]]
    return Report(columns=columns, rows=body, first_line=header_at + 2)


def is_section_title(cells: list[str]) -> bool:
    """Say whether a row is the title of a next section ("3. Activités en réunion")."""
    filled = [cell for cell in cells if cell.strip()]
    return len(filled) == 1 and SECTION_TITLE.match(filled[0].strip()) is not None


def guess_mapping(columns: list[str]) -> dict[str, int | None]:
    """Map each field to the index of the column that holds it, None when no header is known."""
    keys = [header_key(column) for column in columns]
    mapping: dict[str, int | None] = {}
    taken: set[int] = set()
    for field in FIELDS + OPTIONAL_FIELDS:
        mapping[field] = None
        for name in HEADERS[field]:
            index = next((i for i, key in enumerate(keys) if key == name and i not in taken), None)
            if index is not None:
                mapping[field] = index
                taken.add(index)
                break
    return mapping


def cell(cells: list[str], index: int | None) -> str:
    """Return a cell's value, empty when the column is unmapped, missing or holds a dash."""
    if index is None or index >= len(cells):
        return ""
    value = cells[index].strip()
    return "" if value.casefold() in EMPTY_VALUES else value


def reads_day_first(values: list[str]) -> bool:
    """Decide for a whole file whether 10/12/2026 is the 10th of December or October 12th."""
    # Evidence first: a first number over 12 is a day, a second one is a day too. Without
    # it, a 12-hour clock (AM/PM) is the United States' way, month first; a 24-hour clock is
    # the French way (and most locales'), day first.
    found = [m for m in (SLASH_DATE.fullmatch(v) for v in values) if m]
    if any(int(m[1]) > 12 for m in found):
        return True
    if any(int(m[2]) > 12 for m in found):
        return False
    return not any(m[7] for m in found)


def parsed_moment(value: str, tz: ZoneInfo, day_first: bool) -> datetime | None:
    """Read a date and time as the platforms write them, in UTC; None when it is not one."""
    match = SLASH_DATE.fullmatch(value)
    if match is None:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        first, second, year, hour, minute, second_of_minute, meridiem = match.groups()
        day, month = (first, second) if day_first else (second, first)
        hour = int(hour)
        if meridiem:
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if meridiem.lower() == "p" else 0)
        year = int(year) + (2000 if len(year) == 2 else 0)
        try:
            moment = datetime(
                year, int(month), int(day), hour, int(minute), int(second_of_minute or 0)
            )
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)  # the platform wrote the time where the event is
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # year 9999 with an offset: not a meeting's time
        return None


# A day: no meeting lasts longer, and a larger figure is a mistake (or would overflow a column).
MAX_MINUTES = 24 * 60


def parsed_minutes(value: str) -> int | None:
    """Read a duration ("65", "1h 5m 3s", "1 h 05 min", "01:05:03") as whole minutes; None for
    what is not a duration, or longer than a day."""
    minutes = _minutes(value)
    return minutes if minutes is not None and 0 <= minutes <= MAX_MINUTES else None


def _minutes(value: str) -> int | None:
    value = value.strip()
    if NUMBER.fullmatch(value):
        return int(float(value.replace(",", ".")))
    clock = CLOCK.fullmatch(value)
    if clock:
        hours, minutes, seconds = clock.groups()
        return None if int(minutes) >= 60 else int(hours) * 60 + int(minutes)
    units = UNITS.findall(value)
    if not units or UNITS.sub("", value).strip():
        return None
    seconds = 0.0
    for amount, unit in units:
        scale = {"h": 3600, "m": 60, "s": 1}[unit[0].lower()]
        seconds += float(amount.replace(",", ".")) * scale
    return int(seconds // 60)


def parse_rows(
    report: Report, mapping: dict[str, int | None], tz: ZoneInfo
) -> tuple[list[ReportRow], list[RowProblem]]:
    """Read each data row into a ReportRow, or say in a RowProblem why it cannot be."""
    time_values = [
        cell(cells, mapping.get(field))
        for cells in report.rows
        for field in ("joined_at", "left_at")
    ]
    day_first = reads_day_first([value for value in time_values if value])
    rows: list[ReportRow] = []
    problems: list[RowProblem] = []
    for offset, cells in enumerate(report.rows):
        line = report.first_line + offset
        if not any(value.strip() for value in cells):
            continue  # a blank line is no one
        outcome = parsed_row(line, cells, mapping, tz, day_first)
        (rows if isinstance(outcome, ReportRow) else problems).append(outcome)
    return rows, problems


def parsed_row(
    line: int, cells: list[str], mapping: dict[str, int | None], tz: ZoneInfo, day_first: bool
) -> ReportRow | RowProblem:
    """Read one data row, or return the first problem that keeps it from counting."""
    email = cell(cells, mapping.get("email"))
    name = " ".join(
        part
        for part in (cell(cells, mapping.get("first_name")), cell(cells, mapping.get("name")))
        if part
    )
    if not email and not name:
        return RowProblem(line, _l("Ligne %(line)d : ni nom ni adresse mail.", line=line))
    moments = {}
    for field in ("joined_at", "left_at"):
        value = cell(cells, mapping.get(field))
        moments[field] = parsed_moment(value, tz, day_first) if value else None
        if value and moments[field] is None:
            message = {
                "joined_at": _l(
                    "Ligne %(line)d : l'heure d'arrivée « %(value)s » n'est pas une date lisible.",
                    line=line,
                    value=value,
                ),
                "left_at": _l(
                    "Ligne %(line)d : l'heure de départ « %(value)s » n'est pas une date lisible.",
                    line=line,
                    value=value,
                ),
            }[field]
            return RowProblem(line, message)
    joined_at, left_at = moments["joined_at"], moments["left_at"]
    if joined_at and left_at and left_at < joined_at:
        return RowProblem(
            line, _l("Ligne %(line)d : l'heure de départ précède l'heure d'arrivée.", line=line)
        )
    duration = cell(cells, mapping.get("minutes"))
    minutes = parsed_minutes(duration) if duration else None
    if duration and minutes is None:
        return RowProblem(
            line,
            _l(
                "Ligne %(line)d : la durée « %(value)s » n'est pas une durée lisible.",
                line=line,
                value=duration,
            ),
        )
    if minutes is None and joined_at and left_at:
        minutes = int((left_at - joined_at).total_seconds() // 60)
        if minutes > MAX_MINUTES:
            return RowProblem(
                line,
                _l("Ligne %(line)d : plus d'une journée entre l'arrivée et le départ.", line=line),
            )
    if minutes is None and joined_at is None and left_at is None:
        return RowProblem(line, _l("Ligne %(line)d : ni heure ni durée de présence.", line=line))
    return ReportRow(line, email or None, name or None, joined_at, left_at, minutes)


def name_key(name: str) -> str:
    """Fold a name so "DUPONT Jean-Éric" and "jean eric  dupont" are one."""
    # Remarks in brackets are not the name: the original name Zoom adds, "(Invité)".
    text = re.sub(r"\([^)]*\)", " ", folded(name))
    words = re.sub(r"[-‐‑_.'’]", " ", text).split()
    return " ".join(sorted(words))  # sorted: "Nom Prénom" and "Prénom Nom" are one person


def union(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Merge overlapping spans into sorted, disjoint ones."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def merge_by_person(rows: list[ReportRow]) -> list[Person]:
    """Gather the rows of one person (same address, else same name): Zoom lists each
    reconnection as a row."""
    groups: dict[str, list[ReportRow]] = {}
    for row in rows:
        if row.email:
            key = "email:" + email_key(row.email)
        elif name_key(row.name or ""):
            key = "name:" + name_key(row.name or "")
        else:
            key = f"line:{row.line}"  # a name that is only a remark, "(Invité)", is no one's
        groups.setdefault(key, []).append(row)
    return [person(group) for group in groups.values()]


def person(rows: list[ReportRow]) -> Person:
    """Make one person of their rows, the time spent in two rows at once counted once."""
    spans = [(row.joined_at, row.left_at) for row in rows if row.joined_at and row.left_at]
    merged = union(spans)
    # The platform's duration is the measure (Teams' excludes the time away between first
    # join and last leave); only the time two rows share is taken off.
    counted_twice = sum((end - start for start, end in spans), timedelta()) - sum(
        (end - start for start, end in merged), timedelta()
    )
    minutes = sum(row.minutes or 0 for row in rows) - round(counted_twice.total_seconds() / 60)
    return Person(
        email=next((row.email for row in rows if row.email), None),
        name=next((row.name for row in rows if row.name), None),
        lines=[row.line for row in rows],
        spans=merged,
        minutes=max(minutes, 0),
    )


def match_people(people: list[Person], registrants: list[Registrant]) -> list[Match]:
    """Find each person's registration: by address, else by a name only one registrant has."""
    by_email = {}
    by_name: dict[str, list[Registrant]] = {}
    for registrant in registrants:
        by_email.setdefault(email_key(registrant.email), registrant)
        by_name.setdefault(name_key(registrant.full_name), []).append(registrant)
    matches = []
    for someone in people:
        registrant = by_email.get(email_key(someone.email)) if someone.email else None
        if registrant:
            matches.append(Match(someone, registrant.id, "email"))
            continue
        key = name_key(someone.name or "")
        namesakes = by_name.get(key, []) if key else []
        if len(namesakes) == 1:
            matches.append(Match(someone, namesakes[0].id, "name"))
        else:
            matches.append(Match(someone, None, "ambiguous" if namesakes else "none"))
    return matches
