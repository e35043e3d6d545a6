"""Scale-out on PostgreSQL: two web hosts, two workers, 500 registrations, one sheet released.

Everything runs as it would on several machines: two gunicorn processes on their own ports (the
"hosts"), two `flask worker` processes, one PostgreSQL database built by the migrations, and a
real SMTP server. The processes share nothing but the database and their configuration (and the
instance folder, as hosts share the upload folder). At the end every mail must have arrived
exactly once, and the two workers must have shared the sending.
"""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, func, select, text

from eventapp import create_app
from eventapp.extensions import db
from eventapp.kits.followups import TEMPLATE as FOLLOWUP
from eventapp.kits.models import Sheet, UnsubscribeToken
from eventapp.kits.services import add_sheet, create_kit, reschedule_sheet
from eventapp.models import now_utc
from eventapp.outbox.models import OutboxMessage, OutboxStatus
from eventapp.registrations.models import Registration, RegistrationStatus
from tests.conftest import base_config
from tests.factories import make_event
from tests.liveserver import ROOT, LiveServer
from tests.pgserver import free_port
from tests.reliability.test_outbox_faults import WorkerProcess
from tests.smtp import SmtpServer

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

PEOPLE = 500
CONFIRMATION = "registration_confirmed"
CONFIRMATIONS_TIMEOUT = 120
FOLLOWUPS_TIMEOUT = 120
# The workers run their jobs every 2 s instead of each minute: the sheet, scheduled while they
# run, is announced by their next run, without the test waiting out the minute.
JOB_SECONDS = 2


class Host(LiveServer):
    """One "web host": gunicorn on its own port, its output kept in a log file."""

    def __init__(self, name: str, settings: dict[str, str], instance: Path, log_path: Path):
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.log = None  # LiveServer's own log file: this host writes to log_path itself
        env = {**os.environ, **{f"EVENTAPP_{key}": value for key, value in settings.items()}}
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--workers",
                    "2",
                    "--threads",
                    "4",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--log-level",
                    "warning",
                    # Not the checkout's instance/: no developer's config.py, a shared folder.
                    f"eventapp:create_app(instance_path={str(instance)!r})",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_until_up()
        except RuntimeError as error:
            raise RuntimeError(f"{name}: {error}\n{self.output}") from None

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def scale_out_app(postgres_server, tmp_path):
    """Give an app on a fresh database built by the migrations, context pushed; every process
    of the test shares its instance folder, as hosts share the upload folder."""
    name = f"scale_out_{tmp_path.name[-20:].replace('-', '_').lower()}"
    admin = create_engine(postgres_server.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    app = create_app(
        base_config(postgres_server.url(name)), instance_path=str(tmp_path / "instance")
    )
    with app.app_context():
        upgrade()  # what a deploy runs once, from one host, before starting the new code
        yield app
        db.session.remove()
        db.engine.dispose()


def post_registrations(hosts: list[Host], slug: str, people: list[tuple[str, bool]]) -> Counter:
    """Fetch the form once from the first host, then post everyone at once, host after host.

    The one CSRF token and session cookie work on every host: they share SECRET_KEY.
    """
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    path = f"/events/{slug}/register"
    with opener.open(hosts[0].url + path, timeout=30) as response:
        html = response.read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    plain = urllib.request.build_opener(NoRedirect)

    def post(numbered: tuple[int, tuple[str, bool]]) -> str:
        number, (email, wants_followups) = numbered
        fields = {
            "csrf_token": token,
            "full_name": f"Personne {number}",
            "email": email,
            "category": "agent",
        }
        if wants_followups:
            fields["wants_followups"] = "y"
        host = hosts[number % len(hosts)]  # round-robin, as a load balancer does
        request = urllib.request.Request(
            host.url + path,
            data=urllib.parse.urlencode(fields).encode(),
            headers={"Cookie": cookie},
        )
        try:
            with plain.open(request, timeout=60) as response:
                return f"{response.status} {response.headers.get('Location', '')}"
        except urllib.error.HTTPError as error:
            with error:
                return f"{error.code} {error.headers.get('Location', '')}"

    with ThreadPoolExecutor(max_workers=24) as pool:
        return Counter(pool.map(post, enumerate(people)))


def count(statement) -> int:
    db.session.rollback()  # a fresh snapshot: the other processes wrote since
    return db.session.scalar(statement)


def sent(kind: str):
    return (
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.kind == kind, OutboxMessage.status == OutboxStatus.SENT)
    )


def wait_until(what: str, done: Callable[[], bool], timeout: float, details: Callable[[], str]):
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"after {timeout} s, still waiting for {what}\n{details()}")
        time.sleep(0.2)


def worker_figures(output: str) -> tuple[int, list[int]]:
    """Return how many mails a worker's log says it sent, and what each release run queued."""
    mails = sum(int(n) for n in re.findall(r"worker: (\d+) sent", output))
    releases = [int(n) for n in re.findall(r"job kit-sheet-releases: (\d+)", output)]
    return mails, releases


def stop_all(hosts: list[Host], workers: list[WorkerProcess]) -> None:
    for worker in workers:  # SIGTERM first, as a service manager does
        if worker.process.poll() is None:
            worker.process.send_signal(signal.SIGTERM)
    for worker in workers:
        try:
            worker.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    for host in hosts:
        host.stop()


