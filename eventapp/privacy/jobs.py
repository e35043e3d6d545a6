"""Scheduled work of data protection: the daily retention purge."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from eventapp.outbox.jobs import job
from eventapp.privacy.services import apply_retention

log = logging.getLogger(__name__)


@job("data-retention", every=timedelta(days=1))
def purge_expired_data(now: datetime) -> int:
    """Anonymise (or delete, for the audit log) what outlived its retention; count the rows."""
    report = apply_retention(now)
    if report.total:
        log.info("data retention: %s", report)
    return report.total
