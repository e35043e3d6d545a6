"""The schedule the worker runs between deliveries: reminders, sheet releases, purges.

A domain adds a job in its own `jobs.py`:

    from eventapp.outbox.jobs import job

    @job("reminders", every=timedelta(minutes=1))
    def send_due_reminders(now: datetime) -> int:
        ...  # enqueue what is due at `now`, flush, return how many; never commit

and that is all: the worker imports the `jobs` module of every package of the application. Jobs
must be idempotent
(they run again after a restart, and several workers may run them): they find what is due with a
query and make each side effect exactly-once through dedupe keys, never through memory.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from eventapp.extensions import db
from eventapp.faults import is_database_outage

log = logging.getLogger(__name__)

JobFunction = Callable[[datetime], int]


@dataclass
class Job:
    name: str
    every: timedelta
    run: JobFunction


class JobRegistry:
    """Named jobs and, per worker process, when each last ran."""

    def __init__(self) -> None:
        self.jobs: dict[str, Job] = {}
        self.last_run: dict[str, datetime] = {}

    def job(self, name: str, *, every: timedelta) -> Callable[[JobFunction], JobFunction]:
        """Register `fn(now) -> int` to run every `every` in the worker."""

        def register(fn: JobFunction) -> JobFunction:
            self.jobs[name] = Job(name, every, fn)
            return fn

        return register

    def due(self, now: datetime, longest: timedelta | None = None) -> list[Job]:
        """Return the jobs whose interval (shortened to `longest`, if given) has passed."""
        return [
            job
            for name, job in self.jobs.items()
            if name not in self.last_run
            or now - self.last_run[name] >= (min(job.every, longest) if longest else job.every)
        ]

    def run_due(self, now: datetime) -> dict[str, int | None]:
        """Run each due job and commit after it; a failing job is logged and rolled back.

        Return what each job reported, None for a failure.
        """
        longest = current_app.config.get("JOBS_MAX_INTERVAL_SECONDS")
        results: dict[str, int | None] = {}
        for job in self.due(now, timedelta(seconds=longest) if longest else None):
            # Even a failing job waits its interval: a broken job must not spin the worker.
            self.last_run[job.name] = now
            try:
                results[job.name] = job.run(now)
                db.session.commit()
            except Exception as error:
                try:
                    db.session.rollback()
                except SQLAlchemyError:
                    pass  # the connection is gone; the session starts afresh next round
                if is_database_outage(error):
                    raise  # not this job's fault: the worker logs the outage once and waits
                log.exception("job %s failed", job.name)
                results[job.name] = None
            else:
                if results[job.name]:
                    log.info("job %s: %s", job.name, results[job.name])
        return results


registry = JobRegistry()
job = registry.job
run_due_jobs = registry.run_due


def job_modules() -> list[str]:
    """Name the `jobs` module of each package of the application ("eventapp.kits.jobs"…)."""
    # Found, not listed: a domain declares its jobs in one place, and the outbox names no domain.
    root = importlib.import_module(current_app.import_name)
    names = []
    for package in pkgutil.iter_modules(root.__path__, prefix=f"{root.__name__}."):
        name = f"{package.name}.jobs"
        if package.ispkg and name != __name__ and importlib.util.find_spec(name) is not None:
            names.append(name)
    return sorted(names)


def import_job_modules() -> None:
    """Import the modules that register jobs."""
    for module in job_modules():
        importlib.import_module(module)
