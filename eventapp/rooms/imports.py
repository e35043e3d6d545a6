"""A video platform's attendance report, kept from its upload to its confirmation, then imported
as REPORT spans of the registrants it names; services add and flush, never commit."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.registrations.models import Registration, RegistrationStatus
from eventapp.rooms.models import PresenceSource, PresenceSpan
from eventapp.rooms.presence import refresh_minutes
from eventapp.rooms.reports import (
    Match,
    Person,
    Registrant,
    Report,
    RowProblem,
    match_people,
    merge_by_person,
    name_key,
    parse_rows,
)
from eventapp.uploads import UploadFolder, random_name

# "<event id>-<128 random bits>.csv": a kept report opens only under its own event.
STORED_NAME = re.compile(r"^[0-9]{1,10}-[0-9a-f]{32}\.csv$")
REPORTS = UploadFolder("REPORT_UPLOAD_FOLDER", STORED_NAME, "attendance report")
# Long enough to finish a preview interrupted by a meeting; a report names people, so no longer.
KEPT_FOR = timedelta(days=1)


@dataclass
class Reading:
    """What a kept report says with a mapping of its columns, matched to an event's people."""

    report: Report
    mapping: dict[str, int | None]
    problems: list[RowProblem]
    matches: list[Match]
    registrants: dict[int, Registrant]
    # For each ambiguous person (by their first line), the registrants who share the name.
    namesakes: dict[int, list[Registrant]] = field(default_factory=dict)

    def of(self, how: str) -> list[Match]:
        return [match for match in self.matches if match.how == how]


def keep_report(event: Event, data: bytes) -> str:
    """Write an uploaded report under a new random name until it is confirmed; return the name."""
    return REPORTS.write(data, f"{event.id}-{random_name('.csv')}")


def kept_report(event: Event, name: str) -> bytes | None:
    """Return a kept report's bytes, None when it is gone; ValueError for a name not ours or
    another event's."""
    if not name.startswith(f"{event.id}-"):
        raise ValueError(f"not a report kept for event {event.id}: {name!r}")
    path = REPORTS.path(name)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def forget_report(name: str) -> None:
    """Delete a kept report once the transaction commits."""
    REPORTS.delete(name)


def registrants_of(event: Event) -> list[Registrant]:
    """Return the event's confirmed registrants, as the report reader matches them."""
    rows = db.session.execute(
        select(Registration.id, Registration.email, Registration.full_name)
        .where(
            Registration.event_id == event.id,
            Registration.status == RegistrationStatus.CONFIRMED,
            Registration.erased_at.is_(None),
        )
        .order_by(Registration.full_name, Registration.id)
    )
    return [Registrant(id, email, full_name) for id, email, full_name in rows]


def read_kept(event: Event, report: Report, mapping: dict[str, int | None]) -> Reading:
    """Read a report's rows with a mapping and match its people to the event's registrants."""
    rows, problems = parse_rows(report, mapping, event.tz)
    registrants = registrants_of(event)
    matches = match_people(merge_by_person(rows), registrants)
    namesakes = {}
    for match in matches:
        if match.how == "ambiguous":
            key = name_key(match.person.name or "")
            namesakes[match.person.lines[0]] = [
                r for r in registrants if name_key(r.full_name) == key
            ]
    return Reading(report, mapping, problems, matches, {r.id: r for r in registrants}, namesakes)


def spans_of(event: Event, person: Person) -> list[tuple[datetime, datetime]]:
    """Return a person's spans; a duration without times is counted from the event's start."""
    if person.spans:
        return person.spans
    return [(event.starts_at, event.starts_at + timedelta(minutes=person.minutes))]


def apply_report(event: Event, people_matches: list[tuple[Person, int]], now: datetime) -> int:
    """Replace the REPORT spans of each matched registration with its people's spans, refresh
    their minutes; return how many registrations were updated. Adds and flushes."""
    by_registration: dict[int, list[tuple[datetime, datetime]]] = {}
    for someone, registration_id in people_matches:
        by_registration.setdefault(registration_id, []).extend(spans_of(event, someone))
    if not by_registration:
        return 0
    # Replaced, not added to: importing the same report twice must not count anyone twice.
    db.session.execute(
        PresenceSpan.__table__.delete().where(
            PresenceSpan.event_id == event.id,
            PresenceSpan.source == PresenceSource.REPORT,
            PresenceSpan.registration_id.in_(by_registration),
        )
    )
    for registration_id, spans in by_registration.items():
        for joined_at, left_at in spans:
            db.session.add(
                PresenceSpan(
                    registration_id=registration_id,
                    event_id=event.id,
                    source=PresenceSource.REPORT,
                    joined_at=joined_at,
                    left_at=left_at,
                )
            )
    db.session.flush()
    refresh_minutes(by_registration, now)
    return len(by_registration)


def forget_old_reports(now: datetime) -> int:
    """Delete the reports kept longer than KEPT_FOR without a confirmation; return how many."""
    folder = REPORTS.folder()
    if not folder.is_dir():
        return 0
    deleted = 0
    for path in folder.iterdir():
        if not STORED_NAME.fullmatch(path.name):
            continue  # not a report of ours (a write in progress has a temporary name)
        try:
            written = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            if now - written > KEPT_FOR:
                path.unlink()
                deleted += 1
        except FileNotFoundError:
            continue  # confirmed meanwhile
    return deleted
