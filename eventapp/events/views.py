"""Public pages: the list of events and one event."""

from flask import Blueprint, abort, render_template, url_for

from eventapp.aftermath.services import materials_of
from eventapp.events import services
from eventapp.events.models import Phase
from eventapp.events.sharing import describe_event_page
from eventapp.kits.services import kits_of_event
from eventapp.models import now_utc
from eventapp.site.pagecache import SeatsShown, content_version, keep_response
from eventapp.site.services import current_organisation

bp = Blueprint("events", __name__)


@bp.get("/")
@bp.get("/events")
def index():
    """List upcoming events first, then past ones, each with where it stands."""
    now = now_utc()
    upcoming, past = services.home_listing(now)
    return render_template(
        "events/index.html",
        upcoming=upcoming,
        past=past,
        availability=services.availabilities(upcoming + past, now),
    )


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
    availability = services.availability(event, now)
    html = render_template(
        "events/detail.html",
        event=event,
        availability=availability,
        register_url=url_for("registrations.new", slug=slug),
        kits=kits_of_event(event),  # one query, whatever their number; Kit is watched
        # EventMaterial is watched too: a material added or removed refreshes the kept page.
        materials=materials_of(event) if availability.phase == Phase.ENDED else [],
        page=describe_event_page(event, current_organisation(), availability),
    )
    # The seats left are on the page: the kept copy also checks that they have not moved.
    seats = None
    if event.capacity is not None:
        seats = SeatsShown(event.id, event.capacity, availability.seats_left)
    keep_response(version, event.next_public_change(now), seats=seats)
    return html
