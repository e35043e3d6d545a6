"""Public calendar files: one event, the feed of all events, and the page's calendar links."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response, abort, current_app, url_for
from flask_babel import gettext

from eventapp.events.models import Event, EventStatus, visible_events
from eventapp.extensions import db
from eventapp.ics import services
from eventapp.models import now_utc
from eventapp.site.pagecache import content_version, keep_response
from eventapp.site.services import current_organisation

bp = Blueprint("ics", __name__)

# Short enough that a change shows up soon, long enough to absorb polling by many subscribers.
CACHE_SECONDS = 300


@bp.get("/events/<slug>.ics")
def event_file(slug: str):
    """Download one public event as a calendar file."""
    # icalendar costs several times a cached page: the page cache keeps the file (site/pagecache.py).
    version = content_version()
    event = db.session.scalars(visible_events().where(Event.slug == slug)).first()
    if event is None:
        abort(404)
    body = services.publish_event(
        event, site_url=current_app.config["SITE_URL"], organisation=current_organisation()
    )
    keep_response(version, None)
    return _calendar_response(body, filename=f"{_safe_filename(slug)}.ics")


@bp.get("/calendar.ics")
def feed():
    """Serve the feed of public events that calendar apps subscribe to."""
    version = content_version()
    now = now_utc()
    organisation = current_organisation()
    events = db.session.scalars(services.feed_events(now)).all()
    name = organisation.short_name or organisation.name
    body = services.publish_feed(
        events,
        site_url=current_app.config["SITE_URL"],
        organisation=organisation,
        name=gettext("Événements – %(name)s", name=name),
    )
    # Which events the feed holds also moves with the clock: a new copy every CACHE_SECONDS.
    keep_response(version, now + timedelta(seconds=CACHE_SECONDS))
    return _calendar_response(body)


@bp.app_context_processor
def calendar_helpers() -> dict[str, Any]:
    return {"calendar_links": calendar_links}


def calendar_links(event: Event, now: datetime | None = None) -> dict[str, str] | None:
    """Return the "add to my calendar" links of an event still to come, or None."""
    if event.status != EventStatus.PUBLISHED or event.ends_at <= (now or now_utc()):
        return None
    details_url = services.event_url(event, current_app.config["SITE_URL"])
    return {
        "ics": url_for("ics.event_file", slug=event.slug),
        "google": services.google_calendar_url(event, details_url=details_url),
        "outlook": services.outlook_calendar_url(event, details_url=details_url),
        "feed": url_for("ics.feed"),
    }


def _calendar_response(body: bytes, filename: str | None = None) -> Response:
    response = Response(body, mimetype="text/calendar")
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.cache_control.public = True
    response.cache_control.max_age = CACHE_SECONDS
    # The text inside follows the visitor's language (cookie or Accept-Language).
    response.vary.update(("Accept-Language", "Cookie"))
    return response


def _safe_filename(slug: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", slug).strip("-")[:80] or "evenement"
