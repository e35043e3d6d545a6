"""A per-process cache of rendered public pages, validated against the database on each request.

Every flush that changes a watched model (events, speakers, the organisation…) raises one counter
row, `content_version`. A cached page is served only while the counter has not moved, so every
process and every host sees a change at once: the cache holds no state that must be shared,
only copies that one small query proves still right.

A view lets its response be kept with `keep_response(version, until)`; `CachedPages`, a WSGI
middleware in front of Flask, then answers the same GET (same address, same language) from the
copy, without running the app: a hit costs the one query, about what a bare Flask page costs.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from threading import Lock

from flask import Flask, request
from sqlalchemy import event, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.wrappers import Request

from eventapp.extensions import db
from eventapp.i18n import locale_of
from eventapp.models import now_utc
from eventapp.site.models import ContentVersion

WATCHED: set[type] = set()


def watch(*models: type) -> None:
    """Count any change to these models as a change of public content."""
    WATCHED.update(models)


def content_version() -> int:
    """Return the committed content counter (0 before the first change)."""
    # A connection of its own, not the request's ORM session: a cache hit then costs one query,
    # without building and tearing down a session around it (half of a hit's database time).
    with db.engine.connect() as connection:
        return _read_version(connection)


def _read_version(connection) -> int:
    return connection.execute(_READ_VERSION).scalar() or 0


# Built once: every public page and every registration reads it.
_READ_VERSION = select(ContentVersion.__table__.c.value).where(ContentVersion.__table__.c.id == 1)
_COUNT_CONFIRMED = text(
    "SELECT count(*) FROM registrations WHERE event_id = :event_id AND status = 'confirmed'"
)


@event.listens_for(Session, "before_flush")
def _raise_version_on_change(session: Session, _context, _instances) -> None:
    changed = (
        obj
        for obj in (*session.new, *session.dirty, *session.deleted)
        if type(obj) in WATCHED and (obj not in session.dirty or session.is_modified(obj))
    )
    if next(changed, None) is None:
        return
    upsert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(
        upsert(ContentVersion)
        .values(id=1, value=1)
        .on_conflict_do_update(index_elements=["id"], set_={"value": ContentVersion.value + 1})
    )


class PageCache:
    """A bounded LRU of rendered pages, keyed by whatever makes a page differ."""

    def __init__(self, size: int = 512):
        self.size = size
        self.pages: OrderedDict[tuple, object] = OrderedDict()
        self.lock = Lock()  # gunicorn threads share a process

    def get(self, key: tuple):
        with self.lock:
            value = self.pages.get(key)
            if value is not None:
                self.pages.move_to_end(key)
            return value

    def put(self, key: tuple, value) -> None:
        with self.lock:
            self.pages[key] = value
            self.pages.move_to_end(key)
            while len(self.pages) > self.size:
                self.pages.popitem(last=False)


# The WSGI environ key by which a view marks its response as one to keep.
KEEP = "eventapp.pagecache.keep"


@dataclass(frozen=True)
class SeatsShown:
    """The seats left that a kept page shows: registrations move them without touching content."""

    event_id: int
    capacity: int
    seats_left: int

    def still_right(self, connection) -> bool:
        confirmed = connection.execute(_COUNT_CONFIRMED, {"event_id": self.event_id}).scalar()
        return max(self.capacity - (confirmed or 0), 0) == self.seats_left


def keep_response(version: int, until: datetime | None, seats: SeatsShown | None = None) -> None:
    """Let the page cache keep this response while the content is at `version`, if given until
    `until` (when the clock alone changes the page: registration opens, the event starts or
    ends) and while the event still has the `seats` left that the page shows."""
    request.environ[KEEP] = (version, until, seats)


@dataclass(frozen=True)
class KeptResponse:
    status: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    version: int
    until: datetime | None
    seats: SeatsShown | None


class CachedPages:
    """WSGI middleware: answer a GET from a kept response while it is still right, else run the
    app and keep its response if the view asked for it (a 200 that sets no cookie)."""

    def __init__(self, app: Flask, wsgi_app: Callable) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.pages = PageCache()  # one per app: two apps in a process never mix pages

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        # In development a template edited must show at once.
        if environ.get("REQUEST_METHOD") != "GET" or self.app.debug:
            return self.wsgi_app(environ, start_response)
        visitor = Request(environ)
        # The path as the server decoded it and the query as sent: "/x%3Fb" and "/x?b" differ.
        address = (environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))
        key = ("response", *address, locale_of(visitor, self.app.config))
        kept = self.pages.get(key)
        if kept is not None and self._still_right(kept) and not self._has_flashes(visitor):
            start_response(kept.status, list(kept.headers))
            return [kept.body]
        return self._run_and_keep(key, environ, start_response)

    def _still_right(self, kept: KeptResponse) -> bool:
        if kept.until is not None and now_utc() >= kept.until:
            return False
        try:
            with self.app.app_context(), db.engine.connect() as connection:
                if _read_version(connection) != kept.version:
                    return False
                return kept.seats is None or kept.seats.still_right(connection)
        except SQLAlchemyError:  # the database is down: let the app answer, with its error page
            return False

    def _has_flashes(self, visitor: Request) -> bool:
        """Tell whether the visitor's session holds a message still to show (it must be shown,
        on a freshly rendered page)."""
        if self.app.config["SESSION_COOKIE_NAME"] not in visitor.cookies:
            return False
        session = self.app.session_interface.open_session(self.app, visitor)
        return session is not None and "_flashes" in session

    def _run_and_keep(self, key: tuple, environ: dict, start_response: Callable):
        answered: list = []

        def remember(status: str, headers: list, exc_info=None):
            answered[:] = [status, headers]
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, remember)
        mark = environ.get(KEEP)
        if mark is None or not answered or not answered[0].startswith("200 "):
            return body
        if any(name.lower() == "set-cookie" for name, _ in answered[1]):
            return body  # a page that sets a cookie belongs to one visitor
        try:
            content = b"".join(body)
        finally:
            if hasattr(body, "close"):
                body.close()
        self.pages.put(key, KeptResponse(answered[0], tuple(answered[1]), content, *mark))
        return [content]


def serve_cached_pages(app: Flask) -> None:
    """Put the page cache in front of the app."""
    app.wsgi_app = CachedPages(app, app.wsgi_app)  # type: ignore[method-assign]