def test_two_hosts_and_two_workers_deliver_every_mail_exactly_once(
    scale_out_app, smtp_server: SmtpServer, tmp_path
):
    url = scale_out_app.config["SQLALCHEMY_DATABASE_URI"]
    settings = {  # what every host and every worker gets, as environment variables
        "SECRET_KEY": "scale-out-secret",
        "SQLALCHEMY_DATABASE_URI": url,
        "SITE_URL": "https://events.test",
        "MAIL_SERVER": smtp_server.host,
        "MAIL_PORT": str(smtp_server.port),
        # Every post comes from 127.0.0.1; and the default memory:// store counts per process,
        # so limits would need Redis (RATELIMIT_STORAGE_URI) to hold across hosts anyway.
        "RATELIMIT_ENABLED": "false",
    }
    event = make_event(slug="lancement", capacity=PEOPLE, starts_at=now_utc() + timedelta(days=10))
    kit = create_kit(slug="kit", title="Kit", events=[event], published=True)
    sheet = add_sheet(kit, number=1, title="Tourisme et ESS")  # not scheduled yet
    db.session.commit()
    people = [(f"personne{n}@example.org", n % 2 == 0) for n in range(PEOPLE)]
    opted_in = {email for email, wants in people if wants}
    total = PEOPLE + len(opted_in)

    hosts: list[Host] = []
    workers: list[WorkerProcess] = []

    def logs() -> str:
        return "\n".join(f"--- {p.log_path.stem}\n{p.output[-3000:]}" for p in [*workers, *hosts])

    try:
        # Workers first: each starts with a run of every job.
        workers = [
            WorkerProcess(
                tmp_path,
                url,
                smtp_server,
                name,
                OUTBOX_BATCH_SIZE=20,
                JOBS_MAX_INTERVAL_SECONDS=JOB_SECONDS,
                **settings,
            )
            for name in ("worker-a", "worker-b")
        ]
        instance = Path(scale_out_app.instance_path)
        hosts = [
            Host(name, settings, instance, tmp_path / f"{name}.log")
            for name in ("host-a", "host-b")
        ]
        for worker in workers:
            worker.wait_until_running()

        started = time.monotonic()
        answers = post_registrations(hosts, event.slug, people)
        posting = time.monotonic() - started
        done = f"303 /events/{event.slug}/register/done?outcome=confirmed"
        assert answers == Counter({done: PEOPLE}), logs()

        wait_until(
            f"{PEOPLE} confirmations sent",
            lambda: count(sent(CONFIRMATION)) == PEOPLE,
            CONFIRMATIONS_TIMEOUT,
            lambda: f"{count(sent(CONFIRMATION))} sent\n{logs()}",
        )
        # An organiser schedules the sheet for now: the next run of the job announces it.
        reschedule_sheet(db.session.get(Sheet, sheet.id), now_utc())
        db.session.commit()
        wait_until(
            f"{len(opted_in)} follow-ups sent",
            lambda: count(sent(FOLLOWUP)) == len(opted_in),
            FOLLOWUPS_TIMEOUT,
            lambda: f"{count(sent(FOLLOWUP))} sent\n{logs()}",
        )
        assert smtp_server.wait_for(total, timeout=10), len(smtp_server.received)
        time.sleep(1)  # a duplicate sent late would show up now
    finally:
        stop_all(hosts, workers)

    # The database: everyone has a seat and their mail, each opted-in person one follow-up.
    db.session.rollback()
    registrations = list(db.session.scalars(select(Registration)))
    assert Counter((r.event_id, r.status) for r in registrations) == {
        (event.id, RegistrationStatus.CONFIRMED): PEOPLE
    }
    assert {r.email for r in registrations if r.wants_followups} == opted_in
    rows = list(db.session.scalars(select(OutboxMessage)))
    assert Counter((r.kind, r.status) for r in rows) == {
        (CONFIRMATION, OutboxStatus.SENT): PEOPLE,
        (FOLLOWUP, OutboxStatus.SENT): len(opted_in),
    }
    assert {r.to_address for r in rows if r.kind == FOLLOWUP} == opted_in
    assert count(select(func.count()).select_from(UnsubscribeToken)) == len(opted_in)
    assert db.session.get(Sheet, sheet.id).notified_at is not None

    # The SMTP server: every Message-ID of the outbox exactly once, and nothing else.
    received = smtp_server.message_ids()
    assert len(smtp_server.received) == total
    assert [mid for mid, times in received.items() if times != 1] == []
    assert set(received) == {r.message_id for r in rows}
    followup_recipients = Counter(
        rcpt
        for mail in smtp_server.received
        if mail.message["List-Unsubscribe"]
        for rcpt in mail.rcpt_tos
    )
    assert followup_recipients == Counter({email: 1 for email in opted_in})

    # The workers: both sent mail, together exactly the total, and one release run queued the
    # follow-ups (the other worker's run found the sheet already claimed).
    figures = [worker_figures(worker.output) for worker in workers]
    assert all(mails > 0 for mails, _ in figures), logs()
    assert sum(mails for mails, _ in figures) == total, logs()
    assert sorted(n for _, runs in figures for n in runs if n) == [len(opted_in)], logs()
    print(  # shown with -s
        f"\nscale-out: {PEOPLE} registrations posted in {posting:.1f} s over 2 hosts; "
        f"mails sent by the workers: {[mails for mails, _ in figures]}"
    )
