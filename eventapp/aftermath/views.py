"""Public downloads of what follows an event: its materials and the replay's transcript."""

from __future__ import annotations

from flask import Blueprint, abort

from eventapp.aftermath import uploads
from eventapp.aftermath.mails import transcript_name
from eventapp.aftermath.models import EventMaterial
from eventapp.events import services as events
from eventapp.events.models import Event
from eventapp.extensions import db

bp = Blueprint("aftermath", __name__)
bp.add_app_template_global(transcript_name, "transcript_name")
bp.add_app_template_global(uploads.kind_label, "file_kind")


def _public_event_or_404(slug: str) -> Event:
    event = events.public_event(slug)
    if event is None:
        abort(404)
    return event


def _material_or_404(slug: str, material_id: int) -> EventMaterial:
    event = _public_event_or_404(slug)
    material = db.session.get(EventMaterial, material_id)
    if material is None or material.event_id != event.id:
        abort(404)
    return material


@bp.get("/events/<slug>/materials/<int:material_id>/<path:filename>")
def material(slug: str, material_id: int, filename: str):
    """Download a material; the name in the URL is for people, never for files."""
    found = _material_or_404(slug, material_id)
    return uploads.send(found.file_name, found.download_name)


@bp.get("/events/<slug>/materials/<int:material_id>/accessible/<path:filename>")
def material_alternative(slug: str, material_id: int, filename: str):
    """Download the accessible alternative of a material."""
    found = _material_or_404(slug, material_id)
    if not found.alternative_file_name:
        abort(404)
    return uploads.send(found.alternative_file_name, found.alternative_download_name)


@bp.get("/events/<slug>/replay/<path:filename>")
def transcript(slug: str, filename: str):
    """Download the transcript or captions of the published replay."""
    event = _public_event_or_404(slug)
    if not event.has_replay or not event.transcript_file_name:
        abort(404)
    return uploads.send(event.transcript_file_name, transcript_name(event))
