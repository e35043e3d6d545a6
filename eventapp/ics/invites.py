"""The invite mailed to one registrant (METHOD:REQUEST), built once per event and filled in.

Every registrant's invite is the same but for a few values: the stamp, their address and name,
and their join link. The shared part is serialised once per process and content with
icalendar; each invite then costs a fill-in, which the tests compare byte for byte with what
icalendar writes for the whole.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from flask_babel import get_locale, gettext
from icalendar import Event as VEvent
from icalendar import vCalAddress, vText
from icalendar.parser import Parameters

from eventapp.events.models import Event
from eventapp.ics.services import (
    OrganisationLike,
    _calendar,
    _compact_utc,
    _finish,
    _location,
    _one_line,
    _organizer,
    _paragraphs,
    _vevent,
    event_url,
)
from eventapp.models import column_values, now_utc


def request_invite(
    event: Event,
    *,
    attendee_email: str,
    attendee_name: str,
    join_url: str,
    site_url: str,
    organisation: OrganisationLike,
    organiser_email: str,
    now: datetime | None = None,
) -> bytes:
    """Return the invite of one registrant, with their own join link (and no other secret: a
    calendar entry is shared and synced beyond the person's mailbox)."""
    if any(ord(char) < 32 for char in attendee_email + join_url):
        raise ValueError("an address or a link of the invite holds a control character")
    join_url = join_url if event.is_online else ""
    name = _one_line(attendee_name)
    values = (
        _compact_utc(now or now_utc()), attendee_email, _common_name(name),
        _text(join_url), join_url,
    )  # fmt: skip
    filled = (bool(join_url), bool(name))
    head, tail = _request_frame(event, site_url, organisation, organiser_email)
    personal = _personal_pattern(event, site_url, filled)
    return head + _fill_lines(personal, values) + tail


def _personal_properties(event: Event, site_url: str, slots: dict[str, str]) -> VEvent:
    """Return the properties of an invite that differ from one registrant to the next."""
    details_url = event_url(event, site_url)
    join_url = slots["join_text"]
    lines = [event.summary]
    if join_url:
        lines.append(gettext("Rejoindre la visioconférence : %(url)s", url=join_url))
    lines.append(gettext("Plus d'informations : %(url)s", url=details_url))
    personal = VEvent()
    personal.description = _paragraphs(lines)
    personal.location = _location(event, join_url) or None
    personal.url = slots["join_uri"] or details_url
    # Registering is accepting: ACCEPTED without RSVP lets calendars file the event without
    # offering replies that would go to the organiser's mailbox.
    personal.add(
        "ATTENDEE",
        vCalAddress.new(
            slots["email"],
            cn=slots["name"] or None,
            cutype="INDIVIDUAL",
            role="REQ-PARTICIPANT",
            partstat="ACCEPTED",
            rsvp=False,
        ),
    )
    return personal


# The personal part of an invite, the same for every registrant of an event but for a few values:
# serialised once per process, content, language and set of empty values, with markers where
# the values go, then filled in per registrant, each value escaped as its property needs and
# each line folded as icalendar folds it (tests compare both, value by value).
_SLOTS = ("email", "name", "join_text", "join_uri")
_PERSONAL: dict[tuple, tuple[tuple[str | int, ...], ...]] = {}
_PERSONAL_MAX = 64


def _personal_pattern(
    event: Event, site_url: str, filled: tuple[bool, bool]
) -> tuple[tuple[str | int, ...], ...]:
    """Return the personal properties as lines of text and value positions (1 to 4; 0 is
    the stamp)."""
    key = (column_values(event), site_url, str(get_locale()), filled)
    pattern = _PERSONAL.get(key)
    if pattern is None:
        token = secrets.token_hex(8)
        has_join, has_name = filled
        shown = {"email": True, "name": has_name, "join_text": has_join, "join_uri": has_join}
        slots = {
            slot: f"icalph{token}x{index}x" if shown[slot] else ""
            for index, slot in enumerate(_SLOTS, start=1)
        }
        serialised = _personal_properties(event, site_url, slots).to_ical().decode()
        unfolded = serialised.replace("\r\n ", "")
        lines = unfolded.removeprefix("BEGIN:VEVENT\r\n").removesuffix("END:VEVENT\r\n")
        marker = re.compile(f"icalph{token}x(\\d+)x")
        pattern = (("DTSTAMP:", 0),) + tuple(
            _line_parts(marker, line) for line in lines.split("\r\n") if line
        )
        if len(_PERSONAL) >= _PERSONAL_MAX:
            _PERSONAL.clear()
        _PERSONAL[key] = pattern
    return pattern


def _line_parts(marker: re.Pattern, line: str) -> tuple[str | int, ...]:
    """Split an unfolded line into its text and the positions of the values that go in it."""
    pieces: list[str | int] = list(marker.split(line))
    pieces[1::2] = [int(index) for index in pieces[1::2]]
    return tuple(piece for piece in pieces if piece != "")


def _fill_lines(pattern: tuple[tuple[str | int, ...], ...], values: tuple[str, ...]) -> bytes:
    """Put the values in the lines, then fold each line at 75 octets as icalendar does."""
    lines = [
        _fold("".join([part if isinstance(part, str) else values[part] for part in parts]))
        for parts in pattern
    ]
    return b"\r\n".join(lines) + b"\r\n"


def _fold(line: str) -> bytes:
    """Fold a content line as icalendar does: at most 74 octets a piece, never inside a
    character, and never right after a backslash or a caret (escapes stay whole)."""
    data = line.encode()
    pieces, start = [], 0
    while len(data) - start > 74:
        cut = start + 74
        while data[cut] & 0xC0 == 0x80:  # a UTF-8 continuation byte: cut before its character
            cut -= 1
        if data[cut - 1] in b"\\^" and cut - 1 > start:
            cut -= 1
        pieces.append(data[start:cut])
        start = cut
    pieces.append(data[start:])
    return b"\r\n ".join(pieces)


def _common_name(name: str) -> str:
    """Write a name as the value of a CN parameter, quoted when icalendar would quote it."""
    return Parameters({"CN": name}).to_ical().decode().removeprefix("CN=")


def _text(value: str) -> str:
    """Escape a value for a TEXT property (backslash, comma, semicolon, newline)."""
    return vText(value).to_ical().decode()


# The part of an invite that is the same for every registrant (VTIMEZONE above all, slow to
# build), serialised once per process and per content: the key holds everything it is made of,
# so an edited event or organisation, here or in another process, gets a new one.
_FRAMES: dict[tuple, tuple[bytes, bytes]] = {}
_FRAMES_MAX = 64


def _request_frame(
    event: Event, site_url: str, organisation: OrganisationLike, organiser_email: str
) -> tuple[bytes, bytes]:
    """Return a REQUEST invite without its personal properties, cut where they go."""
    key = (
        event.id, event.title, event.starts_at, event.ends_at, event.timezone, event.status,
        event.ics_sequence, event.created_at, event.updated_at,
        site_url, organisation.name, organiser_email,
    )  # fmt: skip
    frame = _FRAMES.get(key)
    if frame is None:
        vevent = _vevent(event, site_url=site_url, now=None, description="", location="", url="")
        for name in ("DTSTAMP", "DESCRIPTION", "URL"):  # the personal part brings them
            vevent.pop(name, None)
        vevent.organizer = _organizer(organisation, organiser_email)
        calendar = _calendar("REQUEST")
        calendar.add_component(vevent)
        head, end, tail = _finish(calendar, [event]).partition(b"END:VEVENT\r\n")
        if len(_FRAMES) >= _FRAMES_MAX:
            _FRAMES.clear()
        frame = _FRAMES[key] = (head, end + tail)
    return frame
