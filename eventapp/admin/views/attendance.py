"""Import a video platform's attendance report: upload it, check its columns and the people it
names against the registrations, then confirm; nothing is saved before the confirmation."""

from __future__ import annotations

from collections.abc import Mapping

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext

from eventapp.admin.forms import ActionForm
from eventapp.admin.forms.rooms import NO_COLUMN, ReportMappingForm, ReportUploadForm
from eventapp.audit.services import record
from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.rooms import imports
from eventapp.rooms.reports import (
    FIELDS,
    MAX_BYTES,
    OPTIONAL_FIELDS,
    Person,
    Report,
    ReportError,
    guess_mapping,
    read_report,
)
from eventapp.uploads import UploadRejected

bp = Blueprint("attendance", __name__, url_prefix="/events")

MAPPED_FIELDS = FIELDS + OPTIONAL_FIELDS
SAMPLE_ROWS = 10


def _event_or_404(event_id: int) -> Event:
    return db.get_or_404(Event, event_id)


def _kept_or_404(event: Event, name: str) -> bytes | None:
    """Return a kept report's bytes, None when it is gone; 404 for a name we never gave this
    event."""
    try:
        return imports.kept_report(event, name)
    except ValueError:
        abort(404)


def _mapping(values: Mapping[str, str], report: Report) -> dict[str, int | None]:
    """Return the organiser's mapping from a form or query string, else the guessed one."""
    if not any(field in values for field in MAPPED_FIELDS):
        return guess_mapping(report.columns)
    mapping: dict[str, int | None] = {}
    for field in MAPPED_FIELDS:
        value = values.get(field, NO_COLUMN)
        index = int(value) if value.isdecimal() else None
        mapping[field] = index if index is not None and index < len(report.columns) else None
    return mapping


def _back(event: Event):
    return redirect(url_for("admin.presence.page", event_id=event.id, _anchor="presences"), 303)


@bp.route("/<int:event_id>/presence/import", methods=["GET", "POST"])
def import_report(event_id: int):
    """Take a platform's attendance report and keep it until its preview is confirmed."""
    event = _event_or_404(event_id)
    form = ReportUploadForm()
    if request.method == "POST" and form.validate_on_submit():
        # One byte past the limit is enough for read_report to say the file is too big.
        data = form.report.data.stream.read(MAX_BYTES + 1)
        try:
            read_report(data)
            name = imports.keep_report(event, data)
        except (ReportError, UploadRejected) as error:
            db.session.rollback()  # also deletes a file just written
            form.report.errors.append(str(error))
        else:
            db.session.commit()  # a file written in a transaction outlives it only by a commit
            return redirect(
                url_for("admin.attendance.preview", event_id=event.id, name=name), code=303
            )
    status = 422 if request.method == "POST" else 200
    return render_template("admin/events/attendance_import.html", event=event, form=form), status


@bp.get("/<int:event_id>/presence/import/<name>")
def preview(event_id: int, name: str):
    """Show the report's columns, its first rows and who it matches; saves nothing."""
    event = _event_or_404(event_id)
    data = _kept_or_404(event, name)
    if data is None:
        abort(404)
    report = read_report(data)  # read once already at the upload: the same bytes read the same
    mapping = _mapping(request.args, report)
    reading = imports.read_kept(event, report, mapping)
    form = ReportMappingForm(
        formdata=None,
        columns=report.columns,
        data={f: NO_COLUMN if i is None else str(i) for f, i in mapping.items()},
    )
    return render_template(
        "admin/events/attendance_preview.html",
        event=event,
        name=name,
        form=form,
        reading=reading,
        sample=report.rows[:SAMPLE_ROWS],
        action=ActionForm(),
    )


@bp.post("/<int:event_id>/presence/import/<name>")
def confirm(event_id: int, name: str):
    """Import the kept report with the mapping and choices posted; read again from the file."""
    event = _event_or_404(event_id)
    data = _kept_or_404(event, name)
    if not ActionForm().validate_on_submit():
        return _back(event)
    if data is None:
        flash(
            gettext("Ce rapport a déjà été importé, ou il a expiré : rien n'a été modifié."),
            "error",
        )
        return _back(event)
    report = read_report(data)
    reading = imports.read_kept(event, report, _mapping(request.form, report))
    chosen: list[tuple[Person, int]] = []
    for match in reading.of("ambiguous"):
        line = match.person.lines[0]
        value = request.form.get(f"choice-{line}", "")
        # Only one of the namesakes shown: an id typed in the form names no one else.
        allowed = {registrant.id for registrant in reading.namesakes[line]}
        if value.isdecimal() and int(value) in allowed:
            chosen.append((match.person, int(value)))
    matched = [(m.person, m.registration_id) for m in reading.matches if m.registration_id]
    imported = imports.apply_report(event, matched + chosen, now_utc())
    kept_lines = sum(len(someone.lines) for someone, _unused in matched + chosen)
    rows = len(reading.problems) + sum(len(m.person.lines) for m in reading.matches)
    left_out = rows - kept_lines
    record(
        "event.presence_import",
        event,
        label=event.title,
        details={
            "imported": imported,
            "by_email": len(reading.of("email")),
            "by_name": len(reading.of("name")),
            "chosen": len(chosen),
            "ambiguous": len(reading.of("ambiguous")) - len(chosen),
            "unmatched": len(reading.of("none")),
            "problems": len(reading.problems),
            "lines_left_out": left_out,
        },
    )
    imports.forget_report(name)  # once the commit succeeds
    db.session.commit()
    flash(
        gettext(
            "%(imported)s, %(left_out)s.",
            imported=ngettext("%(num)d présence importée", "%(num)d présences importées", imported),
            left_out=ngettext("%(num)d ligne écartée", "%(num)d lignes écartées", left_out),
        ),
        "success",
    )
    return _back(event)
