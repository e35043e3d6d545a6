"""Language switch and error pages."""

from flask import (
    Blueprint,
    Response,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
)
from flask_babel import gettext
from sqlalchemy import text
from werkzeug.exceptions import HTTPException, NotFound

from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.outbox.health import current_health
from eventapp.site.services import is_safe_next

bp = Blueprint("site", __name__)

ONE_YEAR = 365 * 24 * 3600


@bp.get("/lang/<code>")
def set_language(code: str):
    """Remember the chosen language in a cookie, then go back where the visitor was."""
    if code not in current_app.config["LANGUAGES"]:
        raise NotFound()
    target = request.args.get("next")
    response = make_response(redirect(target if is_safe_next(target) else "/", code=303))
    _remember_language(response, code)
    return response


def _remember_language(response: Response, code: str) -> None:
    response.set_cookie(
        current_app.config["LANGUAGE_COOKIE"],
        code,
        max_age=ONE_YEAR,
        samesite="Lax",
        secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
        httponly=True,
    )


@bp.after_app_request
def remember_switched_language(response: Response) -> Response:
    """Remember the language chosen with a form's language button, as the links do."""
    # Read what i18n.language_switch found while drawing the page; reading the form here could
    # raise again on the answer to a body too large.
    code = getattr(request, "language_switch", None)
    if code:
        _remember_language(response, code)
    return response


@bp.get("/healthz")
def health():
    """Answer the load balancer: 200 when the app and its database respond (a 503 otherwise,
    from site/outage.py); with ?worker=1, monitoring's check that a worker runs too."""
    db.session.execute(text("SELECT 1"))
    if not request.args.get("worker"):
        return {"status": "ok"}
    health = current_health(now_utc())
    seen_at = health.seen_at.isoformat() if health.seen_at else None
    if health.worker_silent:
        return {"status": "unavailable", "worker": "silent", "worker_seen_at": seen_at}, 503
    return {"status": "ok", "worker": "ok", "worker_seen_at": seen_at}


def _error_page(error: HTTPException):
    titles = {
        400: gettext("Requête invalide"),
        403: gettext("Accès refusé"),
        404: gettext("Page introuvable"),
        405: gettext("Méthode non autorisée"),
        413: gettext("Fichier trop volumineux"),
        429: gettext("Trop de demandes"),
        500: gettext("Erreur du serveur"),
    }
    code = error.code or 500
    if code >= 500:
        # The failed request may have left the transaction unusable; the page still needs it.
        db.session.rollback()
    return (
        render_template("site/error.html", code=code, title=titles.get(code, gettext("Erreur"))),
        code,
    )


def register_errorhandlers(app) -> None:
    """Render every HTTP error, and any crash, in the site's layout."""
    app.register_error_handler(HTTPException, _error_page)
