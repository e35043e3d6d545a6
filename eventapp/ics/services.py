"""Calendar files for events (RFC 5545/5546) and "add to calendar" links, as plain functions."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from urllib.parse import quote, urlencode, urlsplit

from flask import current_app
from flask_babel import gettext
from icalendar import Calendar, vCalAddress, vDuration
from icalendar import Event as VEvent
from sqlalchemy import Select

from eventapp.events.models import Event, EventKind, EventStatus, visible_events
from eventapp.models import now_utc

PRODID = "-//eventapp//eventapp calendar//FR"
# The feed keeps recent history, so a subscriber's calendar does not lose last month's events.
FEED_HISTORY = timedelta(days=90)
# How often subscribed calendar apps should fetch the feed again (most apps treat it as a hint).
FEED_REFRESH = timedelta(hours=1)

GOOGLE_URL = "https://calendar.google.com/calendar/render"
OUTLOOK_URL = "https://outlook.live.com/calendar/0/deeplink/compose"


class OrganisationLike(Protocol):
    name: str


def event_uid(event: Event, site_url: str) -> str:
    """Return the UID of an event: the same for its whole life, whatever changes in it."""
    if event.id is None:
        raise ValueError("the event has no id yet: flush it before building its calendar file")
    host = urlsplit(site_url).hostname or "eventapp.invalid"
    return f"event-{event.id}@{host}"


def event_url(event: Event, site_url: str) -> str:
    """Return the public page of an event, absolute, on site_url (inside a request or not)."""
    site = urlsplit(site_url)
    adapter = current_app.url_map.bind(
        site.netloc, script_name=site.path or "/", url_scheme=site.scheme
    )
    return adapter.build("events.detail", {"slug": event.slug}, force_external=True)


def feed_events(now: datetime | None = None) -> Select[tuple[Event]]:
    """Select the events of the public feed: public ones not over, or over for less than 90 days."""
    since = (now or now_utc()) - FEED_HISTORY
    return visible_events().where(Event.ends_at > since).order_by(Event.starts_at, Event.id)


def publish_event(
    event: Event, *, site_url: str, organisation: OrganisationLike, now: datetime | None = None
) -> bytes:
    """Return the public calendar file of one event: no attendee, no private link."""
    calendar = _calendar("PUBLISH")
    calendar.add_component(_public_vevent(event, site_url, organisation, now))
    return _finish(calendar, [event])


def publish_feed(
    events: Iterable[Event],
    *,
    site_url: str,
    organisation: OrganisationLike,
    name: str,
    now: datetime | None = None,
) -> bytes:
    """Return a calendar that apps can subscribe to, with one public entry per event."""
    events = list(events)
    calendar = _calendar("PUBLISH")
    calendar.calendar_name = name  # NAME and X-WR-CALNAME
    calendar.add("X-WR-CALDESC", gettext("Les événements de %(name)s", name=organisation.name))
    calendar.add("REFRESH-INTERVAL", FEED_REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("X-PUBLISHED-TTL", vDuration(FEED_REFRESH))
    for event in events:
        calendar.add_component(_public_vevent(event, site_url, organisation, now))
    return _finish(calendar, events)


def cancel_invite(
    event: Event,
    *,
    attendee_email: str | None,
    attendee_name: str | None,
    site_url: str,
    organisation: OrganisationLike,
    organiser_email: str,
    now: datetime | None = None,
) -> bytes:
    """Return the file that removes the event from a registrant's calendar."""
    lines = [gettext("Cet événement est annulé."), event.summary]
    lines.append(gettext("Plus d'informations : %(url)s", url=event_url(event, site_url)))
    vevent = _vevent(
        event,
        site_url=site_url,
        now=now,
        description=_paragraphs(lines),
        location=_location(event, ""),
        url=event_url(event, site_url),
        status="CANCELLED",
    )
    vevent.organizer = _organizer(organisation, organiser_email)
    if attendee_email:
        vevent.add(
            "ATTENDEE",
            vCalAddress.new(
                attendee_email,
                cn=_one_line(attendee_name or "") or None,
                cutype="INDIVIDUAL",
                role="REQ-PARTICIPANT",
            ),
        )
    calendar = _calendar("CANCEL")
    calendar.add_component(vevent)
    return _finish(calendar, [event])


