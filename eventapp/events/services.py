"""Reading events for the public pages."""

from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import Select, bindparam
from sqlalchemy.orm import joinedload, selectinload

from eventapp.events.models import Event, past_events, upcoming_events, visible_events
from eventapp.extensions import db
from eventapp.speakers.models import EventSpeaker


def _with_speakers(stmt):
    return stmt.options(selectinload(Event.speaker_links).selectinload(EventSpeaker.speaker))


def home_listing(now: datetime) -> tuple[list[Event], list[Event]]:
    """Return the upcoming events, soonest first, and the past ones, latest first."""
    upcoming = db.session.scalars(_with_speakers(upcoming_events(now))).all()
    past = db.session.scalars(_with_speakers(past_events(now))).all()
    return list(upcoming), list(past)


def public_event(slug: str, *, speakers: bool = True) -> Event | None:
    """Return the public event with this slug, and its speakers unless a page shows none, in one
    query, or None."""
    return db.session.scalars(_public_event_by_slug(speakers), {"slug": slug}).unique().first()


@functools.cache
def _public_event_by_slug(speakers: bool) -> Select[tuple[Event]]:
    """Build the query of public_event once: it is run on every public page."""
    stmt = visible_events().where(Event.slug == bindparam("slug"))
    if speakers:
        stmt = stmt.options(joinedload(Event.speaker_links).joinedload(EventSpeaker.speaker))
    return stmt
