"""Presence in a BigBlueButton room of 1,000 people: one poll by the worker, attestation PDFs.

A scratch SQLite instance gets one webinar that started ten minutes ago, in a BigBlueButton room
on the stand-in server (tests/bbb_standin.py), with 1,000 confirmed registrants, all of them in
the meeting under their opaque attendee id. The stand-in runs in a subprocess of its own, driven
through its stdin, so the figures below are the worker's alone: the stand-in's work to build the
getMeetingInfo answer (1,000 attendees, about 260 kB of XML) is not counted in them.

The worker then polls the meeting as its `rooms-poll-presence` job does, one minute apart each
time (`services.poll_meeting` and a commit): a first poll that opens 1,000 spans, steady polls
where nobody changed (each still brings every present registrant's minutes up to date), and a
poll after 100 people left. poll_ms is the median of the steady polls in the worker's CPU time
(time.process_time, which a loaded machine inflates less than wall time); wall times, the first
poll, the departures, the full garbage collections that fell inside a steady poll and the share
of the API call alone (request, answer, XML parse) are printed on stderr.

Then 1,000 attestations are issued and drawn in a row inside one test request context
(`attestations.services.issue` then `pdf_of`, one commit at the end), the event's threshold set
and every registrant's minutes_present above it; attestations_per_s is PDFs per second of wall
time. peak_rss_mb is the worker process's peak resident memory at the end.

    .venv/bin/python bench/presence.py [--participants N] [--attestations N] [--steady N]

Last line: RESULT presence participants=<n> poll_ms=<n> attestations_per_s=<n> peak_rss_mb=<n>
Targets: poll_ms < 200, attestations_per_s > 50 and peak_rss_mb < 200.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from _common import (
    PROJECT_ROOT,
    BenchError,
    fail,
    log,
    result_line,
    scratch_instance,
    stop_process_group,
    terminate_on_sigterm,
)

TARGET_POLL_MS = 200.0
TARGET_ATTESTATIONS_PER_S = 50.0
TARGET_RSS_MB = 200.0
INSERT_BATCH = 10_000
STANDIN_SECRET = "bench-standin-secret"
SERVER_NAME = "bench"
LEAVERS = 100


# --- the stand-in, in its own process ----------------------------------------------------------


def serve_standin(secret: str) -> None:
    """Serve a stand-in BigBlueButton; read one JSON command a line on stdin, answer each.

    The first line out is the server's BBB_SERVERS entry. Commands: {"op": "add", "meeting",
    "users": [[user_id, full_name], ...]}, {"op": "leave", "meeting", "users": [user_id, ...]},
    {"op": "cpu"} (this process's CPU seconds so far). The server stops when stdin closes.
    """
    sys.path.insert(0, str(PROJECT_ROOT))
    from tests.bbb_standin import BbbStandIn

    standin = BbbStandIn(secret).start()
    try:
        print(json.dumps(standin.config()), flush=True)
        for line in sys.stdin:
            command = json.loads(line)
            answer: object = "ok"
            if command["op"] == "add":
                for user_id, full_name in command["users"]:
                    standin.add_attendee(command["meeting"], user_id, full_name)
            elif command["op"] == "leave":
                for user_id in command["users"]:
                    standin.leave(command["meeting"], user_id)
            elif command["op"] == "cpu":
                answer = time.process_time()
            print(json.dumps(answer), flush=True)
    finally:
        standin.stop()


class StandInProcess:
    """The parent's side of the stand-in subprocess."""

    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")])
        )
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--standin", STANDIN_SECRET],
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        first = self.process.stdout.readline()
        if not first:
            self.stop()
            fail(f"the stand-in exited with {self.process.returncode} before serving")
        self.config = json.loads(first)

    def send(self, **command: object) -> object:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            fail(f"the stand-in stopped answering (exit {self.process.poll()})")
        return json.loads(line)

    def stop(self) -> None:
        try:
            self.process.stdin.close()
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            pass
        stop_process_group(self.process)


# --- the worker's side -------------------------------------------------------------------------


def populate(participants: int, now: datetime):
    """Build the schema, the running webinar in its room and its confirmed registrants."""
    from flask_migrate import upgrade
    from sqlalchemy import insert

    from eventapp.events.models import Event, EventKind, EventStatus
    from eventapp.extensions import db
    from eventapp.registrations.models import Registration, RegistrationStatus
    from eventapp.rooms import services
    from eventapp.rooms.models import RoomKind

    upgrade()
    starts_at = now - timedelta(minutes=10)
    event = Event(
        slug="lancement",
        title="Lancement du kit",
        kind=EventKind.ONLINE,
        status=EventStatus.PUBLISHED,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=90),
    )
    db.session.add(event)
    db.session.flush()
    room = services.set_room(event, RoomKind.BBB, SERVER_NAME, record=False)
    for start in range(0, participants, INSERT_BATCH):
        rows = [
            {
                "event_id": event.id,
                "status": RegistrationStatus.CONFIRMED.value,
                "full_name": f"Personne {index}",
                "email": f"personne.{index}@example.org",
                "email_key": f"personne.{index}@example.org",
                "locale": "fr",
                "created_at": starts_at - timedelta(days=3),
                "first_joined_at": starts_at,
            }
            for index in range(start, min(start + INSERT_BATCH, participants))
        ]
        db.session.execute(insert(Registration.__table__), rows)
    db.session.commit()
    return event, room


