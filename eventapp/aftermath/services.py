"""The replay and materials of an ended event, and the organiser's request for the mail."""

from __future__ import annotations

from datetime import datetime
from typing import BinaryIO

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from eventapp.aftermath import uploads
from eventapp.aftermath.models import EventMaterial
from eventapp.events.models import Event, Phase
from eventapp.extensions import db
from eventapp.uploads import UploadRejected


class NotEnded(ValueError):
    """The event is not over: a replay or its mail would come too soon."""


def check_ended(event: Event, now: datetime) -> None:
    """Refuse to add what follows an event before it has ended (or when it was cancelled)."""
    if event.phase(now) != Phase.ENDED:
        raise NotEnded(
            str(_l("L'événement n'est pas terminé : le replay et les documents viendront après."))
        )


def publish_replay(event: Event, url: str, now: datetime) -> bool:
    """Set the recording's address and publish it; return True when it is published now for the
    first time (the moment to offer the mail)."""
    check_ended(event, now)
    first = event.replay_published_at is None
    event.replay_url = url
    if first:
        event.replay_published_at = now
    db.session.flush()
    return first


def withdraw_replay(event: Event) -> None:
    """Take the replay off the event page (the mail, if sent, stays sent)."""
    event.replay_url = ""
    event.replay_published_at = None
    db.session.flush()


def attach_transcript(event: Event, stream: BinaryIO, filename: str) -> str | None:
    """Store the replay's transcript or captions; return the file it replaces (to remove)."""
    previous = event.transcript_file_name
    event.transcript_file_name, event.transcript_file_size = uploads.store(
        stream, filename, uploads.TRANSCRIPT_EXTENSIONS
    )
    db.session.flush()
    return previous


def add_material(
    event: Event,
    title: str,
    upload: tuple[BinaryIO, str],
    accessible: bool,
    alternative: tuple[BinaryIO, str] | None,
    now: datetime,
) -> EventMaterial:
    """Store a material and its alternative, last in the list; add and flush, never commit."""
    check_ended(event, now)
    if not accessible and alternative is None:
        raise UploadRejected(
            _l("Ajoutez une version accessible, ou cochez que ce fichier est accessible.")
        )
    name, size = uploads.store(*upload, uploads.MATERIAL_EXTENSIONS)
    material = EventMaterial(
        event_id=event.id, title=title, file_name=name, file_size=size, accessible=accessible
    )
    if alternative is not None:
        material.alternative_file_name, material.alternative_file_size = uploads.store(
            *alternative, uploads.MATERIAL_EXTENSIONS
        )
    last = db.session.scalar(
        select(func.max(EventMaterial.position)).where(EventMaterial.event_id == event.id)
    )
    material.position = (last or 0) + 1
    db.session.add(material)
    db.session.flush()
    return material


def delete_material(material: EventMaterial) -> None:
    """Delete a material and, once that commits, its files."""
    uploads.remove_file(material.file_name)
    uploads.remove_file(material.alternative_file_name)
    db.session.delete(material)
    db.session.flush()


def request_mail(event: Event, now: datetime) -> bool:
    """Ask the worker to send the post-event mail; return False if it was asked for already."""
    check_ended(event, now)
    if not event.has_replay:
        raise NotEnded(str(_l("Publiez d'abord le replay : le mail en donne le lien.")))
    if event.aftermath_requested_at is not None:
        return False
    event.aftermath_requested_at = now
    db.session.flush()
    return True


def materials_of(event: Event) -> list[EventMaterial]:
    """Return the event's materials in their order."""
    return list(
        db.session.scalars(
            select(EventMaterial)
            .where(EventMaterial.event_id == event.id)
            .order_by(EventMaterial.position, EventMaterial.id)
        )
    )
