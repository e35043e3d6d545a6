"""Signing in to and out of the back office; sign-in attempts are throttled."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user
from werkzeug.exceptions import TooManyRequests

from eventapp.auth.forms import LoginForm, LogoutForm
from eventapp.auth.services import (
    authenticate,
    close_login_session,
    load_session_user,
    open_login_session,
)
from eventapp.extensions import db, limiter, login_manager
from eventapp.models import now_utc
from eventapp.site.services import is_safe_next
from eventapp.text import email_key

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

# A failed sign-in answers 401: only those count against the limits below.
FAILED_LOGIN = 401
# The idle clock in the session cookie moves by steps: not a new cookie on every request.
SEEN_AT_STEP_SECONDS = 60


@login_manager.user_loader
def _load_user(session_id: str):
    now = now_utc()
    idle = timedelta(minutes=current_app.config["ADMIN_SESSION_IDLE_MINUTES"])
    seen_at = session.get("seen_at")
    if not isinstance(seen_at, int) or now - datetime.fromtimestamp(seen_at, UTC) > idle:
        return None  # left unused too long: sign in again
    user = load_session_user(session_id, session.get("login_token"), now)
    if user is not None and now.timestamp() - seen_at >= SEEN_AT_STEP_SECONDS:
        session["seen_at"] = int(now.timestamp())  # the signed cookie carries the idle clock
    return user


def sign_in(user) -> None:
    """Start a fresh session for this user, named by a new login session on the server."""
    session.clear()  # nothing from before the sign-in carries over into the signed-in session
    login_user(user)
    session["login_token"] = open_login_session(user)
    session["seen_at"] = int(now_utc().timestamp())


@login_manager.unauthorized_handler
def redirect_to_login() -> Response:
    """Send an anonymous visitor to the sign-in page, remembering the page they wanted."""
    # A form post cannot be replayed after signing in: only a page is worth coming back to.
    target = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("auth.login", next=target))


def _ip_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT_PER_IP"]


def _account_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT_PER_ACCOUNT"]


def _typed_account() -> str:
    # The address typed, known or not: the limits say nothing about whether the account exists.
    return email_key(request.form.get("email", ""))[:254]


def _account_key() -> str:
    # Per account and client address: failures from elsewhere never lock the owner out.
    return f"account:{_typed_account()}|{get_remote_address()}"


def slowdown_seconds(failures: int, after: int, maximum: float) -> float:
    """Return the pause before checking a password, given the account's recent failures."""
    if failures < after:
        return 0.0
    return min(maximum, 0.25 * 2 ** (failures - after))


def _failures_key(account: str) -> str:
    return f"login-failures/{account}"


def _account_failures(account: str) -> int:
    if not current_app.config["RATELIMIT_ENABLED"]:  # no limits: no store, and no slowdown
        return 0
    try:
        # The limiter's current store: the shared one, or its per-process fallback while the
        # shared one is down.
        return int(limiter.limiter.storage.get(_failures_key(account)) or 0)
    except Exception as error:  # the shared store went down since the request's limit check
        log.warning("sign-in slowdown skipped, rate-limit store unreachable: %s", error)
        return 0


def _count_failure(account: str) -> None:
    if not current_app.config["RATELIMIT_ENABLED"]:
        return
    window = current_app.config["LOGIN_SLOWDOWN_WINDOW_MINUTES"] * 60
    try:
        limiter.limiter.storage.incr(_failures_key(account), window)
    except Exception as error:
        log.warning("sign-in failure not counted, rate-limit store unreachable: %s", error)


def _pause_for(account: str) -> None:
    """Slow down guessing at one account from many addresses, without ever blocking it."""
    config = current_app.config
    pause = slowdown_seconds(
        _account_failures(account),
        config["LOGIN_SLOWDOWN_AFTER"],
        config["LOGIN_SLOWDOWN_MAX_SECONDS"],
    )
    if pause:
        time.sleep(pause)


def _failed(response: Response) -> bool:
    return response.status_code == FAILED_LOGIN


def _landing(target: str | None) -> str:
    return target if is_safe_next(target) else url_for("admin.dashboard")


@bp.route("/admin/login", methods=["GET", "POST"])
@limiter.limit(
    _ip_limit, methods=["POST"], key_func=get_remote_address, scope="login-ip", deduct_when=_failed
)
@limiter.limit(
    _account_limit,
    methods=["POST"],
    key_func=_account_key,
    scope="login-account",
    deduct_when=_failed,
)
def login():
    """Show the sign-in form; on POST, check the credentials with one message for any failure."""
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
        if current_user.is_authenticated:
            return redirect(_landing(form.next.data))
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("admin/login.html", form=form), status
    account = _typed_account()
    _pause_for(account)
    user = authenticate(form.email.data, form.password.data)
    if user is None:
        db.session.rollback()
        _count_failure(account)
        log.warning("failed sign-in for %r from %s", form.email.data[:254], request.remote_addr)
        form.password.data = ""
        return render_template(
            "admin/login.html",
            form=form,
            refusal=gettext("Adresse mail ou mot de passe incorrect."),
        ), FAILED_LOGIN
    sign_in(user)
    db.session.commit()
    return redirect(_landing(form.next.data), code=303)


@bp.errorhandler(TooManyRequests)
def too_many_attempts(error: TooManyRequests):
    """Say that sign-in is paused, the same way whichever limit was reached."""
    form = LoginForm()
    form.next.data = request.form.get("next", "")
    return render_template(
        "admin/login.html",
        form=form,
        refusal=gettext(
            "Trop de tentatives de connexion. Patientez quelques minutes avant de réessayer."
        ),
    ), 429


@bp.post("/admin/logout")
def logout():
    """Sign out and forget the session."""
    if not current_user.is_authenticated:
        return redirect_to_login()
    if LogoutForm().validate_on_submit():
        close_login_session(session.get("login_token"))
        db.session.commit()
        logout_user()
        session.clear()
        flash(gettext("Vous êtes déconnecté·e."), "success")
    return redirect(url_for("auth.login"), code=303)
