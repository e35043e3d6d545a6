"""An event's room and presence in the back office: the room's settings and state, moderator
links, recordings, minutes present per registrant, attestations."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select

from eventapp.admin.forms import ActionForm
from eventapp.admin.forms.rooms import AttestationSettingsForm, MinutesForm, RoomForm
from eventapp.aftermath import services as aftermath
from eventapp.attestations import services as attestations
from eventapp.attestations.models import Attestation
from eventapp.audit.services import record
from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.registrations.models import Registration, RegistrationStatus
from eventapp.rooms import services as rooms
from eventapp.rooms.chart import presence_chart
from eventapp.rooms.models import RoomKind
from eventapp.rooms.presence import first_and_last, set_minutes_by_hand

bp = Blueprint("presence", __name__, url_prefix="/events")


def _event_or_404(event_id: int) -> Event:
    return db.get_or_404(Event, event_id)


def _registration_or_404(event: Event, registration_id: int) -> Registration:
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.event_id != event.id:
        abort(404)
    return registration


def _back(event: Event, anchor: str = ""):
    return redirect(
        url_for("admin.presence.page", event_id=event.id, _anchor=anchor or None), code=303
    )


def _page(event: Event, room_form: RoomForm, settings: AttestationSettingsForm, status=200):
    room = rooms.room_of(event)
    confirmed = list(
        db.session.scalars(
            select(Registration)
            .where(
                Registration.event_id == event.id,
                Registration.status == RegistrationStatus.CONFIRMED,
                Registration.erased_at.is_(None),
            )
            .order_by(Registration.full_name, Registration.id)
        )
    )
    issued = {
        a.registration_id: a
        for a in db.session.scalars(select(Attestation).where(Attestation.event_id == event.id))
    }
    present = [r for r in confirmed if (r.minutes_present or 0) > 0]
    length = int((event.ends_at - event.starts_at).total_seconds() // 60)
    now = now_utc()
    # Recordings are asked of the server once the meeting ended (an API call, with its timeout).
    found = (
        rooms.recordings(event, room, now) if room.kind == RoomKind.BBB and room.ended_at else []
    )
    return render_template(
        "admin/events/presence.html",
        event=event,
        room=room,
        room_form=room_form,
        settings=settings,
        registrations=confirmed,
        seen=first_and_last(event.id, now),
        present=present,
        clicked=[r for r in confirmed if r.minutes_present is None and r.first_joined_at],
        chart=presence_chart([r.minutes_present or 0 for r in present], length),
        attestations=issued,
        codes={rid: attestations.code_of(a) for rid, a in issued.items()},
        minutes_form=MinutesForm(formdata=None),
        action=ActionForm(),
        servers=sorted(rooms.servers()),
        recordings=found,
        speaker_links=(
            rooms.speaker_moderator_urls(event, room)
            if room.kind == RoomKind.BBB and room.server in rooms.servers()
            else []
        ),
    ), status


def _forms(event: Event):
    room = rooms.room_of(event)
    room_form = RoomForm(
        formdata=None,
        servers=sorted(rooms.servers()),
        kind=room.kind,
        server=room.server,
        record=room.record,
    )
    settings = AttestationSettingsForm(
        formdata=None,
        enabled=event.attestation_min_minutes is not None,
        min_minutes=event.attestation_min_minutes,
    )
    return room_form, settings


@bp.get("/<int:event_id>/presence")
def page(event_id: int):
    """Show the room, who was there and how long, and the attestations."""
    event = _event_or_404(event_id)
    return _page(event, *_forms(event))


@bp.post("/<int:event_id>/room")
def save_room(event_id: int):
    """Choose a link room or a BigBlueButton one, and whether it may be recorded."""
    event = _event_or_404(event_id)
    _unused, settings = _forms(event)
    form = RoomForm(servers=sorted(rooms.servers()))
    if not form.validate_on_submit():
        return _page(event, form, settings, 422)
    kind = RoomKind(form.kind.data)
    rooms.set_room(event, kind, form.server.data, form.record.data)
    record("event.room", event, label=event.title, details={"kind": kind.value})
    db.session.commit()
    flash(gettext("Salle enregistrée."), "success")
    return _back(event, "salle")


# A link, not a form: the site's Content-Security-Policy (form-action 'self') stops a form's
# redirect to another origin, and entering the room changes nothing but its creation, which is
# idempotent.
@bp.get("/<int:event_id>/room/moderator")
def join_as_moderator(event_id: int):
    """Open the BigBlueButton room as a moderator, under the organiser's name."""
    event = _event_or_404(event_id)
    room = rooms.room_of(event)
    if room.kind != RoomKind.BBB:
        return _back(event, "salle")
    try:
        target = rooms.moderator_url(event, room, current_user.display_name, now_utc())
    except rooms.RoomNotReady:
        db.session.commit()  # keep the room's error, shown on the page
        flash(
            gettext("Le serveur BigBlueButton ne répond pas : réessayez dans une minute."), "error"
        )
        return _back(event, "salle")
    db.session.commit()
    return redirect(target, code=303)


