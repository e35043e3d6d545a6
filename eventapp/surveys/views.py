"""The survey page, opened by its own secret link (/s/<token>) or from the attendee space."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy.exc import IntegrityError

from eventapp.extensions import db, limiter
from eventapp.i18n import language_switch
from eventapp.models import now_utc
from eventapp.registrations.models import Registration, TokenPurpose
from eventapp.registrations.tokens import find_by_token
from eventapp.surveys import services
from eventapp.surveys.forms import (
    RATING_LABELS,
    TEXT_MAX_CHARS,
    TEXT_QUESTION_LABELS,
    SurveyForm,
)

bp = Blueprint("surveys", __name__)


@bp.after_request
def keep_tokens_private(response: Response) -> Response:
    """Every page here has a secret in its address: no Referer, no cache, no search engine."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


# The pages of each door: a survey opened from the attendee space stays behind its secret.
ENDPOINTS = {
    TokenPurpose.SURVEY: {"answer": "surveys.answer", "thanks": "surveys.thanks"},
    TokenPurpose.MANAGE: {"answer": "surveys.from_space", "thanks": "surveys.from_space_thanks"},
}


@dataclass(frozen=True)
class Door:
    """Which secret opened the survey, and so which addresses its pages link to."""

    token: str
    purpose: TokenPurpose

    @property
    def from_space(self) -> bool:
        return self.purpose == TokenPurpose.MANAGE

    def url_for(self, page: str) -> str:
        """Return the address of the "answer" or "thanks" page behind this same secret."""
        return url_for(ENDPOINTS[self.purpose][page], token=self.token)


def _personal_link_limit() -> str:
    return current_app.config["PERSONAL_LINK_RATE_LIMIT"]


def _registration_or_404(door: Door) -> Registration:
    registration = find_by_token(door.token, door.purpose)
    if registration is None:
        abort(Response(render_template("registrations/invalid_link.html"), status=404))
    return registration


# A language button only draws the form again; it must not use up the visitor's tries.
@bp.route("/s/<token>", methods=["GET", "POST"])
@limiter.limit(
    _personal_link_limit, methods=["POST"], exempt_when=lambda: language_switch() is not None
)
def answer(token: str):
    """Show the survey, prefilled with the answer already given; on POST, save it."""
    return _survey(Door(token, TokenPurpose.SURVEY))


@bp.route("/r/<token>/survey", methods=["GET", "POST"])
@limiter.limit(
    _personal_link_limit, methods=["POST"], exempt_when=lambda: language_switch() is not None
)
def from_space(token: str):
    """The same survey, opened from the attendee space with its own secret."""
    return _survey(Door(token, TokenPurpose.MANAGE))


@bp.get("/s/<token>/thanks")
def thanks(token: str):
    """Thank the person, and say until when the answer can be changed."""
    return _thanks(Door(token, TokenPurpose.SURVEY))


@bp.get("/r/<token>/survey/thanks")
def from_space_thanks(token: str):
    """The thank-you page of the survey opened from the attendee space."""
    return _thanks(Door(token, TokenPurpose.MANAGE))


def _survey(door: Door):
    registration = _registration_or_404(door)
    event = registration.event
    now = now_utc()
    answer = services.answer_for(registration)
    state = services.survey_state(event, now)
    page = functools.partial(
        render_template,
        "surveys/answer.html",
        registration=registration,
        event=event,
        door=door,
        answer=answer,
        state=state,
        max_chars=TEXT_MAX_CHARS,
        rating_labels=RATING_LABELS,
        text_questions=TEXT_QUESTION_LABELS,
    )
    if not services.may_answer(registration):
        return page(form=None, refused=True), 403
    if state != services.SurveyState.OPEN:
        # The page says why, and shows the answer given, if any; a POST changes nothing.
        return page(form=None), (200 if request.method == "GET" else 409)
    # The answer given fills the form on GET only: on POST, a field left out must stay out,
    # not come back from the stored answer (a rating taken off is a missing rating).
    form = SurveyForm(obj=answer if request.method == "GET" else None)
    if language_switch():
        # Sent back by a language button: drawn again in that language, nothing saved.
        form.validate()
        return page(form=form), (422 if form.errors else 200)
    if not form.validate_on_submit():
        return page(form=form), (422 if request.method == "POST" else 200)
    try:
        services.save_answer(registration, form.answer(), now)
        db.session.commit()
    except IntegrityError:
        # A double click: the other request inserted the row first; this one updates it.
        db.session.rollback()
        services.save_answer(registration, form.answer(), now)
        db.session.commit()
    return redirect(door.url_for("thanks"), code=303)


def _thanks(door: Door):
    registration = _registration_or_404(door)
    answer = services.answer_for(registration)
    if answer is None:
        return redirect(door.url_for("answer"), code=303)
    event = registration.event
    return render_template(
        "surveys/thanks.html",
        registration=registration,
        event=event,
        door=door,
        answer=answer,
        state=services.survey_state(event, now_utc()),
        rating_labels=RATING_LABELS,
        text_questions=TEXT_QUESTION_LABELS,
    )
