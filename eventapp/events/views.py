"""Public pages: the list of events and one event."""

from flask import Blueprint, abort, current_app, render_template, url_for

from eventapp.events import services
from eventapp.models import now_utc

bp = Blueprint("events", __name__)


@bp.get("/")
def index():
    """List upcoming events first, then past ones."""
    upcoming, past = services.home_listing(now_utc())
    return render_template("events/index.html", upcoming=upcoming, past=past)


@bp.get("/events/<slug>")
def detail(slug: str):
    """Show one event: when, what, who speaks, and how to register."""
    event = services.public_event(slug)
    if event is None:
        abort(404)
    now = now_utc()
    # Registration lives in its own blueprint; link to it only where it is installed.
    register_url = (
        url_for("registrations.new", slug=slug)
        if "registrations.new" in current_app.view_functions
        else None
    )
    return render_template(
        "events/detail.html",
        event=event,
        state=event.registration_state(now),
        register_url=register_url,
    )
