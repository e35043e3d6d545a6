"""Registration form, attendee space (/r/<token>) and connection link (/j/<token>)."""

from __future__ import annotations

import functools
import json

from babel import support
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from wtforms.i18n import messages_path

from eventapp.aftermath.services import materials_of
from eventapp.attestations.services import attestation_ready
from eventapp.events import services as events
from eventapp.events.models import Offer
from eventapp.extensions import db, limiter
from eventapp.i18n import language_switch
from eventapp.ics import services as ics
from eventapp.models import now_utc
from eventapp.registrations import services
from eventapp.registrations.forms import UTM_FIELDS, ConfirmForm, EraseForm, RegistrationForm
from eventapp.registrations.mails import invite
from eventapp.registrations.models import Registration, RegistrationStatus, TokenPurpose
from eventapp.registrations.tokens import ensure_join_token, find_by_token
from eventapp.rooms import services as rooms
from eventapp.rooms.models import RoomKind
from eventapp.rooms.presence import looks_like_a_scanner
from eventapp.site.outage import keep_form_on_outage
from eventapp.site.services import absolute_url
from eventapp.surveys.services import survey_open

bp = Blueprint("registrations", __name__)


@bp.after_request
def keep_tokens_private(response: Response) -> Response:
    """Personal links carry secrets: never send them on as a Referer, never cache them."""
    if request.path.startswith(("/r/", "/j/")):
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
    return response


def _public_event_or_404(slug: str):
    event = events.public_event(slug, speakers=False)  # these pages show none
    if event is None:
        abort(404)
    return event


@functools.lru_cache(maxsize=8)
def _wtforms_translations(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


@bp.before_request
def reuse_wtforms_translations() -> None:
    """Hand Flask-WTF WTForms' own messages, read once per locale instead of once per request."""
    request.wtforms_translations = _wtforms_translations(str(get_locale()))


def _registration_limit() -> str:
    return current_app.config["REGISTRATION_RATE_LIMIT"]


def _personal_link_limit() -> str:
    return current_app.config["PERSONAL_LINK_RATE_LIMIT"]


# A language button only draws the form again; it must not use up the visitor's tries.
@bp.route("/events/<slug>/register", methods=["GET", "POST"])
@keep_form_on_outage(RegistrationForm, _l("Votre inscription"))
@limiter.limit(
    _registration_limit, methods=["POST"], exempt_when=lambda: language_switch() is not None
)
def new(slug: str):
    """Show the registration form; on POST, register and send the mail."""
    event = _public_event_or_404(slug)
    now = now_utc()
    availability = events.availability(event, now)
    form = RegistrationForm()
    if request.method == "GET":
        for name in UTM_FIELDS:
            getattr(form, name).data = request.args.get(name, "")[:100]
        form.referrer.data = (request.referrer or "")[:500]
    page = functools.partial(
        render_template, "registrations/new.html", event=event, availability=availability
    )
    if availability.offer in (Offer.NONE, Offer.FULL):
        return page(form=None), (200 if request.method == "GET" else 409)
    if language_switch():
        # The form sent back by a language button: drawn again in that language, with what was
        # typed and what is still wrong with it, and no one registered.
        form.validate()
        return page(form=form), (422 if form.errors else 200)
    if not form.validate_on_submit():
        return page(form=form), (422 if request.method == "POST" else 200)

    applicant = services.Applicant(
        full_name=form.full_name.data.strip(),
        email=form.email.data,
        organisation=(form.organisation.data or "").strip(),
        category=form.category.data,
        wants_followups=form.wants_followups.data,
        locale=str(get_locale()),
        utm=form.utm(),
        referrer=form.referrer.data or "",
    )
    try:
        submission = services.submit_registration(event, applicant, now)
        db.session.commit()
    except services.RegistrationClosed:
        db.session.rollback()
        refusal = gettext("Les inscriptions sont closes.")
        return page(form=form, refusal=refusal), 409
    if submission.outcome == "full":
        # Filled up while the visitor typed. An address already registered got its links again
        # (hence the commit above), and the same page as anyone else.
        refusal = gettext(
            "L'événement est complet. Si vous étiez déjà inscrit·e, vos liens vous sont renvoyés "
            "par mail."
        )
        return page(form=None, refusal=refusal), 409
    return redirect(url_for("registrations.done", slug=slug, outcome=submission.outcome), code=303)


@bp.get("/events/<slug>/register/done")
def done(slug: str):
    """Say what the submission got (a seat or the waiting list) and what comes next; the same
    page whether the address was new or not."""
    event = _public_event_or_404(slug)
    outcome = "waitlisted" if request.args.get("outcome") == "waitlisted" else "confirmed"
    return render_template(
        "registrations/done.html",
        event=event,
        outcome=outcome,
        opens_at=services.join_opens_at(event),
    )


def _registration_or_404(token: str, purpose: TokenPurpose) -> Registration:
    registration = find_by_token(token, purpose)
    if registration is None:
        abort(Response(render_template("registrations/invalid_link.html"), status=404))
    return registration


@bp.get("/r/<token>")
def space(token: str):
    """The attendee space: status, event, links, and what the person can do."""
    registration = _registration_or_404(token, TokenPurpose.MANAGE)
    event = registration.event
    # The calendar links leave the site (Google, Microsoft, whoever sees the calendar): they get
    # the join secret, which opens the room and nothing else, never this page's own secret.
    join_url = _join_url(registration, token)
    now = now_utc()
    return render_template(
        "registrations/space.html",
        registration=registration,
        event=event,
        token=token,
        join_url=join_url,
        availability=events.availability(event, now),
        room_open=services.join_opens_at(event) <= now < event.ends_at,
        materials=materials_of(event),
        opens_at=services.join_opens_at(event),
        google_url=ics.google_calendar_url(event, details_url=join_url),
        outlook_url=ics.outlook_calendar_url(event, details_url=join_url),
        form=ConfirmForm(),
        erase_form=EraseForm(),
        survey_open=registration.status == RegistrationStatus.CONFIRMED and survey_open(event, now),
        attestation_ready=attestation_ready(registration),
    )


def _join_url(registration: Registration, manage_token: str) -> str:
    """Return the connection link of the attendee space: /j/ with the join secret of its token."""
    join_token, added = ensure_join_token(registration, manage_token)
    if added:
        db.session.commit()
    return absolute_url("registrations.join", token=join_token)


@bp.get("/r/<token>/cancel")
def confirm_cancel(token: str):
    """Ask before cancelling: a seat given up may go to someone on the waiting list at once."""
    registration = _registration_or_404(token, TokenPurpose.MANAGE)
    if registration.status == RegistrationStatus.CANCELLED:
        return redirect(url_for("registrations.space", token=token), code=303)
    return render_template(
        "registrations/cancel.html",
        registration=registration,
        event=registration.event,
        token=token,
        form=ConfirmForm(),
    )


@bp.post("/r/<token>/cancel")
@limiter.limit(_personal_link_limit)
def cancel(token: str):
    """Cancel the registration; a replayed request changes nothing."""
    registration = _registration_or_404(token, TokenPurpose.MANAGE)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.cancel_registration(registration)
        db.session.commit()
        flash(gettext("Votre inscription est annulée. Un mail vous le confirme."), "success")
    except services.AlreadyCancelled:
        db.session.rollback()
        flash(gettext("Cette inscription était déjà annulée."), "error")
    return redirect(url_for("registrations.space", token=token), code=303)


@bp.post("/r/<token>/followups")
@limiter.limit(_personal_link_limit)
def followups(token: str):
    """Turn the follow-up mails on or off."""
    registration = _registration_or_404(token, TokenPurpose.MANAGE)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    wanted = request.form.get("wanted") == "1"
    services.set_followups(registration, wanted)
    db.session.commit()
    flash(
        gettext("Vous recevrez un mail pour chaque nouvelle fiche.")
        if wanted
        else gettext("Vous ne recevrez plus de mail pour les nouvelles fiches."),
        "success",
    )
    return redirect(url_for("registrations.space", token=token), code=303)


@bp.get("/r/<token>/data.json")
def data(token: str):
    """Download everything kept about this registration."""
    registration = _registration_or_404(token, TokenPurpose.MANAGE)
    body = json.dumps(services.personal_data(registration), ensure_ascii=False, indent=2)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="mes-donnees.json"'},
    )


