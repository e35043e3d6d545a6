"""Scheduled work of kits: announce released sheets, forget unconfirmed subscriptions."""

from __future__ import annotations

from datetime import datetime, timedelta

from eventapp.kits.followups import release_due_sheets
from eventapp.kits.subscriptions import purge_unconfirmed
from eventapp.outbox.jobs import job


@job("kit-sheet-releases", every=timedelta(minutes=1))
def announce_released_sheets(now: datetime) -> int:
    """Queue one follow-up per subscriber for each sheet that came out, once."""
    return release_due_sheets(now)


@job("kit-subscription-purge", every=timedelta(hours=1))
def purge_unconfirmed_subscriptions(now: datetime) -> int:
    """Delete the kit subscriptions whose confirmation link expired unused."""
    return purge_unconfirmed(now)