def timed(action: Callable[[], object]) -> tuple[float, float, object]:
    """Run `action`; return its CPU and wall milliseconds and what it returned."""
    cpu, wall = time.process_time(), time.perf_counter()
    value = action()
    return (time.process_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000, value


class FullCollections:
    """Count the garbage collector's full (generation 2) passes and their milliseconds."""

    def __init__(self) -> None:
        self.passes: list[float] = []
        self._started = 0.0

    def __enter__(self) -> FullCollections:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *_exc) -> None:
        gc.callbacks.remove(self._callback)

    def _callback(self, phase: str, info: dict) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.passes.append((time.perf_counter() - self._started) * 1000)


def measure_polls(standin: StandInProcess, participants: int, steady: int, now: datetime) -> dict:
    """Fill the meeting, poll it as the worker does; return the figures, checked."""
    from sqlalchemy import func, select

    from eventapp.events.models import Event
    from eventapp.extensions import db
    from eventapp.registrations.models import Registration
    from eventapp.rooms import services
    from eventapp.rooms.models import EventRoom, PresenceSpan

    event = db.session.scalar(select(Event))
    room = db.session.get(EventRoom, event.id)
    services.ensure_meeting(event, room, now)
    db.session.commit()
    if room.created_on_server_at is None:
        fail(f"the meeting was not created: {room.last_error}")
    meeting = services.meeting_id(event)
    ids = db.session.scalars(select(Registration.id).order_by(Registration.id)).all()
    users = [[services.attendee_id(rid), f"Personne {n}"] for n, rid in enumerate(ids)]
    standin.send(op="add", meeting=meeting, users=users)

    def poll(at: datetime) -> Callable[[], int]:
        def run() -> int:
            changed = services.poll_meeting(event, room, at)
            db.session.commit()
            return changed

        return run

    def open_spans() -> int:
        return db.session.scalar(select(func.count()).where(PresenceSpan.left_at.is_(None)))

    minute = 0

    def next_minute() -> datetime:
        nonlocal minute
        minute += 1
        return now + timedelta(minutes=minute)

    standin_cpu = standin.send(op="cpu")
    first_cpu, first_wall, changed = timed(poll(next_minute()))
    standin_first = standin.send(op="cpu") - standin_cpu
    if room.last_error or changed != participants or open_spans() != participants:
        fail(f"first poll: {changed} changed, {open_spans()} spans open, {room.last_error}")
    log(
        f"first poll (opens {participants} spans): {first_cpu:.0f} ms CPU, "
        f"{first_wall:.0f} ms wall; the stand-in's answer took {standin_first * 1000:.0f} ms CPU"
    )

    steady_cpu, steady_wall, steady_gc = [], [], []
    for _ in range(steady):
        with FullCollections() as collections:
            cpu, wall, changed = timed(poll(next_minute()))
        steady_gc.extend(collections.passes)
        if room.last_error or changed != 0:
            fail(f"steady poll: {changed} changed, {room.last_error}")
        steady_cpu.append(cpu)
        steady_wall.append(wall)
    log(
        "steady polls (nobody changed): CPU "
        + ", ".join(f"{ms:.0f}" for ms in steady_cpu)
        + " ms; wall "
        + ", ".join(f"{ms:.0f}" for ms in steady_wall)
        + " ms"
    )
    if steady_gc:
        log(
            f"{len(steady_gc)} full garbage collections ran inside them: "
            + ", ".join(f"{ms:.0f}" for ms in steady_gc)
            + " ms"
        )
    expected = minute - 1  # joined at the first poll, one minute per poll since
    sample = db.session.scalar(
        select(Registration.minutes_present).where(Registration.id == ids[0])
    )
    if sample != expected:
        fail(f"minutes_present is {sample} after {minute} polls, expected {expected}")

    # The API call alone: request, the stand-in's answer, the XML parsed into attendees.
    client = services.client(room)
    api = [timed(lambda: client.meeting_info(meeting)) for _ in range(steady)]
    api_cpu = statistics.median(cpu for cpu, _, _ in api)
    api_wall = statistics.median(wall for _, wall, _ in api)
    if len(api[0][2].attendees) != participants:
        fail(f"getMeetingInfo listed {len(api[0][2].attendees)} attendees")

    leaving = min(LEAVERS, participants)
    standin.send(op="leave", meeting=meeting, users=[u for u, _ in users[:leaving]])
    left_cpu, left_wall, changed = timed(poll(next_minute()))
    if room.last_error or changed != leaving or open_spans() != participants - leaving:
        fail(f"poll after departures: {changed} changed, {open_spans()} open, {room.last_error}")
    log(f"poll after {leaving} left: {left_cpu:.0f} ms CPU, {left_wall:.0f} ms wall")

    poll_ms = statistics.median(steady_cpu)
    log(
        f"of a steady poll ({poll_ms:.0f} ms CPU), the API call and XML parse alone: "
        f"{api_cpu:.0f} ms CPU ({api_wall:.0f} ms wall); the rest is the database "
        f"(open spans, attendee ids, minutes brought up to date, commit)"
    )
    return {"poll_ms": poll_ms, "poll_wall_ms": statistics.median(steady_wall)}