@bp.post("/r/<token>/erase")
@limiter.limit(_personal_link_limit)
def erase(token: str):
    """Anonymise the registration and drop its pending mails; every link stops working."""
    registration = _registration_or_404(token, TokenPurpose.MANAGE)
    form = EraseForm()
    if not form.validate_on_submit():
        flash(gettext("Cochez la case pour confirmer l'effacement de vos données."), "error")
        return redirect(url_for("registrations.space", token=token) + "#effacer", code=303)
    services.erase_registration(registration)
    db.session.commit()
    return redirect(url_for("registrations.erased"), code=303)


@bp.get("/r/erased")
def erased():
    """Confirm that the data is gone."""
    return render_template("registrations/erased.html")


@bp.get("/r/<token>/invite.ics")
def personal_invite(token: str):
    """Download the personal invite, with the connection link (the join secret) only."""
    registration = _registration_or_404(token, TokenPurpose.MANAGE)
    if registration.status != RegistrationStatus.CONFIRMED:
        abort(404)
    return Response(
        invite(registration, _join_url(registration, token)),
        mimetype="text/calendar",
        headers={"Content-Disposition": 'attachment; filename="invitation.ics"'},
    )


@bp.get("/j/<token>")
def join(token: str):
    """Send a confirmed registrant to the video conference, and record the click."""
    registration = find_by_token(token, TokenPurpose.JOIN)
    return _join(registration)


@bp.get("/r/<token>/join")
def join_from_space(token: str):
    """The same as /j/ with the attendee space's secret, for calendar entries made before they
    got a join secret of their own."""
    registration = find_by_token(token, TokenPurpose.MANAGE)
    return _join(registration)


def _join(registration: Registration | None):
    now = now_utc()
    if registration is None or now >= services.join_expires_at(registration.event):
        return render_template("registrations/invalid_link.html"), 404
    event = registration.event
    if registration.status != RegistrationStatus.CONFIRMED or event.status == "cancelled":
        return render_template(
            "registrations/join_refused.html", registration=registration, event=event
        ), 403
    opens_at = services.join_opens_at(event)
    room = rooms.room_of(event)
    has_room = room.kind == RoomKind.BBB or bool(event.connection_url)
    if now < opens_at or not has_room:
        return render_template(
            "registrations/join_wait.html", event=event, opens_at=opens_at, has_room=has_room
        )
    if not looks_like_a_scanner(registration, request.method, request.user_agent.string, now):
        services.record_join(registration, now)  # a click, not presence: rooms/presence.py
    if room.kind == RoomKind.BBB:
        try:
            target = rooms.join_url(registration, room, now)
        except rooms.RoomNotReady:
            db.session.commit()  # the room's error, for the organisers' warning
            page = render_template("rooms/not_ready.html", event=event)
            return page, 503, {"Retry-After": "60"}
    else:
        target = event.connection_url
    db.session.commit()
    return redirect(target, code=303)
