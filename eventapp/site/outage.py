"""The database is unreachable or locked: a 503 that says what to do, the typed form kept, one log
line when it goes and one when it is back (eventapp/faults.py)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from flask import Flask, current_app, g, has_app_context, render_template, request
from sqlalchemy import event, exc

from eventapp.extensions import db, login_manager
from eventapp.faults import OutageLog, is_database_outage
from eventapp.site.services import is_safe_next, last_known_organisation


def keep_form_on_outage(form_class: type, purpose: str) -> Callable:
    """Mark a public form's view: during an outage its answer shows the form again, as typed,
    under `purpose` ("Votre inscription"), since the page cannot read what it was for."""

    def mark(view: Callable) -> Callable:
        view.outage_form = (form_class, purpose)  # type: ignore[attr-defined]
        return view

    return mark


def _form_to_show_again() -> tuple[object, str] | tuple[None, None]:
    """Rebuild the posted form from what was typed, with its purpose, if the view asked."""
    if request.method != "POST" or request.endpoint is None:
        return None, None
    view = current_app.view_functions.get(request.endpoint)
    form_class, purpose = getattr(view, "outage_form", (None, None))
    return (form_class(), purpose) if form_class is not None else (None, None)


def _retry_url() -> str:
    """Where "Réessayer" leads: this page again, or for a post, the page it was sent from."""
    if request.method in ("GET", "HEAD"):
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    back = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    same_site = referrer.netloc in ("", request.host)
    return back if same_site and is_safe_next(back) else "/"


def _leave_the_database_alone() -> None:
    """Make the page renderable without a query: a fresh session, the last known organisation,
    and an anonymous visitor when the signed-in one was not loaded yet."""
    try:
        db.session.rollback()
    except exc.SQLAlchemyError:
        pass  # the connection is gone; the session is discarded at teardown anyway
    g.organisation = last_known_organisation()
    if "_login_user" not in g:
        g._login_user = login_manager.anonymous_user()


def service_unavailable(error: Exception):
    """Answer a database fault with 503 and Retry-After; re-raise anything else (a bug: a 500)."""
    if not is_database_outage(error):
        raise error
    outage: OutageLog = current_app.extensions["eventapp.database_outage"]
    outage.refused_one(error)
    g.database_refused = True
    _leave_the_database_alone()
    retry_after = str(current_app.config["DATABASE_RETRY_AFTER_SECONDS"])
    headers = {"Retry-After": retry_after, "Cache-Control": "no-store"}
    if request.endpoint == "site.health":
        return {"status": "unavailable", "database": "unreachable"}, 503, headers
    form, purpose = _form_to_show_again()
    page = render_template(
        "site/unavailable.html",
        form=form,
        purpose=purpose,
        action=request.full_path.rstrip("?"),
        retry_url=_retry_url(),
    )
    return page, 503, headers


def watch_database(app: Flask) -> None:
    """Answer database faults with the 503 page, and log the end of an outage once."""
    app.extensions["eventapp.database_outage"] = OutageLog("database", app.logger)
    app.register_error_handler(exc.DBAPIError, service_unavailable)
    app.register_error_handler(exc.TimeoutError, service_unavailable)

    @app.after_request
    def note_database_back(response):
        outage: OutageLog = app.extensions["eventapp.database_outage"]
        if g.get("database_refused"):
            response.headers["Retry-After"] = str(app.config["DATABASE_RETRY_AFTER_SECONDS"])
        elif outage.down and g.get("database_used"):
            outage.back(wrote=bool(g.get("database_wrote")))
        return response


@event.listens_for(db.session, "after_begin")
def _note_database_used(_session, _transaction, _connection) -> None:
    if has_app_context():
        g.database_used = True


@event.listens_for(db.session, "after_flush")
def _note_database_wrote(_session, _context) -> None:
    if has_app_context():
        g.database_wrote = True


@event.listens_for(db.session, "do_orm_execute")
def _note_database_statement(state) -> None:
    # Core INSERT and UPDATE statements run through the session (registrations) count too.
    if (state.is_insert or state.is_update or state.is_delete) and has_app_context():
        g.database_wrote = True
