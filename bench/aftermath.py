"""The post-event mail to 100,000 registrants: time until every mail is queued, worker memory.

A scratch SQLite instance gets one webinar that ended an hour ago, its replay published and its
mail confirmed by an organiser. Of its registrants, 40 % joined the room (the "merci" version,
with a personal survey link each), 50 % held a seat without joining and 10 % stayed on the waiting
list (the "vous n'avez pas pu vous connecter" version); another 5 % cancelled and must get
nothing. A fresh worker process then runs its scheduled jobs once, exactly as `flask worker` does
between deliveries, and reports how long the run took (claim, stream the registrants, render,
insert the mails and the survey tokens, commit) and its peak resident memory. The parent checks
that every registrant has exactly one mail of the right version, and the cancelled none.

    .venv/bin/python bench/aftermath.py [--registrants N]

Last line: RESULT aftermath registrants=<n> enqueue_s=<n> peak_rss_mb=<n>
Targets: enqueue_s < 10 and peak_rss_mb < 200.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta

from _common import (
    BenchError,
    fail,
    jobs_once_in_a_fresh_process,
    log,
    result_line,
    run_jobs_once,
    scratch_instance,
    terminate_on_sigterm,
)

TARGET_SECONDS = 10.0
TARGET_RSS_MB = 200.0
INSERT_BATCH = 10_000


def kind_of(index: int) -> str:
    """Which of the four kinds registrant `index` is: attended, missed, waiting or cancelled."""
    slot = index % 20
    if slot < 8:
        return "attended"
    if slot < 18:
        return "missed"
    return "waiting" if slot == 18 else "cancelled"


def populate(instance_path: str, registrants: int, now: datetime) -> int:
    """Build the schema, the ended webinar and its registrants; return how many cancelled."""
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from eventapp import create_app
    from eventapp.events.models import Event, EventKind, EventStatus
    from eventapp.extensions import db
    from eventapp.registrations.models import Registration, RegistrationStatus

    app = create_app(instance_path=instance_path)
    status = {
        "attended": RegistrationStatus.CONFIRMED,
        "missed": RegistrationStatus.CONFIRMED,
        "waiting": RegistrationStatus.WAITLISTED,
        "cancelled": RegistrationStatus.CANCELLED,
    }
    with app.app_context():
        upgrade()
        starts_at = now - timedelta(hours=2)
        event = Event(
            slug="lancement",
            title="Lancement du kit",
            kind=EventKind.ONLINE,
            status=EventStatus.PUBLISHED,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=1),
            replay_url="https://videos.example.org/w/lancement",
            replay_published_at=now - timedelta(minutes=5),
            aftermath_requested_at=now - timedelta(seconds=1),
        )
        db.session.add(event)
        db.session.flush()
        # Registrants are counted without the cancelled: the cancelled come on top.
        total = registrants * 20 // 19
        cancelled = 0
        for start in range(0, total, INSERT_BATCH):
            rows = []
            for index in range(start, min(start + INSERT_BATCH, total)):
                kind = kind_of(index)
                cancelled += kind == "cancelled"
                rows.append(
                    {
                        "event_id": event.id,
                        "status": status[kind].value,
                        "full_name": f"Personne {index}",
                        "email": f"personne.{index}@example.org",
                        "email_key": f"personne.{index}@example.org",
                        "locale": "en" if index % 10 == 0 else "fr",
                        "created_at": starts_at - timedelta(days=3),
                        "first_joined_at": starts_at if kind == "attended" else None,
                    }
                )
            db.session.execute(insert(Registration.__table__), rows)
        db.session.commit()
        db.engine.dispose()
    return total - cancelled


def check(instance_path: str, registrants: int) -> dict[str, int]:
    """Fail unless every registrant still registered has exactly one mail; return the versions."""
    from sqlalchemy import func, select

    from eventapp import create_app
    from eventapp.extensions import db
    from eventapp.outbox.models import OutboxMessage
    from eventapp.registrations.models import Registration, RegistrationStatus

    app = create_app(instance_path=instance_path)
    with app.app_context():
        mails = db.session.scalar(
            select(func.count(func.distinct(OutboxMessage.registration_id))).where(
                OutboxMessage.kind == "event_aftermath"
            )
        )
        to_cancelled = db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .join(Registration, Registration.id == OutboxMessage.registration_id)
            .where(Registration.status == RegistrationStatus.CANCELLED)
        )
        thanks = db.session.scalar(
            select(func.count()).where(
                OutboxMessage.kind == "event_aftermath",
                OutboxMessage.subject.like("Merci%") | OutboxMessage.subject.like("Thank you%"),
            )
        )
        db.engine.dispose()
    if mails != registrants or to_cancelled:
        fail(f"expected {registrants} mails and none to the cancelled, got {mails}, {to_cancelled}")
    return {"thanks": thanks or 0, "missed": registrants - (thanks or 0)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--registrants", type=int, default=100_000)
    parser.add_argument("--worker", metavar="INSTANCE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_jobs_once(args.worker)
        return 0

    terminate_on_sigterm()
    with scratch_instance("eventapp-bench-aftermath-") as instance:
        os.environ.update(instance.env())
        now = datetime.now(UTC).replace(microsecond=0)
        log(f"setting up an ended webinar with {args.registrants} registrants in {instance.path}")
        registrants = populate(str(instance.path), args.registrants, now)
        log("running the worker's jobs once in a fresh process")
        figures = jobs_once_in_a_fresh_process(__file__, instance)
        if figures["results"].get("event-aftermath-mails") != registrants:
            fail(f"the aftermath job reported {figures['results']}, expected {registrants}")
        versions = check(str(instance.path), registrants)
    seconds, rss = figures["seconds"], figures["peak_rss_mb"]
    log(f"versions: {versions['thanks']} thanks, {versions['missed']} could not come")
    # CPU time is what the run itself costs; wall time grows when the machine is busy.
    log(f"worker: {seconds:.2f} s wall, {figures['cpu_seconds']:.2f} s CPU")
    verdict = {True: "met", False: "MISSED"}
    log(
        f"targets: enqueue_s < {TARGET_SECONDS:g} ({verdict[seconds < TARGET_SECONDS]}), "
        f"peak_rss_mb < {TARGET_RSS_MB:g} ({verdict[rss < TARGET_RSS_MB]})"
    )
    result_line(
        "aftermath",
        registrants=registrants,
        enqueue_s=f"{seconds:.2f}",
        peak_rss_mb=f"{rss:.1f}",
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"bench/aftermath.py: {error}", file=sys.stderr)
        sys.exit(1)