@bp.post("/<int:event_id>/room/recordings/publish")
def publish_recording(event_id: int):
    """Publish one of the meeting's recordings (record_id, posted) as the event's replay."""
    event = _event_or_404(event_id)
    record_id = request.form.get("record_id", "")
    room = rooms.room_of(event)
    if room.kind != RoomKind.BBB or not ActionForm().validate_on_submit():
        return _back(event, "salle")
    now = now_utc()
    found = {r.record_id: r for r in rooms.recordings(event, room, now)}
    recording = found.get(record_id)
    if recording is None or not recording.playback_url:
        db.session.commit()
        flash(gettext("Cet enregistrement n'est pas (ou plus) disponible sur le serveur."), "error")
        return _back(event, "salle")
    try:
        aftermath.publish_replay(event, recording.playback_url, now)
    except aftermath.NotEnded:
        flash(gettext("Le replay se publie une fois l'événement terminé."), "error")
        return _back(event, "salle")
    record("event.replay", event, label=event.title, details={"url": event.replay_url})
    db.session.commit()
    flash(gettext("Enregistrement publié comme replay de l'événement."), "success")
    return _back(event, "salle")


@bp.post("/<int:event_id>/attestations/settings")
def save_attestation_settings(event_id: int):
    """Turn attestations on or off, with the minutes that earn one."""
    event = _event_or_404(event_id)
    room_form, _unused = _forms(event)
    form = AttestationSettingsForm()
    if not form.validate_on_submit():
        return _page(event, room_form, form, 422)
    event.attestation_min_minutes = form.min_minutes.data if form.enabled.data else None
    record(
        "event.attestations",
        event,
        label=event.title,
        details={"min_minutes": event.attestation_min_minutes},
    )
    db.session.commit()
    flash(gettext("Réglages des attestations enregistrés."), "success")
    return _back(event, "attestations")


@bp.post("/<int:event_id>/presence/<int:registration_id>/minutes")
def set_minutes(event_id: int, registration_id: int):
    """Mark a registrant's presence by hand, in minutes (0: absent)."""
    event = _event_or_404(event_id)
    registration = _registration_or_404(event, registration_id)
    form = MinutesForm()
    if not form.validate_on_submit():
        flash(gettext("Indiquez un nombre de minutes entre 0 et 1440."), "error")
        return _back(event, "presences")
    set_minutes_by_hand(registration, form.minutes.data, now_utc())
    record(
        "registration.presence",
        event,
        label=registration.full_name,
        details={"registration": registration.id, "minutes": form.minutes.data},
    )
    db.session.commit()
    flash(
        gettext(
            "Présence de %(name)s : %(num)d minutes.",
            name=registration.full_name,
            num=form.minutes.data,
        ),
        "success",
    )
    return _back(event, "presences")


@bp.post("/<int:event_id>/attestations/<int:registration_id>/issue")
def issue_attestation(event_id: int, registration_id: int):
    """Issue a registrant's attestation by hand, whatever the threshold."""
    event = _event_or_404(event_id)
    registration = _registration_or_404(event, registration_id)
    if ActionForm().validate_on_submit():
        attestations.issue(registration, now_utc(), by_hand=True)
        record("attestation.issue", event, label=registration.full_name)
        db.session.commit()
        flash(gettext("Attestation délivrée à %(name)s.", name=registration.full_name), "success")
    return _back(event, "presences")


@bp.post("/<int:event_id>/attestations/<int:registration_id>/revoke")
def revoke_attestation(event_id: int, registration_id: int):
    """Revoke a registrant's attestation: its page says so, its PDF is gone."""
    event = _event_or_404(event_id)
    registration = _registration_or_404(event, registration_id)
    attestation = attestations.attestation_of(registration)
    if attestation is not None and ActionForm().validate_on_submit():
        attestations.revoke(attestation, now_utc())
        record("attestation.revoke", event, label=registration.full_name)
        db.session.commit()
        flash(gettext("Attestation de %(name)s révoquée.", name=registration.full_name), "success")
    return _back(event, "presences")