def measure_attestations(app, count: int, now: datetime) -> float:
    """Issue and draw `count` attestations in a row; return PDFs per second of wall time."""
    from sqlalchemy import select, update

    from eventapp.attestations import services
    from eventapp.attestations.models import Attestation
    from eventapp.attestations.pdf import DEFAULT_FONT
    from eventapp.events.models import Event
    from eventapp.extensions import db
    from eventapp.registrations.models import Registration

    event = db.session.scalar(select(Event))
    event.attestation_min_minutes = 30
    db.session.execute(update(Registration).values(minutes_present=60))
    db.session.commit()
    registrations = db.session.scalars(
        select(Registration).order_by(Registration.id).limit(count)
    ).all()
    if len(registrations) < count:
        fail(f"only {len(registrations)} registrants to attest, {count} asked")
    if not os.path.exists(app.config.get("ATTESTATION_FONT") or DEFAULT_FONT):
        log("the DejaVu font is missing: the PDFs fall back to Helvetica")
    with app.test_request_context("/", headers={"Accept-Language": "fr"}):
        services.pdf_of(services.issue(registrations[0], now))  # font reduced once per process
        db.session.rollback()
        registrations = db.session.scalars(
            select(Registration).order_by(Registration.id).limit(count)
        ).all()
        started, cpu = time.perf_counter(), time.process_time()
        sizes = 0
        for registration in registrations:
            pdf = services.pdf_of(services.issue(registration, now))
            if not pdf.startswith(b"%PDF-"):
                fail(f"attestation of registration {registration.id} is not a PDF")
            sizes += len(pdf)
        db.session.commit()
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu
    issued = db.session.scalar(select(db.func.count()).select_from(Attestation))
    if issued != count:
        fail(f"{issued} attestations in the database, {count} drawn")
    log(
        f"{count} attestations: {seconds:.2f} s wall, {cpu_seconds:.2f} s CPU "
        f"({cpu_seconds / count * 1000:.1f} ms each), {sizes / count / 1024:.0f} kB a PDF"
    )
    return count / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=1000)
    parser.add_argument("--attestations", type=int, default=1000)
    parser.add_argument("--steady", type=int, default=5, help="steady polls of the median")
    parser.add_argument("--standin", metavar="SECRET", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.standin:
        serve_standin(args.standin)
        return 0
    if args.participants < LEAVERS or args.attestations > args.participants:
        parser.error(f"needs --participants >= {LEAVERS} and --attestations <= --participants")

    terminate_on_sigterm()
    with scratch_instance("eventapp-bench-presence-") as instance:
        os.environ.update(instance.env())
        standin = StandInProcess()
        try:
            from eventapp import create_app
            from eventapp.extensions import db

            app = create_app(instance_path=str(instance.path))
            app.config["BBB_SERVERS"] = {SERVER_NAME: standin.config}
            now = datetime.now(UTC).replace(microsecond=0)
            with app.app_context():
                log(f"setting up a running webinar of {args.participants} in {instance.path}")
                populate(args.participants, now)
                polls = measure_polls(standin, args.participants, args.steady, now)
                log(f"drawing {args.attestations} attestation PDFs")
                rate = measure_attestations(app, args.attestations, now)
                db.engine.dispose()
        finally:
            standin.stop()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux
    poll_ms = polls["poll_ms"]
    verdict = {True: "met", False: "MISSED"}
    log(
        f"targets: poll_ms < {TARGET_POLL_MS:g} ({verdict[poll_ms < TARGET_POLL_MS]}), "
        f"attestations_per_s > {TARGET_ATTESTATIONS_PER_S:g} "
        f"({verdict[rate > TARGET_ATTESTATIONS_PER_S]}), "
        f"peak_rss_mb < {TARGET_RSS_MB:g} ({verdict[rss < TARGET_RSS_MB]})"
    )
    result_line(
        "presence",
        participants=args.participants,
        poll_ms=f"{poll_ms:.0f}",
        attestations_per_s=f"{rate:.1f}",
        peak_rss_mb=f"{rss:.1f}",
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"bench/presence.py: {error}", file=sys.stderr)
        sys.exit(1)
