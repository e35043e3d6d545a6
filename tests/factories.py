"""Small builders for models, with sensible defaults a test can override.

Each builder commits, so that a request made next by the test client (in its own session, as in
production) sees the row.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from eventapp.events.models import Event, EventKind, EventStatus
from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.speakers.models import EventSpeaker, Speaker

_numbers = itertools.count(1)


def make_event(**fields) -> Event:
    """Add a published online event starting in a week, unless told otherwise."""
    number = next(_numbers)
    starts_at: datetime = fields.pop(
        "starts_at", now_utc().replace(microsecond=0) + timedelta(days=7)
    )
    values = {
        "slug": f"event-{number}",
        "title": f"Event {number}",
        "summary": "A summary",
        "kind": EventKind.ONLINE,
        "status": EventStatus.PUBLISHED,
        "starts_at": starts_at,
        "ends_at": starts_at + timedelta(minutes=30),
        "timezone": "Europe/Paris",
        "connection_url": f"https://visio.example.org/secret-room-{number}",
    }
    values.update(fields)
    event = Event(**values)
    db.session.add(event)
    db.session.commit()
    return event


def make_speaker(**fields) -> Speaker:
    number = next(_numbers)
    values = {"name": f"Speaker {number}", "role_line": f"Role {number}", "links": []}
    values.update(fields)
    speaker = Speaker(**values)
    db.session.add(speaker)
    db.session.commit()
    return speaker


def add_speaker(event: Event, speaker: Speaker, position: int = 0, **fields) -> EventSpeaker:
    link = EventSpeaker(event=event, speaker=speaker, position=position, **fields)
    db.session.add(link)
    db.session.commit()
    return link
