"""Release a sheet to 100,000 subscribers: time until every follow-up is queued, worker memory.

A scratch SQLite instance gets one kit with one sheet that has just fallen due, 90 % of its
subscribers registrants of the kit's event who opted in and 10 % kit-only subscribers. A fresh
worker process then runs its scheduled jobs once, exactly as `flask worker` does between
deliveries, and reports how long the run took (claim, stream the subscribers, render, insert the
mails and the unsubscribe tokens, commit) and its peak resident memory. The parent checks that
every subscriber has exactly one mail and one token.

    .venv/bin/python bench/release.py [--subscribers N]

Last line: RESULT release subscribers=<n> enqueue_s=<n> peak_rss_mb=<n>
Targets: enqueue_s < 10 and peak_rss_mb < 200.
"""

from __future__ import annotations

import argparse
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
KIT_ONLY_SHARE = 10  # one subscriber in ten came through the kit's own form
INSERT_BATCH = 10_000


def populate(instance_path: str, subscribers: int, release_at: datetime) -> None:
    """Build the schema and the kit, its due sheet and its subscribers, set-based."""
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from eventapp import create_app
    from eventapp.events.models import Event, EventKind, EventStatus
    from eventapp.extensions import db
    from eventapp.kits.models import Kit, KitSubscriber, Sheet, SubscriptionStatus
    from eventapp.registrations.models import Registration, RegistrationStatus

    app = create_app(instance_path=instance_path)
    with app.app_context():
        upgrade()
        since = release_at - timedelta(days=30)
        event = Event(
            slug="lancement",
            title="Lancement du kit",
            kind=EventKind.ONLINE,
            status=EventStatus.PUBLISHED,
            starts_at=since + timedelta(days=1),
            ends_at=since + timedelta(days=1, minutes=30),
        )
        kit = Kit(slug="kit-regionaless", title="Kit RégionalESS", published=True, events=[event])
        sheet = Sheet(
            kit=kit,
            number=7,
            title="Tourisme et ESS",
            summary="Tourisme social, associatif et durable : des séjours accessibles.",
            release_at=release_at,
            file_name="0" * 32 + ".pdf",
            file_size=250_000,
        )
        db.session.add_all([event, kit, sheet])
        db.session.flush()
        kit_only = subscribers // KIT_ONLY_SHARE
        registrants = subscribers - kit_only
        for start in range(0, registrants, INSERT_BATCH):
            db.session.execute(
                insert(Registration.__table__),
                [
                    {
                        "event_id": event.id,
                        "status": RegistrationStatus.CONFIRMED.value,
                        "full_name": f"Personne {index}",
                        "email": f"personne.{index}@example.org",
                        "email_key": f"personne.{index}@example.org",
                        "locale": "en" if index % 10 == 0 else "fr",
                        "wants_followups": True,
                        "followups_changed_at": since,
                        "created_at": since,
                        "confirmed_at": since,
                    }
                    for index in range(start, min(start + INSERT_BATCH, registrants))
                ],
            )
        for start in range(0, kit_only, INSERT_BATCH):
            db.session.execute(
                insert(KitSubscriber.__table__),
                [
                    {
                        "kit_id": kit.id,
                        "email": f"lecteur.{index}@example.org",
                        "email_key": f"lecteur.{index}@example.org",
                        "locale": "fr",
                        "status": SubscriptionStatus.ACTIVE.value,
                        "created_at": since,
                        "confirmed_at": since,
                    }
                    for index in range(start, min(start + INSERT_BATCH, kit_only))
                ],
            )
        db.session.commit()
        db.engine.dispose()


def check(instance_path: str, subscribers: int) -> None:
    """Fail unless every subscriber has exactly one follow-up and one unsubscribe token."""
    from sqlalchemy import func, select

    from eventapp import create_app
    from eventapp.extensions import db
    from eventapp.kits.models import Sheet, UnsubscribeToken
    from eventapp.outbox.models import OutboxMessage

    app = create_app(instance_path=instance_path)
    with app.app_context():
        mails = db.session.scalar(
            select(func.count(func.distinct(OutboxMessage.dedupe_key))).where(
                OutboxMessage.kind == "kit_sheet_released"
            )
        )
        tokens = db.session.scalar(select(func.count()).select_from(UnsubscribeToken))
        notified = db.session.scalar(select(func.count()).where(Sheet.notified_at.is_not(None)))
        sample = db.session.scalars(select(OutboxMessage).limit(1)).first()
        db.engine.dispose()
    if mails != subscribers or tokens != subscribers or notified != 1:
        fail(
            f"expected {subscribers} mails and tokens and 1 sheet announced, "
            f"got {mails} mails, {tokens} tokens, {notified} announced"
        )
    if sample is None or "List-Unsubscribe" not in sample.headers:
        fail("the follow-ups carry no List-Unsubscribe header")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--worker", metavar="INSTANCE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_jobs_once(args.worker)
        return 0

    terminate_on_sigterm()
    with scratch_instance("eventapp-bench-release-") as instance:
        import os

        os.environ.update(instance.env())
        release_at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
        log(f"setting up a kit with {args.subscribers} subscribers in {instance.path}")
        populate(str(instance.path), args.subscribers, release_at)
        log("running the worker's jobs once in a fresh process")
        figures = jobs_once_in_a_fresh_process(__file__, instance)
        if figures["results"].get("kit-sheet-releases") != args.subscribers:
            fail(f"the release job reported {figures['results']}")
        check(str(instance.path), args.subscribers)
    seconds, rss = figures["seconds"], figures["peak_rss_mb"]
    # CPU time is what the run itself costs; wall time grows when the machine is busy.
    log(f"worker: {seconds:.2f} s wall, {figures['cpu_seconds']:.2f} s CPU")
    verdict = {True: "met", False: "MISSED"}
    log(
        f"targets: enqueue_s < {TARGET_SECONDS:g} ({verdict[seconds < TARGET_SECONDS]}), "
        f"peak_rss_mb < {TARGET_RSS_MB:g} ({verdict[rss < TARGET_RSS_MB]})"
    )
    result_line(
        "release",
        subscribers=args.subscribers,
        enqueue_s=f"{seconds:.2f}",
        peak_rss_mb=f"{rss:.1f}",
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"bench/release.py: {error}", file=sys.stderr)
        sys.exit(1)
