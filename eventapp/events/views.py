"""Public pages: the list of events and one event."""

from flask import Blueprint, abort, render_template, url_for

from eventapp.events import services
from eventapp.events.sharing import describe_event_page
from eventapp.kits.services import kits_of_event
from eventapp.models import now_utc
from eventapp.site.pagecache import content_version, keep_response
from eventapp.site.services import current_organisation

bp = Blueprint("events", __name__)


@bp.get("/")
def index():
    """List upcoming events first, then past ones."""
    upcoming, past = services.home_listing(now_utc())
    return render_template("events/index.html", upcoming=upcoming, past=past)


@bp.get("/events/<slug>")
def detail(slug: str):
    """Show one event: when, what, who speaks, and how to register."""
    # The most visited page of a launch: the page cache keeps it (site/pagecache.py) until the
    # content changes or the clock moves the registration window.
    version = content_version()
    event = services.public_event(slug)
    if event is None:
        abort(404)
    now = now_utc()
    window = event.window()
    html = render_template(
        "events/detail.html",
        event=event,
        state=window.state(now),
        register_url=url_for("registrations.new", slug=slug),
        kits=kits_of_event(event),  # one query, whatever their number; Kit is watched
        page=describe_event_page(event, current_organisation()),
    )
    keep_response(version, window.next_change(now))
    return html
