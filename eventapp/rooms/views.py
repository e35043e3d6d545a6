"""The BigBlueButton server's call when a meeting ends (meta_endCallbackUrl)."""

from __future__ import annotations

import hmac

from flask import Blueprint, abort

from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.rooms import services
from eventapp.rooms.models import RoomKind

bp = Blueprint("rooms", __name__)


@bp.get("/rooms/<int:event_id>/ended/<token>")
def meeting_ended(event_id: int, token: str):
    """Close every presence span of the meeting at once, without waiting for the next poll."""
    event = db.session.get(Event, event_id)
    if event is None or not hmac.compare_digest(token, services.end_callback_token(event)):
        abort(404)
    room = services.room_of(event)
    if room.kind != RoomKind.BBB:
        abort(404)
    services.meeting_ended(event, room, now_utc())
    db.session.commit()
    return "", 204