def google_calendar_url(event: Event, *, details_url: str) -> str:
    """Return a link that opens Google Calendar's new-event form, filled in."""
    params = {
        "action": "TEMPLATE",
        "text": event.title,
        "dates": f"{_compact_utc(event.starts_at)}/{_compact_utc(event.ends_at)}",
        "details": _public_description(event, details_url, organisation=None),
        "ctz": event.timezone,
    }
    location = _location(event, event.public_connection_url or "")
    if location:
        params["location"] = location
    return f"{GOOGLE_URL}?{urlencode(params, safe='/:', quote_via=quote)}"


def outlook_calendar_url(event: Event, *, details_url: str) -> str:
    """Return a link that opens Outlook on the web's new-event form, filled in."""
    params = {
        "path": "/calendar/action/compose",
        "rru": "addevent",
        "subject": event.title,
        "startdt": _iso_utc(event.starts_at),
        "enddt": _iso_utc(event.ends_at),
        "body": _public_description(event, details_url, organisation=None),
    }
    location = _location(event, event.public_connection_url or "")
    if location:
        params["location"] = location
    return f"{OUTLOOK_URL}?{urlencode(params, safe='/:', quote_via=quote)}"


def _calendar(method: str) -> Calendar:
    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", method)
    return calendar


def _finish(calendar: Calendar, events: list[Event]) -> bytes:
    """Add a VTIMEZONE for every TZID used, then serialise (CRLF, folded at 75 octets)."""
    if events:
        # A window around the events keeps VTIMEZONE short instead of listing 1970-2038.
        first = min(event.starts_at.astimezone(event.tz) for event in events)
        last = max(event.ends_at.astimezone(event.tz) for event in events)
        calendar.add_missing_timezones(
            first_date=date(first.year, 1, 1), last_date=date(last.year + 1, 1, 1)
        )
    missing = calendar.get_missing_tzids()
    if missing:
        raise ValueError(f"no time zone definition for {', '.join(sorted(missing))}")
    return calendar.to_ical()


def _vevent(
    event: Event,
    *,
    site_url: str,
    now: datetime | None,
    description: str,
    location: str,
    url: str,
    status: str | None = None,
) -> VEvent:
    stamp = _utc(now or now_utc())
    vevent = VEvent.new(
        uid=event_uid(event, site_url),
        stamp=stamp,
        start=_local(event.starts_at, event),
        end=_local(event.ends_at, event),
        summary=event.title,
        description=description,
        location=location or None,
        url=url,
        sequence=event.ics_sequence or 0,
        status=status or ("CANCELLED" if event.status == EventStatus.CANCELLED else "CONFIRMED"),
        created=_utc(event.created_at or stamp),
        last_modified=_utc(event.updated_at or stamp),
        transparency="OPAQUE",
    )
    return vevent


def _public_vevent(
    event: Event, site_url: str, organisation: OrganisationLike, now: datetime | None
) -> VEvent:
    details_url = event_url(event, site_url)
    return _vevent(
        event,
        site_url=site_url,
        now=now,
        description=_public_description(event, details_url, organisation),
        location=_location(event, event.public_connection_url or ""),
        url=details_url,
    )


def _public_description(
    event: Event, details_url: str, organisation: OrganisationLike | None
) -> str:
    """Write what anyone may read about the event: never the private connection link."""
    lines = []
    if event.status == EventStatus.CANCELLED:
        lines.append(gettext("Cet événement est annulé."))
    lines.append(event.summary)
    if event.public_connection_url:
        lines.append(gettext("Lien de connexion : %(url)s", url=event.public_connection_url))
    if organisation is not None and organisation.name:
        lines.append(gettext("Organisé par %(name)s", name=organisation.name))
    lines.append(gettext("Plus d'informations : %(url)s", url=details_url))
    return _paragraphs(lines)


def _location(event: Event, link: str) -> str:
    """Say where it happens: the venue, the link (or "online"), or both for a hybrid event."""
    parts = []
    if event.kind != EventKind.ONLINE and event.venue:
        parts.append(event.venue)
    if event.is_online:
        parts.append(link or gettext("En ligne (visioconférence)"))
    return " – ".join(parts)


def _organizer(organisation: OrganisationLike, email: str) -> vCalAddress:
    return vCalAddress.new(email, cn=_one_line(organisation.name) or None)


def _paragraphs(lines: list[str]) -> str:
    return "\n\n".join(line.strip() for line in lines if line and line.strip())


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def _local(moment: datetime, event: Event) -> datetime:
    return moment.astimezone(event.tz).replace(microsecond=0)


def _compact_utc(moment: datetime) -> str:
    return _utc(moment).strftime("%Y%m%dT%H%M%SZ")


def _iso_utc(moment: datetime) -> str:
    return _utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")
