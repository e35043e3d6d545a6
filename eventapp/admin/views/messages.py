"""Write to one registrant or to every confirmed one, through the outbox, after a preview.

The preview step mints a send id that travels with the message in the confirmation form; the
dedupe key of each mail carries it, so the same send posted twice (double click, reload, back
button) queues each mail once.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext

from eventapp import mailkeys
from eventapp.admin.forms.messages import MessageForm
from eventapp.audit.services import record
from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.outbox.render import render_mail
from eventapp.outbox.services import Recipient, enqueue, enqueue_many
from eventapp.registrations.models import Registration
from eventapp.registrations.services import confirmed_registrations

bp = Blueprint("messages", __name__)

TEMPLATE = "message"
KIND = "organiser_message"


def _preview(form: MessageForm, registration: Registration | None) -> Any:
    context = {
        "subject": form.subject.data,
        "body": form.body.data,
        "to": registration.email if registration else "",
        "to_name": registration.full_name if registration else "",
    }
    return render_mail(TEMPLATE, registration.locale if registration else "fr", context)


def _step(form: MessageForm) -> str:
    """Tell which step a post is at: back to "edit", "preview" or "send"."""
    if request.method != "POST" or "edit" in request.form:
        return "edit"
    if not form.validate_on_submit():
        return "edit"
    if form.confirmed.data == "1" and form.send_id.data:
        return "send"
    return "preview"


def _render(form, step, *, event, registration=None, recipients=0, sample=None):
    if step == "preview":
        form.send_id.data = form.send_id.data or uuid.uuid4().hex
        form.confirmed.data = "1"
    else:
        form.confirmed.data = ""
    status = 422 if request.method == "POST" and form.errors else 200
    return render_template(
        "admin/registrations/message.html",
        form=form,
        step=step,
        event=event,
        registration=registration,
        recipients=recipients,
        preview=_preview(form, sample) if step == "preview" else None,
    ), status


@bp.route("/registrations/<int:registration_id>/message", methods=["GET", "POST"])
def to_registrant(registration_id: int):
    """Write to one registrant: the form, the preview, then the send."""
    registration = db.get_or_404(Registration, registration_id)
    if registration.erased_at is not None or not registration.email:
        abort(404)
    form = MessageForm()
    step = _step(form)
    if step != "send":
        return _render(
            form,
            step,
            event=registration.event,
            registration=registration,
            recipients=1,
            sample=registration,
        )
    queued = enqueue(
        TEMPLATE,
        registration.email,
        mailkeys.organiser_message(registration.id, form.send_id.data),
        to_name=registration.full_name,
        locale=registration.locale,
        kind=KIND,
        registration_id=registration.id,
        subject=form.subject.data,
        body=form.body.data,
    )
    if queued is None:
        flash(gettext("Ce message est déjà parti : il n'est pas envoyé une seconde fois."), "error")
    else:
        record(
            "registration.message",
            registration,
            label=registration.full_name,
            details={"subject": form.subject.data, "send_id": form.send_id.data},
        )
        db.session.commit()
        flash(gettext("Message envoyé à %(name)s.", name=registration.full_name), "success")
    return redirect(url_for("admin.registrations.index", event_id=registration.event_id), code=303)


@bp.route("/events/<int:event_id>/message", methods=["GET", "POST"])
def to_confirmed(event_id: int):
    """Write to every confirmed registrant of an event: the form, the preview, then the send."""
    event = db.get_or_404(Event, event_id)
    form = MessageForm()
    step = _step(form)
    registrations = confirmed_registrations(event)
    if step != "send":
        return _render(
            form,
            step,
            event=event,
            recipients=len(registrations),
            sample=registrations[0] if registrations else None,
        )
    if not registrations:
        flash(gettext("Personne n'a de place confirmée : aucun message n'est parti."), "error")
        return redirect(url_for("admin.registrations.index", event_id=event.id), code=303)
    added = enqueue_many(
        TEMPLATE,
        (
            Recipient(
                to=registration.email,
                dedupe_key=mailkeys.organiser_message(registration.id, form.send_id.data),
                to_name=registration.full_name,
                locale=registration.locale,
                registration_id=registration.id,
            )
            for registration in registrations
        ),
        kind=KIND,
        subject=form.subject.data,
        body=form.body.data,
    )
    if added:
        record(
            "event.message",
            event,
            label=event.title,
            details={
                "subject": form.subject.data,
                "send_id": form.send_id.data,
                "recipients": added,
            },
        )
        db.session.commit()
        flash(
            ngettext(
                "Message envoyé à %(num)d personne.", "Message envoyé à %(num)d personnes.", added
            ),
            "success",
        )
    else:
        flash(gettext("Ce message est déjà parti : il n'est pas envoyé une seconde fois."), "error")
    return redirect(url_for("admin.registrations.index", event_id=event.id), code=303)
