"""Speakers in the back office: list, create, edit with a photo, delete."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from eventapp.admin.forms import ActionForm
from eventapp.admin.forms.speakers import SpeakerForm
from eventapp.audit.services import changed, record, snapshot
from eventapp.extensions import db
from eventapp.pagination import paginate
from eventapp.speakers import services as speaker_services
from eventapp.speakers.models import EventSpeaker, Speaker
from eventapp.speakers.photos import remove_photo_file, set_speaker_photo
from eventapp.uploads import UploadRejected

bp = Blueprint("speakers", __name__, url_prefix="/speakers")

PAGE_SIZE = 50


@bp.get("/")
def index():
    """List the speakers by name, with how many events each speaks at."""
    events = (
        select(func.count())
        .select_from(EventSpeaker)
        .where(EventSpeaker.speaker_id == Speaker.id)
        .scalar_subquery()
    )
    stmt = select(Speaker, events.label("events")).order_by(Speaker.name, Speaker.id)
    page = paginate(stmt, request.args.get("page", 1, type=int), PAGE_SIZE, rows=True)
    return render_template("admin/speakers/index.html", page=page)


def _apply_photo(form: SpeakerForm, speaker: Speaker) -> str | None:
    """Store a new photo, or drop the current one; return the file to delete on commit."""
    upload = form.photo.data
    if upload and getattr(upload, "filename", ""):
        return set_speaker_photo(speaker, upload.stream)
    if form.remove_photo.data and speaker.photo_filename:
        previous, speaker.photo_filename = speaker.photo_filename, None
        return previous
    return None


def _save(form: SpeakerForm, speaker: Speaker | None):
    """Create or update from a valid form; return the speaker, or None when the photo failed."""
    creating = speaker is None
    if creating:
        speaker = speaker_services.create_speaker(form.values())
        before = {}
    else:
        before = snapshot(speaker, speaker_services.SPEAKER_FIELDS)
        speaker_services.update_speaker(speaker, form.values())
    try:
        stale_photo = _apply_photo(form, speaker)
    except UploadRejected as error:
        db.session.rollback()
        form.photo.errors.append(str(error))
        return None
    after = snapshot(speaker, speaker_services.SPEAKER_FIELDS)
    if creating:
        record("speaker.create", speaker, label=speaker.name)
    else:
        record(
            "speaker.update",
            speaker,
            label=speaker.name,
            details={"changed": changed(before, after)},
        )
    remove_photo_file(stale_photo)  # once the commit succeeds
    db.session.commit()
    return speaker


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Create a speaker."""
    form = SpeakerForm()
    if form.validate_on_submit() and (speaker := _save(form, None)) is not None:
        flash(gettext("Intervenant·e créé·e."), "success")
        return redirect(url_for("admin.speakers.edit", speaker_id=speaker.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("admin/speakers/form.html", form=form, speaker=None), status


@bp.route("/<int:speaker_id>", methods=["GET", "POST"])
def edit(speaker_id: int):
    """Edit a speaker and their photo."""
    speaker = db.get_or_404(Speaker, speaker_id)
    form = SpeakerForm(obj=speaker if request.method == "GET" else None)
    if request.method == "GET":
        form.links.data = "\n".join(speaker.links or [])
    if form.validate_on_submit() and _save(form, speaker) is not None:
        flash(gettext("Intervenant·e enregistré·e."), "success")
        return redirect(url_for("admin.speakers.edit", speaker_id=speaker.id), code=303)
    links = db.session.scalars(
        select(EventSpeaker)
        .options(joinedload(EventSpeaker.event))
        .where(EventSpeaker.speaker_id == speaker.id)
    ).all()
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/speakers/form.html", form=form, speaker=speaker, links=links
    ), status


@bp.route("/<int:speaker_id>/delete", methods=["GET", "POST"])
def delete(speaker_id: int):
    """Delete a speaker after confirmation; they leave every event they were on."""
    speaker = db.get_or_404(Speaker, speaker_id)
    form = ActionForm()
    if request.method == "POST" and form.validate_on_submit():
        photo, name = speaker.photo_filename, speaker.name
        record("speaker.delete", speaker, label=name)
        db.session.delete(speaker)
        remove_photo_file(photo)  # once the commit succeeds
        db.session.commit()
        flash(gettext("%(name)s est supprimé·e.", name=name), "success")
        return redirect(url_for("admin.speakers.index"), code=303)
    return render_template(
        "admin/speakers/delete.html", speaker=speaker, form=form, events=len(speaker.event_links)
    )
