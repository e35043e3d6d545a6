"""A per-process cache of rendered public pages, validated against the database on each request.

Every flush that changes a watched model (events, speakers, the organisation…) raises one counter
row, `content_version`. A cached page is served only while the counter has not moved, so every
process and every host sees a change at once: the cache holds no state that must be shared,
only copies that one small query proves still right.
"""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock

from flask import current_app
from sqlalchemy import event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from eventapp.extensions import db
from eventapp.site.models import ContentVersion

WATCHED: set[type] = set()


def watch(*models: type) -> None:
    """Count any change to these models as a change of public content."""
    WATCHED.update(models)


def content_version() -> int:
    """Return the current content counter (0 before the first change)."""
    return db.session.scalar(_READ_VERSION) or 0


# Built once: every public page and every registration reads it.
_READ_VERSION = select(ContentVersion.__table__.c.value).where(ContentVersion.__table__.c.id == 1)


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


def page_cache() -> PageCache:
    """Return this app's page cache (one per app, so two apps in a process never mix pages)."""
    return current_app.extensions.setdefault("eventapp.pagecache", PageCache())
