"""The database is unreachable or locked: a 503 that says what to do, the typed form kept, one log
line when it goes and one when it is back."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flask import Flask, current_app, g, has_app_context, render_template, request
from sqlalchemy import event, exc

from eventapp.extensions import db, login_manager

log = logging.getLogger(__name__)

# SQLite says "locked" or "busy" when another connection holds the write lock for longer than the
# busy timeout, and names a file it cannot open or a full disk; other SQLite errors are bugs.
_SQLITE_FAULTS = ("locked", "busy", "unable to open", "disk", "full", "readonly")


def is_database_outage(error: BaseException) -> bool:
    """Tell a fault of the database server or file (retry later) from a fault of the code (a bug)."""
    if isinstance(error, exc.TimeoutError):  # no pooled connection came free in time
        return True
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated or isinstance(error, exc.InterfaceError):
        return True
    if not isinstance(error, exc.OperationalError):
        return False
    if type(error.orig).__module__.startswith("sqlite3"):
        message = str(error.orig).lower()
        return any(fault in message for fault in _SQLITE_FAULTS)
    # PostgreSQL (psycopg): connection failures, shutdowns, too many clients, lock timeouts.
    return True


def is_locked(error: BaseException) -> bool:
    """Tell a database that answers but refuses writes (SQLite locked) from one that is gone."""
    return "locked" in str(getattr(error, "orig", error)).lower()


def one_line(error: BaseException) -> str:
    """The driver's message on one line, without SQLAlchemy's statement and parameters."""
    message = str(getattr(error, "orig", None) or error) or type(error).__name__
    return " ".join(message.split())[:300]


class OutageLog:
    """Log a fault once when it starts and once when it ends, with the count refused in between.

    One per process: each gunicorn worker says it once. Thread-safe: the threads of a process
    share it.
    """

    def __init__(self, part: str, logger: logging.Logger = log) -> None:
        self.part = part
        self.logger = logger
        self._lock = threading.Lock()
        self.down_since: float | None = None
        self.locked = False
        self.refused = 0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def refused_one(self, error: BaseException) -> None:
        """Count one refusal; the first of an outage writes the line an operator acts on."""
        with self._lock:
            self.refused += 1
            if self.down_since is not None:
                return
            self.down_since = time.monotonic()
            self.locked = is_locked(error)
        self.logger.error(
            "%s unavailable, answering 503 until it is back: %s", self.part, one_line(error)
        )

    def back(self, *, wrote: bool = True) -> None:
        """Say the part works again, unless it was only locked and nothing was written yet."""
        if self.down_since is None:  # the usual case: no lock taken
            return
        with self._lock:
            if self.down_since is None or (self.locked and not wrote):
                return
            seconds = time.monotonic() - self.down_since
            refused, self.refused, self.down_since = self.refused, 0, None
        self.logger.warning(
            "%s back after %.0f s; %d requests refused meanwhile", self.part, seconds, refused
        )


def keep_form_on_outage(form_class: type) -> Callable:
    """Mark a public form's view: during an outage its answer shows the form again, as typed."""

    def mark(view: Callable) -> Callable:
        view.outage_form = form_class  # type: ignore[attr-defined]
        return view

    return mark


def _form_to_show_again():
    """Rebuild the posted form from what was typed, if the view asked for it."""
    if request.method != "POST" or request.endpoint is None:
        return None
    view = current_app.view_functions.get(request.endpoint)
    form_class = getattr(view, "outage_form", None)
    return form_class() if form_class is not None else None


def _leave_the_database_alone() -> None:
    """Make the page renderable without a query: a fresh session, the last known organisation,
    and an anonymous visitor when the signed-in one was not loaded yet."""
    try:
        db.session.rollback()
    except exc.SQLAlchemyError:
        pass  # the connection is gone; the session is discarded at teardown anyway
    from eventapp.site.services import last_known_organisation

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
    form = _form_to_show_again()
    page = render_template(
        "site/unavailable.html",
        form=form,
        action=request.full_path.rstrip("?"),
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
        if outage.down and g.get("database_used") and not g.get("database_refused"):
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
