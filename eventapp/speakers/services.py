"""Reading speakers for the public pages, and what organisers change on them; add and flush,
never commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from eventapp.events.models import Event, EventStatus
from eventapp.extensions import db
from eventapp.speakers.models import EventSpeaker, Speaker, SpeakerRole

SPEAKER_FIELDS = ("name", "role_line", "organisation", "bio", "links", "photo_filename")


class SpeakerListError(ValueError):
    """A change to an event's list of speakers that the rules refuse."""


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


def create_speaker(values: dict[str, Any]) -> Speaker:
    speaker = Speaker(**values)
    db.session.add(speaker)
    db.session.flush()
    return speaker


def update_speaker(speaker: Speaker, values: dict[str, Any]) -> None:
    for name, value in values.items():
        setattr(speaker, name, value)
    db.session.flush()


def _ordered_links(event: Event) -> list[EventSpeaker]:
    return sorted(event.speaker_links, key=lambda link: (link.position, link.id or 0))


def attach_speaker(event: Event, speaker: Speaker, role: SpeakerRole) -> EventSpeaker:
    """Put a speaker at the end of the event's list; one already on it is refused."""
    links = _ordered_links(event)
    if any(link.speaker_id == speaker.id for link in links):
        raise SpeakerListError(speaker.name)
    for position, item in enumerate(links):
        item.position = position
    link = EventSpeaker(speaker=speaker, role=role, position=len(links))
    event.speaker_links.append(link)
    db.session.flush()
    return link


def move_speaker(link: EventSpeaker, offset: int) -> bool:
    """Move a speaker up (-1) or down (+1) the event's list; return whether it moved."""
    links = _ordered_links(link.event)
    index = links.index(link)
    target = index + offset
    if not 0 <= target < len(links):
        return False
    links[index], links[target] = links[target], links[index]
    for position, item in enumerate(links):
        item.position = position
    db.session.flush()
    return True


def reorder_speakers(event: Event, link_ids: list[int]) -> None:
    """Set the whole order at once; the ids must be exactly the event's links."""
    links = {link.id: link for link in event.speaker_links}
    if sorted(link_ids) != sorted(links):
        raise SpeakerListError("order")
    for position, link_id in enumerate(link_ids):
        links[link_id].position = position
    db.session.flush()


def detach_speaker(link: EventSpeaker) -> None:
    """Take a speaker off an event; the others close up."""
    event = link.event
    event.speaker_links.remove(link)
    db.session.flush()
    for position, item in enumerate(_ordered_links(event)):
        item.position = position
    db.session.flush()
