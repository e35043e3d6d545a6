"""The worker loop: run the due jobs, deliver a batch, wait when idle, stop cleanly on a signal."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from datetime import datetime

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from eventapp.extensions import db
from eventapp.faults import OutageLog, is_database_outage
from eventapp.models import now_utc
from eventapp.outbox.delivery import Courier
from eventapp.outbox.health import WorkerHealth
from eventapp.outbox.jobs import import_job_modules, run_due_jobs

log = logging.getLogger(__name__)


@contextlib.contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """Yield an event set by SIGTERM or SIGINT, instead of the default abrupt exit."""
    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        log.info("worker: %s received, finishing the message in hand", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_worker(stop: threading.Event, clock: Callable[[], datetime] = now_utc) -> None:
    """Loop until `stop` is set: heartbeat and jobs first, then one batch of mail, and a pause
    when idle."""
    import_job_modules()
    poll_seconds = current_app.config["OUTBOX_POLL_SECONDS"]
    courier = Courier(clock=clock, stop=stop)
    health = WorkerHealth()
    database = OutageLog(
        "worker: database",
        log,
        meanwhile="waiting to retry",
        counted=("round missed", "rounds missed"),
    )
    try:
        while not stop.is_set():
            try:
                health.beat(clock())
                run_due_jobs(clock())
                # One batch per round, so that jobs keep their pace during a long fan-out.
                report = courier.deliver(max_batches=1)
                health.after_delivery(report, clock())
            except SQLAlchemyError as error:
                # The database restarts or fails over: wait and try again, the rows are safe.
                if is_database_outage(error):
                    database.refused_one(error)
                else:
                    log.exception("worker: database error")
                try:
                    db.session.rollback()
                except SQLAlchemyError:
                    db.session.remove()
                courier.close()
                stop.wait(poll_seconds)
                continue
            database.back()
            if report.sent or report.retried or report.failed:  # not the rounds given back
                log.info(
                    "worker: %d sent, %d to retry, %d failed",
                    report.sent,
                    report.retried,
                    report.failed,
                )
            if report.claimed == 0 or report.relay_error:
                courier.close()  # hold no SMTP connection while idle
                stop.wait(poll_seconds)
    finally:
        courier.close()
        db.session.remove()
