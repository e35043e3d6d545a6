"""After an event in the back office: publish the replay, add materials, send the mail once."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext

from eventapp.admin.forms import ActionForm
from eventapp.admin.forms.aftermath import MaterialForm, ReplayForm, has_file
from eventapp.aftermath import services
from eventapp.aftermath.mails import audience_counts, preview_aftermath
from eventapp.aftermath.models import EventMaterial
from eventapp.aftermath.services import materials_of
from eventapp.aftermath.uploads import kind_label, remove_file
from eventapp.audit.services import record
from eventapp.events.models import Event, Phase
from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.uploads import UploadRejected

bp = Blueprint("aftermath", __name__, url_prefix="/events")


def _event_or_404(event_id: int) -> Event:
    return db.get_or_404(Event, event_id)


def _page(event: Event, replay: ReplayForm, material: MaterialForm, status: int = 200):
    now = now_utc()
    return render_template(
        "admin/events/aftermath.html",
        event=event,
        ended=event.phase(now) == Phase.ENDED,
        replay_form=replay,
        material_form=material,
        materials=materials_of(event),
        kind_label=kind_label,
        counts=audience_counts(event),
        action=ActionForm(),
    ), status


def _back(event: Event, anchor: str):
    return redirect(url_for("admin.aftermath.page", event_id=event.id, _anchor=anchor), code=303)


@bp.get("/<int:event_id>/aftermath")
def page(event_id: int):
    """Show the replay, the materials and the post-event mail of an event."""
    event = _event_or_404(event_id)
    replay = ReplayForm(replay_url=event.replay_url)
    return _page(event, replay, MaterialForm(formdata=None))


@bp.post("/<int:event_id>/aftermath/replay")
def publish_replay(event_id: int):
    """Publish (or change) the replay; the first time, go on to the mail's preview."""
    event = _event_or_404(event_id)
    form = ReplayForm()
    if not form.validate_on_submit():
        return _page(event, form, MaterialForm(formdata=None), 422)
    now = now_utc()
    replaced = None
    try:
        first = services.publish_replay(event, form.replay_url.data, now)
        if has_file(form.transcript):
            upload = form.transcript.data
            replaced = services.attach_transcript(event, upload.stream, upload.filename)
    except (services.NotEnded, UploadRejected) as error:
        db.session.rollback()  # also deletes a file just written
        field = form.transcript if isinstance(error, UploadRejected) else form.replay_url
        field.errors.append(str(error))
        return _page(event, form, MaterialForm(formdata=None), 422)
    remove_file(replaced)  # once the commit succeeds
    record("event.replay", event, label=event.title, details={"url": event.replay_url})
    db.session.commit()
    flash(gettext("Replay publié sur la page de l'événement."), "success")
    if first and event.aftermath_requested_at is None:
        return redirect(url_for("admin.aftermath.mail", event_id=event.id), code=303)
    return _back(event, "replay")


@bp.post("/<int:event_id>/aftermath/replay/withdraw")
def withdraw_replay(event_id: int):
    """Take the replay off the public page."""
    event = _event_or_404(event_id)
    if ActionForm().validate_on_submit():
        remove_file(event.transcript_file_name)
        event.transcript_file_name = event.transcript_file_size = None
        services.withdraw_replay(event)
        record("event.replay_withdraw", event, label=event.title)
        db.session.commit()
        flash(gettext("Replay retiré de la page de l'événement."), "success")
    return _back(event, "replay")


@bp.post("/<int:event_id>/aftermath/materials")
def add_material(event_id: int):
    """Add a material with its accessible alternative."""
    event = _event_or_404(event_id)
    form = MaterialForm()
    replay = ReplayForm(formdata=None, replay_url=event.replay_url)
    if not form.validate_on_submit():
        return _page(event, replay, form, 422)
    alternative = None
    if has_file(form.alternative):
        alternative = (form.alternative.data.stream, form.alternative.data.filename)
    try:
        material = services.add_material(
            event,
            form.title.data,
            (form.file.data.stream, form.file.data.filename),
            bool(form.accessible.data),
            alternative,
            now_utc(),
        )
    except (services.NotEnded, UploadRejected) as error:
        db.session.rollback()  # also deletes the files just written
        form.file.errors.append(str(error))
        return _page(event, replay, form, 422)
    record("event.material_add", event, label=event.title, details={"title": material.title})
    db.session.commit()
    flash(gettext("Document « %(title)s » ajouté.", title=material.title), "success")
    return _back(event, "documents")


@bp.post("/<int:event_id>/aftermath/materials/<int:material_id>/delete")
def delete_material(event_id: int, material_id: int):
    """Remove a material and its files."""
    event = _event_or_404(event_id)
    material = db.session.get(EventMaterial, material_id)
    if material is None or material.event_id != event.id:
        abort(404)
    if ActionForm().validate_on_submit():
        title = material.title
        services.delete_material(material)
        record("event.material_delete", event, label=event.title, details={"title": title})
        db.session.commit()
        flash(gettext("Document « %(title)s » retiré.", title=title), "success")
    return _back(event, "documents")


@bp.route("/<int:event_id>/aftermath/mail", methods=["GET", "POST"])
def mail(event_id: int):
    """Preview both versions of the post-event mail; on POST, confirm that it goes, once."""
    event = _event_or_404(event_id)
    form = ActionForm()
    locale = request.args.get("lang", "")
    if locale not in current_app.config["LANGUAGES"]:
        locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    if request.method == "POST" and form.validate_on_submit():
        try:
            asked = services.request_mail(event, now_utc())
        except services.NotEnded as error:
            flash(str(error), "error")
            return _back(event, "mail")
        if asked:
            counts = audience_counts(event)
            record("event.aftermath_mail", event, label=event.title, details=counts)
            db.session.commit()
            flash(
                gettext(
                    "C'est parti : %(total)d mails partiront dans la minute.",
                    total=counts["attended"] + counts["missed"],
                ),
                "success",
            )
        else:
            flash(gettext("Ce mail a déjà été envoyé : personne ne le recevra deux fois."), "error")
        return _back(event, "mail")
    return render_template(
        "admin/events/aftermath_mail.html",
        event=event,
        form=form,
        locale=locale,
        counts=audience_counts(event),
        thanks=preview_aftermath(event, attended=True, locale=locale),
        missed=preview_aftermath(event, attended=False, locale=locale),
    )
