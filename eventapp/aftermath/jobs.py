"""Scheduled work after events: queue the post-event mails an organiser confirmed."""

from __future__ import annotations

from datetime import datetime, timedelta

from eventapp.aftermath.mails import send_requested_aftermaths
from eventapp.outbox.jobs import job


@job("event-aftermath-mails", every=timedelta(minutes=1))
def queue_aftermath_mails(now: datetime) -> int:
    """Queue one post-event mail per registrant of each event an organiser confirmed, once."""
    return send_requested_aftermaths(now)
