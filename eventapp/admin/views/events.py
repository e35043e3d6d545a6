"""Events in the back office: list, create, edit, publish, cancel, duplicate, delete, speakers."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from eventapp.admin.forms import ActionForm
from eventapp.admin.forms.events import EventForm
from eventapp.admin.forms.fields import choices, utc_to_local
from eventapp.admin.forms.speakers import AttachSpeakerForm, ReorderForm, SpeakerRoleForm
from eventapp.audit.services import changed, record, snapshot
from eventapp.events import services as event_services
from eventapp.events.models import Event, EventStatus
from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.pagination import paginate
from eventapp.registrations.counts import event_counts, events_with_counts, rows_with_counts
from eventapp.registrations.services import cancel_event
from eventapp.speakers import services as speaker_services
from eventapp.speakers.models import EventSpeaker, Speaker, SpeakerRole

bp = Blueprint("events", __name__, url_prefix="/events")

PAGE_SIZE = 30
STATUS_FILTERS = {status.value for status in EventStatus}


def _event_or_404(event_id: int) -> Event:
    return db.get_or_404(Event, event_id)


def _link_or_404(event: Event, link_id: int) -> EventSpeaker:
    link = db.session.get(EventSpeaker, link_id)
    if link is None or link.event_id != event.id:
        abort(404)
    return link


@bp.get("/")
def index():
    """List the events, latest first, with their registration counts."""
    status = request.args.get("status", "")
    stmt = select(Event).order_by(Event.starts_at.desc(), Event.id.desc())
    if status in STATUS_FILTERS:
        stmt = stmt.where(Event.status == status)
    page = paginate(
        events_with_counts(stmt), request.args.get("page", 1, type=int), PAGE_SIZE, rows=True
    )
    return render_template(
        "admin/events/index.html", page=page, rows=rows_with_counts(page.items), status=status
    )


def _form_for(event: Event | None) -> EventForm:
    extras = list(event.reminder_offsets or []) if event else []
    form = EventForm(obj=event if request.method == "GET" else None, extra_reminders=extras)
    if request.method == "GET":
        if event is None:
            form.waitlist_enabled.data = True
            form.reminder_offsets.data = [24 * 60, 60]
        else:
            tz = event.tz
            for name in ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at"):
                form[name].data = utc_to_local(getattr(event, name), tz)
            form.kind.data = event.kind.value
            form.reminder_offsets.data = list(event.reminder_offsets or [])
    return form


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Create an event, as a draft."""
    form = _form_for(None)
    if form.validate_on_submit():
        try:
            event = event_services.create_event({**form.values(), "slug": form.slug.data or ""})
        except event_services.SlugTaken:
            db.session.rollback()
            form.slug.errors.append(gettext("Un autre événement utilise déjà cette adresse."))
        else:
            record("event.create", event, label=event.title)
            db.session.commit()
            flash(gettext("Événement créé (brouillon)."), "success")
            return redirect(url_for("admin.events.detail", event_id=event.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("admin/events/form.html", form=form, event=None), status


@bp.get("/<int:event_id>")
def detail(event_id: int):
    """Show an event: its state, its counts, its speakers and what can be done with it."""
    event = db.session.scalars(
        select(Event)
        .where(Event.id == event_id)
        .options(selectinload(Event.speaker_links).selectinload(EventSpeaker.speaker))
    ).first()
    if event is None:
        abort(404)
    attach = AttachSpeakerForm()
    on_event = {link.speaker_id for link in event.speaker_links}
    attach.speaker_id.choices = choices(
        (speaker.id, speaker.name)
        for speaker in db.session.scalars(select(Speaker).order_by(Speaker.name))
        if speaker.id not in on_event
    )
    return render_template(
        "admin/events/detail.html",
        event=event,
        links=sorted(event.speaker_links, key=lambda link: (link.position, link.id)),
        counts=event_counts(event),
        attach=attach,
        role_form=SpeakerRoleForm(),
        action=ActionForm(),
        now=now_utc(),
    )


@bp.route("/<int:event_id>/edit", methods=["GET", "POST"])
def edit(event_id: int):
    """Edit an event; a new time or link sends registrants the new invite."""
    event = _event_or_404(event_id)
    form = _form_for(event)
    if form.validate_on_submit():
        before = snapshot(event, event_services.EVENT_FIELDS)
        try:
            outcome = event_services.update_event(
                event, {**form.values(), "slug": form.slug.data or ""}
            )
        except event_services.SlugTaken:
            db.session.rollback()
            form.slug.errors.append(gettext("Un autre événement utilise déjà cette adresse."))
        else:
            differences = changed(before, snapshot(event, event_services.EVENT_FIELDS))
            record(
                "event.update",
                event,
                label=event.title,
                details={"changed": differences, **outcome},
            )
            db.session.commit()
            flash(gettext("Événement enregistré."), "success")
            if outcome["invites"]:
                flash(
                    ngettext(
                        "La nouvelle invitation part à %(num)d personne inscrite.",
                        "La nouvelle invitation part aux %(num)d personnes inscrites.",
                        outcome["invites"],
                    ),
                    "success",
                )
            if outcome["promoted"]:
                flash(
                    ngettext(
                        "%(num)d personne quitte la liste d'attente.",
                        "%(num)d personnes quittent la liste d'attente.",
                        outcome["promoted"],
                    ),
                    "success",
                )
            return redirect(url_for("admin.events.detail", event_id=event.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("admin/events/form.html", form=form, event=event), status


@bp.post("/<int:event_id>/publish")
def publish(event_id: int):
    """Make a draft public."""
    event = _event_or_404(event_id)
    try:
        event_services.publish_event(event)
    except event_services.EditError:
        db.session.rollback()
        flash(gettext("Seul un brouillon peut être publié."), "error")
    else:
        record("event.publish", event, label=event.title)
        db.session.commit()
        flash(gettext("Événement publié."), "success")
    return redirect(url_for("admin.events.detail", event_id=event.id), code=303)


@bp.route("/<int:event_id>/cancel", methods=["GET", "POST"])
def cancel(event_id: int):
    """Ask for confirmation, then cancel: every registrant gets the cancellation."""
    event = _event_or_404(event_id)
    form = ActionForm()
    if event.status == EventStatus.CANCELLED:
        flash(gettext("Cet événement est déjà annulé."), "error")
        return redirect(url_for("admin.events.detail", event_id=event.id), code=303)
    if request.method == "POST" and form.validate_on_submit():
        sent = cancel_event(event)
        record("event.cancel", event, label=event.title, details={"mails": sent})
        db.session.commit()
        flash(
            ngettext(
                "Événement annulé ; %(num)d personne est prévenue.",
                "Événement annulé ; %(num)d personnes sont prévenues.",
                sent,
            ),
            "success",
        )
        return redirect(url_for("admin.events.detail", event_id=event.id), code=303)
    return render_template(
        "admin/events/cancel.html", event=event, form=form, counts=event_counts(event)
    )


@bp.post("/<int:event_id>/duplicate")
def duplicate(event_id: int):
    """Copy an event and its speakers as a new draft, then open it for editing."""
    event = _event_or_404(event_id)
    copy = event_services.duplicate_event(event)
    record("event.duplicate", copy, label=copy.title, details={"from": event.id})
    db.session.commit()
    flash(gettext("Copie créée en brouillon : changez ses dates et son titre."), "success")
    return redirect(url_for("admin.events.edit", event_id=copy.id), code=303)


@bp.route("/<int:event_id>/delete", methods=["GET", "POST"])
def delete(event_id: int):
    """Delete a draft nobody registered to, after confirmation."""
    event = _event_or_404(event_id)
    form = ActionForm()
    deletable = event.status == EventStatus.DRAFT and not event_services.has_registrations(event)
    if request.method == "POST" and form.validate_on_submit() and deletable:
        title = event.title
        record("event.delete", event, label=title)
        event_services.delete_event(event)
        db.session.commit()
        flash(gettext("Événement supprimé."), "success")
        return redirect(url_for("admin.events.index"), code=303)
    return render_template(
        "admin/events/delete.html", event=event, form=form, deletable=deletable
    ), (200 if deletable or request.method == "GET" else 409)


# --- speakers on an event ---------------------------------------------------------------------


def _back(event: Event, anchor: str = "intervenants"):
    return redirect(url_for("admin.events.detail", event_id=event.id) + f"#{anchor}", code=303)


@bp.post("/<int:event_id>/speakers")
def attach_speaker(event_id: int):
    """Put a speaker at the end of the event's list."""
    event = _event_or_404(event_id)
    form = AttachSpeakerForm()
    form.speaker_id.choices = choices((s.id, s.name) for s in db.session.scalars(select(Speaker)))
    if not form.validate_on_submit():
        flash(gettext("Choisissez un·e intervenant·e et son rôle."), "error")
        return _back(event)
    speaker = db.session.get(Speaker, form.speaker_id.data)
    try:
        link = speaker_services.attach_speaker(event, speaker, SpeakerRole(form.role.data))
    except speaker_services.SpeakerListError:
        db.session.rollback()
        flash(gettext("Cette personne intervient déjà à cet événement."), "error")
        return _back(event)
    record(
        "event.speaker_attach",
        event,
        label=event.title,
        details={"speaker": speaker.name, "role": link.role},
    )
    db.session.commit()
    flash(gettext("%(name)s ajouté·e à l'événement.", name=speaker.name), "success")
    return _back(event)


@bp.post("/<int:event_id>/speakers/<int:link_id>/move")
def move_speaker(event_id: int, link_id: int):
    """Move a speaker one place up or down: a plain form button, no script needed."""
    event = _event_or_404(event_id)
    link = _link_or_404(event, link_id)
    offset = -1 if request.form.get("direction") == "up" else 1
    if ActionForm().validate_on_submit() and speaker_services.move_speaker(link, offset):
        record(
            "event.speaker_move",
            event,
            label=event.title,
            details={"speaker": link.speaker.name, "position": link.position + 1},
        )
        db.session.commit()
        flash(
            gettext(
                "%(name)s est maintenant en position %(position)d.",
                name=link.speaker.name,
                position=link.position + 1,
            ),
            "success",
        )
    return _back(event, f"lien-{link.id}")


@bp.post("/<int:event_id>/speakers/order")
def reorder_speakers(event_id: int):
    """Set the whole order at once (sent by the optional drag-and-drop script)."""
    event = _event_or_404(event_id)
    form = ReorderForm()
    try:
        ids = [int(part) for part in (form.order.data or "").split(",") if part]
        if not form.validate_on_submit():
            raise ValueError(form.errors)
        speaker_services.reorder_speakers(event, ids)
    except ValueError:  # a bad id in the form, or SpeakerListError
        db.session.rollback()
        flash(gettext("Cet ordre ne correspond pas aux intervenant·es de l'événement."), "error")
        return _back(event)
    record("event.speaker_reorder", event, label=event.title, details={"order": ids})
    db.session.commit()
    flash(gettext("Ordre des intervenant·es enregistré."), "success")
    return _back(event)


@bp.post("/<int:event_id>/speakers/<int:link_id>/role")
def speaker_role(event_id: int, link_id: int):
    """Change a speaker's role on this event."""
    event = _event_or_404(event_id)
    link = _link_or_404(event, link_id)
    form = SpeakerRoleForm()
    if form.validate_on_submit():
        before = link.role.value
        link.role = SpeakerRole(form.role.data)
        record(
            "event.speaker_role",
            event,
            label=event.title,
            details={"speaker": link.speaker.name, "changed": {"role": [before, link.role]}},
        )
        db.session.commit()
        flash(gettext("Rôle de %(name)s enregistré.", name=link.speaker.name), "success")
    return _back(event, f"lien-{link.id}")


@bp.post("/<int:event_id>/speakers/<int:link_id>/detach")
def detach_speaker(event_id: int, link_id: int):
    """Take a speaker off the event."""
    event = _event_or_404(event_id)
    link = _link_or_404(event, link_id)
    if ActionForm().validate_on_submit():
        name = link.speaker.name
        speaker_services.detach_speaker(link)
        record("event.speaker_detach", event, label=event.title, details={"speaker": name})
        db.session.commit()
        flash(gettext("%(name)s ne figure plus sur l'événement.", name=name), "success")
    return _back(event)
