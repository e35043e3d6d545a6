"""Fan-out: N follow-ups queued in bulk and sent by the real worker, against bare smtplib.

Run with `.venv/bin/python bench/fanout.py [--n 10000]`. It queues N follow-up mails through
`enqueue_many` on a scratch SQLite database (timed), starts `flask worker` as a subprocess
against an aiosmtpd sink on loopback until all N arrived, and sends N copies of the same mail,
pre-built, with plain smtplib over one connection to the same sink (half before the worker, half
after). Throughputs are taken by the sink, from the first message received to the last, so
process start-up counts for neither side.
The last line is
`RESULT fanout n=<N> outbox_mps=<n> raw_mps=<n> ratio=<outbox/raw> peak_rss_mb=<n>`.
Targets: ratio >= 0.6; peak_rss_mb < 200 at N=100,000; enqueueing 100,000 in under 10 s.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from _common import (
    BENCH_DIR,
    BIN,
    HOST,
    BenchError,
    fail,
    free_port,
    log,
    result_line,
    scratch_instance,
    terminate_on_sigterm,
)
from aiosmtpd.controller import Controller

TARGET_RATIO = 0.6
TARGET_RSS_MB = 200
MESSAGE_ID = re.compile(rb"^Message-ID: (<[^>]+>)", re.MULTILINE | re.IGNORECASE)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="mails to send (default 10,000)")
    parser.add_argument("--batch-size", type=int, default=None, help="OUTBOX_BATCH_SIZE")
    return parser.parse_args(argv)


class CountingSink:
    """An aiosmtpd handler that only counts: both sides of the comparison pay the same server."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.count = 0
            self.message_ids: set[bytes] = set()
            self.first: float | None = None
            self.last: float | None = None

    async def handle_DATA(self, server, session, envelope) -> str:
        found = MESSAGE_ID.search(envelope.original_content)
        with self.lock:
            now = time.perf_counter()
            self.first = self.first or now
            self.last = now
            self.count += 1
            if found:
                self.message_ids.add(found.group(1))
            self.lock.notify_all()
        return "250 OK"

    def wait_for(self, count: int, timeout: float, alive=lambda: True) -> None:
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.count < count:
                if time.monotonic() > deadline:
                    fail(f"only {self.count} of {count} mails arrived in {timeout:.0f} s")
                if not alive():
                    fail(f"the sender stopped after {self.count} of {count} mails")
                self.lock.wait(0.5)

    @property
    def rate(self) -> float:
        if self.first is None or self.last is None or self.last <= self.first:
            return 0.0
        return (self.count - 1) / (self.last - self.first)


