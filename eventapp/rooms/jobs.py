"""Scheduled work of rooms: create BigBlueButton meetings ahead, watch who is in them, forget
the attendance reports never confirmed."""

from __future__ import annotations

from datetime import datetime, timedelta

from eventapp.outbox.jobs import job
from eventapp.rooms import imports, services


@job("rooms-create-meetings", every=timedelta(minutes=1))
def create_meetings(now: datetime) -> int:
    """Create the meetings of the rooms that open soon (a first join creates one too)."""
    created = 0
    for event, room in services.rooms_to_create(now):
        try:
            services.ensure_meeting(event, room, now)
        except services.RoomNotReady:
            continue  # kept in the room's last error, shown to organisers; tried next minute
        created += 1
    return created


@job("rooms-poll-presence", every=timedelta(minutes=1))
def poll_presence(now: datetime) -> int:
    """Note who is in each running meeting: spans opened and closed, minutes updated."""
    return sum(
        services.poll_meeting(event, room, now) for event, room in services.rooms_to_poll(now)
    )


@job("rooms-forget-reports", every=timedelta(hours=1))
def forget_reports(now: datetime) -> int:
    """Delete the attendance reports uploaded more than a day ago and never confirmed."""
    return imports.forget_old_reports(now)
