"""Reading speakers for the public pages."""

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from eventapp.events.models import EventStatus
from eventapp.extensions import db
from eventapp.speakers.models import EventSpeaker, Speaker


def speakers_with_public_events() -> list[tuple[Speaker, list[EventSpeaker]]]:
    """Return every speaker, by name, with their links to public events, soonest first."""
    speakers = db.session.scalars(
        select(Speaker)
        .options(selectinload(Speaker.event_links).selectinload(EventSpeaker.event))
        .order_by(Speaker.name)
    ).all()
    listing = []
    for speaker in speakers:
        links = sorted(
            (link for link in speaker.event_links if link.event.status != EventStatus.DRAFT),
            key=lambda link: link.event.starts_at,
        )
        listing.append((speaker, links))
    return listing