def enqueue_followups(app, n: int) -> tuple[float, bytes]:
    """Queue N follow-ups in bulk; return the seconds it took and one of them as MIME bytes."""
    from eventapp.extensions import db
    from eventapp.outbox.delivery import mail_envelope
    from eventapp.outbox.mime import build_mime
    from eventapp.outbox.models import OutboxMessage
    from eventapp.outbox.services import Recipient, enqueue_many

    site = app.config["SITE_URL"]
    recipients = (
        Recipient(
            to=f"abonne{number}@example.org",
            dedupe_key=f"sheet:7:subscriber:{number}",
            to_name=f"Abonnée {number}",
            locale="en" if number % 3 == 0 else "fr",
            context={"unsubscribe_url": f"{site}/unsubscribe/{number:024d}"},
            headers={
                "List-Unsubscribe": f"<{site}/unsubscribe/{number:024d}>",
                "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            },
        )
        for number in range(n)
    )
    body = (
        "La fiche n°7 « Tourisme et ESS » du kit RégionalESS est en ligne.\n\n"
        "Elle présente des initiatives de collectivités et les leviers qu'elles ont utilisés.\n\n"
        f"Lire la fiche : {site}/kits/regionaless/fiches/7"
    )
    with app.app_context():
        db.create_all()
        started = time.perf_counter()
        added = enqueue_many(
            "message",
            recipients,
            kind="sheet_followup",
            subject="Nouvelle fiche : Tourisme et ESS",
            body=body,
        )
        db.session.commit()
        seconds = time.perf_counter() - started
        if added != n:
            fail(f"enqueue_many added {added} rows, expected {n}")
        row = db.session.execute(OutboxMessage.__table__.select().limit(1)).one()
        envelope = mail_envelope()
        mime = build_mime(
            row, sender=envelope.sender, reply_to=envelope.reply_to, date=row.created_at
        )
        return seconds, mime


def cpu_seconds(pid: int) -> float:
    """Return the CPU time a live process has used (user + system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    fail("no VmHWM in /proc: cannot measure the worker's memory")
    return 0.0


def run_worker(instance, env: dict[str, str], sink: CountingSink, n: int) -> tuple[float, float]:
    """Let `flask worker` send the queue; return its rate and its peak RSS in MB."""
    log_path = instance.path / "worker.log"
    with open(log_path, "wb") as worker_log:
        worker = subprocess.Popen(
            [str(BIN / "flask"), "--app", instance.app_spec, "worker"],
            env=env,
            stdout=worker_log,
            stderr=subprocess.STDOUT,
        )
        try:
            sink.wait_for(n, timeout=60 + n / 50, alive=lambda: worker.poll() is None)
            rss = peak_rss_mb(worker.pid)
            cpu_ms = cpu_seconds(worker.pid) * 1000 / n
            log(f"worker CPU: {cpu_ms:.2f} ms per mail, start-up included")
            worker.send_signal(signal.SIGTERM)
            if worker.wait(timeout=30) != 0:
                fail(f"the worker exited with {worker.returncode}")
        except BaseException:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
            sys.stderr.write(log_path.read_text(errors="replace")[-3000:])
            raise
    if len(sink.message_ids) != n:
        fail(f"{n} mails arrived but only {len(sink.message_ids)} distinct Message-IDs")
    return sink.rate, rss


def run_raw(message_file: Path, port: int, sink: CountingSink, n: int) -> float:
    """Send N copies with bare smtplib from a subprocess; return the rate."""
    raw = subprocess.Popen(
        [
            sys.executable,
            str(BENCH_DIR / "_fanout_raw.py"),
            HOST,
            str(port),
            str(n),
            str(message_file),
        ]
    )
    try:
        sink.wait_for(n, timeout=60 + n / 50, alive=lambda: raw.poll() in (None, 0))
        if raw.wait(timeout=30) != 0:
            fail(f"the smtplib sender exited with {raw.returncode}")
    finally:
        if raw.poll() is None:
            raw.kill()
            raw.wait()
    return sink.rate


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    terminate_on_sigterm()
    from eventapp import create_app

    sink = CountingSink()
    port = free_port()
    controller = Controller(sink, hostname=HOST, port=port)
    controller.start()
    try:
        with scratch_instance("eventapp-fanout-") as instance:
            settings = {
                "EVENTAPP_MAIL_SERVER": HOST,
                "EVENTAPP_MAIL_PORT": str(port),
                "EVENTAPP_OUTBOX_POLL_SECONDS": "0.2",
            }
            if args.batch_size:
                settings["EVENTAPP_OUTBOX_BATCH_SIZE"] = str(args.batch_size)
            env = instance.env(**settings)
            app = create_app(
                {
                    "SQLALCHEMY_DATABASE_URI": instance.database_uri,
                    "SECRET_KEY": instance.secret_key,
                    "SITE_URL": "https://evenements.example.org",
                },
                instance_path=str(instance.path),
            )
            env["EVENTAPP_SITE_URL"] = app.config["SITE_URL"]
            log(f"queueing {args.n} follow-ups with enqueue_many")
            enqueue_seconds, sample = enqueue_followups(app, args.n)
            rate = args.n / enqueue_seconds
            print(f"enqueue n={args.n} seconds={enqueue_seconds:.2f} rows_per_s={rate:.0f}")

            message_file = instance.path / "sample.eml"
            message_file.write_bytes(sample)
            # Half the baseline before the worker and half after: a change in the machine's load
            # during the run weighs on both sides.
            halves = (args.n // 2, args.n - args.n // 2)
            raw_rates = []
            log(f"sending {halves[0]} pre-built copies with bare smtplib")
            raw_rates.append(run_raw(message_file, port, sink, halves[0]))

            sink.reset()
            log("sending the queue with `flask worker`")
            outbox_mps, rss = run_worker(instance, env, sink, args.n)
            log(f"worker: {outbox_mps:.0f} mails/s, peak RSS {rss:.1f} MB")

            log(f"sending {halves[1]} pre-built copies with bare smtplib")
            sink.reset()
            raw_rates.append(run_raw(message_file, port, sink, halves[1]))
            raw_mps = sum(raw_rates) / 2
            log(f"smtplib: {raw_rates[0]:.0f} then {raw_rates[1]:.0f} mails/s")
    except BenchError as error:
        log(f"failed: {error}")
        return 1
    finally:
        controller.stop()

    ratio = outbox_mps / raw_mps if raw_mps else 0.0
    result_line(
        "fanout",
        n=args.n,
        outbox_mps=f"{outbox_mps:.0f}",
        raw_mps=f"{raw_mps:.0f}",
        ratio=f"{ratio:.2f}",
        peak_rss_mb=f"{rss:.1f}",
    )
    if ratio < TARGET_RATIO:
        log(f"below target: ratio {ratio:.2f} < {TARGET_RATIO}")
    if rss >= TARGET_RSS_MB:
        log(f"above target: peak RSS {rss:.1f} MB >= {TARGET_RSS_MB} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
