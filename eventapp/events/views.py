"""Public pages: the list of events and one event."""

from flask import Blueprint, abort, render_template, request, session, url_for
from flask_babel import get_locale

from eventapp.events import services
from eventapp.models import now_utc
from eventapp.site.pagecache import content_version, page_cache

bp = Blueprint("events", __name__)


@bp.get("/")
def index():
    """List upcoming events first, then past ones."""
    upcoming, past = services.home_listing(now_utc())
    return render_template("events/index.html", upcoming=upcoming, past=past)


@bp.get("/events/<slug>")
def detail(slug: str):
    """Show one event: when, what, who speaks, and how to register."""
    # The most visited page of a launch: served from the page cache while nothing changed.
    version = content_version()
    pages = page_cache()
    window = pages.get(("event-window", slug, version))
    if window is None:
        event = services.public_event(slug)
        if event is None:
            abort(404)
        window = event.window()
        pages.put(("event-window", slug, version), window)
    state = window.state(now_utc())
    key = ("event-page", slug, str(get_locale()), request.full_path, version, state)
    cacheable = "_flashes" not in session
    html = pages.get(key) if cacheable else None
    if html is None:
        event = services.public_event(slug)
        if event is None:
            abort(404)
        html = render_template(
            "events/detail.html",
            event=event,
            state=state,
            register_url=url_for("registrations.new", slug=slug),
        )
        if cacheable:
            pages.put(key, html)
    return html
