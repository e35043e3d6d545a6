"""The public verification page of an attestation, its PDF, and the registrant's own download."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, render_template
from sqlalchemy.exc import IntegrityError

from eventapp.attestations import services
from eventapp.events.models import Event
from eventapp.extensions import db, limiter
from eventapp.i18n import format_duration
from eventapp.models import now_utc
from eventapp.registrations.models import TokenPurpose
from eventapp.registrations.tokens import find_by_token

bp = Blueprint("attestations", __name__)


def _personal_link_limit() -> str:
    return current_app.config["PERSONAL_LINK_RATE_LIMIT"]


def _private(response: Response) -> Response:
    # The address holds a secret: never sent on as a Referer, never kept by a cache.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _not_found() -> Response:
    return _private(Response(render_template("attestations/unknown.html"), status=404))


@bp.get("/attestations/<code>")
@limiter.limit(_personal_link_limit)
def verify(code: str):
    """Confirm who attended which event, when, and how long; and nothing more."""
    attestation = services.find_by_code(code)
    if attestation is None:
        return _not_found()
    event = db.session.get(Event, attestation.event_id)
    page = render_template(
        "attestations/verify.html",
        attestation=attestation,
        event=event,
        code=code,
        presence=format_duration(timedelta(minutes=attestation.minutes)),
    )
    return _private(Response(page))


def _send_pdf(attestation) -> Response:
    response = Response(services.pdf_of(attestation), mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'inline; filename="{services.download_name(attestation)}"'
    )
    return _private(response)


@bp.get("/attestations/<code>/attestation.pdf")
@limiter.limit(_personal_link_limit)
def pdf(code: str):
    """The attestation's PDF, from its code (the post-event mail links it)."""
    attestation = services.find_by_code(code)
    if attestation is None or attestation.revoked_at is not None:
        return _not_found()
    return _send_pdf(attestation)


@bp.get("/r/<token>/attestation.pdf")
@limiter.limit(_personal_link_limit)
def from_space(token: str):
    """The registrant's attestation, from their space; issued now if they earned it."""
    registration = find_by_token(token, TokenPurpose.MANAGE)
    if registration is None:
        abort(404)
    attestation = services.attestation_of(registration)
    if attestation is None and services.eligible(registration):
        try:
            attestation = services.issue(registration, now_utc())
            db.session.commit()
        except IntegrityError:  # a second download issued it at the same moment: take that one
            db.session.rollback()
            attestation = services.attestation_of(registration)
    if attestation is None or attestation.revoked_at is not None:
        return _not_found()
    return _send_pdf(attestation)
