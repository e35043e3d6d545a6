"""Public page listing the speakers."""

from flask import Blueprint, render_template

from eventapp.speakers import services

bp = Blueprint("speakers", __name__)


@bp.get("/speakers")
def index():
    """List every speaker with the events they speak at."""
    return render_template("speakers/index.html", speakers=services.speakers_with_public_events())
