"""The outbox against a misbehaving SMTP server and dying workers: nothing lost, nothing twice.

Each test ends by counting the Message-IDs the server received. Retries are driven by an
injected clock, so no test waits for a backoff to pass.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.outbox.delivery import deliver_due
from eventapp.outbox.models import OutboxMessage, OutboxStatus
from eventapp.outbox.services import Recipient, enqueue, enqueue_many
from tests.smtp import SmtpServer, use_smtp_server

FLASK = str(Path(sys.executable).parent / "flask")


def queue(count: int, prefix: str = "fault") -> None:
    """Queue `count` mails, numbered in the order the worker sends them, and commit."""
    for number in range(count):
        enqueue(
            "message",
            f"r{number}@example.org",
            f"{prefix}:{number}",
            subject=f"Message {number}",
            body="Corps",
        )
    db.session.commit()


def outbox_rows() -> list[OutboxMessage]:
    db.session.rollback()  # a fresh snapshot: another process may have written
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def assert_each_received_once(server: SmtpServer) -> None:
    """Every queued mail arrived, and none twice: count the Message-IDs received."""
    received = server.message_ids()
    expected = {row.message_id for row in outbox_rows()}
    assert set(received) == expected
    assert [mid for mid, times in received.items() if times > 1] == []


# Faults of the SMTP server, with the worker's code in this process


def test_421_answers_are_retried_later_and_delivered_once(app, smtp_server):
    queue(3)
    smtp_server.answer_421 = 2
    start = now_utc()

    first = deliver_due(clock=lambda: start)

    assert (first.sent, first.retried, first.failed) == (1, 2, 0)
    retried = [row for row in outbox_rows() if row.status == OutboxStatus.PENDING]
    assert len(retried) == 2
    for row in retried:
        assert row.attempts == 1 and row.last_error.startswith("421")
        assert row.due_at == start + timedelta(seconds=app.config["OUTBOX_BACKOFF_BASE_SECONDS"])
    assert deliver_due(clock=lambda: start + timedelta(seconds=1)).claimed == 0  # not yet due

    later = deliver_due(clock=lambda: start + timedelta(hours=1))

    assert later.sent == 2
    assert smtp_server.data_commands == 5  # 2 refused, 3 accepted
    assert {row.status for row in outbox_rows()} == {OutboxStatus.SENT}
    assert_each_received_once(smtp_server)


def test_out_of_attempts_a_mail_fails_with_its_last_reason(app, smtp_server):
    app.config["OUTBOX_MAX_ATTEMPTS"] = 2
    queue(1)
    smtp_server.answer_421 = 10
    start = now_utc()

    deliver_due(clock=lambda: start)
    deliver_due(clock=lambda: start + timedelta(hours=1))
    deliver_due(clock=lambda: start + timedelta(days=1))

    [row] = outbox_rows()
    assert (row.status, row.attempts) == (OutboxStatus.FAILED, 2)
    assert row.last_error.startswith("421")
    assert smtp_server.data_commands == 2
    assert smtp_server.message_ids() == Counter()


def test_a_connection_dropped_mid_message_is_retried_and_delivered_once(app, smtp_server):
    queue(3)
    smtp_server.drop = 1
    start = now_utc()

    first = deliver_due(clock=lambda: start)

    assert (first.sent, first.retried) == (2, 1)  # reconnected for the next ones
    [dropped] = [row for row in outbox_rows() if row.status == OutboxStatus.PENDING]
    assert "Disconnected" in dropped.last_error

    assert deliver_due(clock=lambda: start + timedelta(hours=1)).sent == 1
    assert_each_received_once(smtp_server)


def test_a_550_fails_for_good_and_keeps_the_reason(app, smtp_server):
    queue(2)
    smtp_server.refuse = {"r0@example.org"}
    start = now_utc()

    report = deliver_due(clock=lambda: start)
    again = deliver_due(clock=lambda: start + timedelta(days=30))

    assert (report.sent, report.failed, again.claimed) == (1, 1, 0)
    refused, delivered = outbox_rows()
    assert refused.status == OutboxStatus.FAILED and refused.attempts == 1
    assert refused.last_error == "550 5.1.1 No such mailbox here"
    assert delivered.status == OutboxStatus.SENT
    assert smtp_server.message_ids() == Counter({delivered.message_id: 1})


def test_an_unreachable_relay_costs_no_attempt(app):
    down = SmtpServer()  # never started: nothing listens on its port
    use_smtp_server(app, down)
    queue(2)

    report = deliver_due()

    assert report.relay_error and report.sent == 0 and report.released == 2
    assert [(r.status, r.attempts) for r in outbox_rows()] == [(OutboxStatus.PENDING, 0)] * 2

    down.start()
    try:
        assert deliver_due().sent == 2
        assert_each_received_once(down)
    finally:
        down.stop()


# The real worker process


class WorkerProcess:
    """`flask worker` in a subprocess, on this test's database and SMTP server."""

    def __init__(
        self, tmp_path: Path, database_uri: str, server: SmtpServer, name: str, **settings
    ):
        self.log_path = tmp_path / f"{name}.log"
        instance = tmp_path / "instance"  # no developer's instance/config.py
        env = {
            **os.environ,
            "EVENTAPP_SQLALCHEMY_DATABASE_URI": database_uri,
            "EVENTAPP_SECRET_KEY": "test-secret-for-the-worker",
            "EVENTAPP_SITE_URL": "https://events.test",
            "EVENTAPP_MAIL_SERVER": server.host,
            "EVENTAPP_MAIL_PORT": str(server.port),
            "EVENTAPP_OUTBOX_POLL_SECONDS": "0.1",
            **{f"EVENTAPP_{key}": str(value) for key, value in settings.items()},
        }
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [FLASK, "--app", f"eventapp:create_app(instance_path={str(instance)!r})", "worker"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until_running(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while "worker: mail through" not in self.output:
            assert self.process.poll() is None, self.output
            assert time.monotonic() < deadline, self.output
            time.sleep(0.05)

    def stop(self) -> int:
        """SIGTERM, as a service manager does; return the exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def workers(tmp_path, database_uri, smtp_server):
    """Start worker processes; any left running are killed at the end of the test."""
    started: list[WorkerProcess] = []

    def start(name: str = "worker", **settings) -> WorkerProcess:
        worker = WorkerProcess(tmp_path, database_uri, smtp_server, name, **settings)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()


def wait_until_all_sent(count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    sent = select(func.count()).where(OutboxMessage.status == OutboxStatus.SENT)
    while db.session.scalar(sent) < count:
        db.session.rollback()  # the next count sees what the workers committed since
        assert time.monotonic() < deadline, [(r.id, r.status, r.attempts) for r in outbox_rows()]
        time.sleep(0.1)


def test_sigterm_lets_the_worker_finish_the_mail_in_hand(app, smtp_server, workers):
    queue(5)
    smtp_server.delay = 0.5
    worker = workers(OUTBOX_BATCH_SIZE=10)

    assert smtp_server.wait_for(2, data_commands=True)  # the second mail is in hand
    assert worker.stop() == 0, worker.output

    sent, in_hand, *rest = outbox_rows()
    assert [sent.status, in_hand.status] == [OutboxStatus.SENT, OutboxStatus.SENT]
    # The rest of the batch went back to the queue at once, without an attempt counted.
    assert [(r.status, r.attempts, r.lease_expires_at) for r in rest] == [
        (OutboxStatus.PENDING, 0, None)
    ] * 3
    assert smtp_server.message_ids() == Counter({sent.message_id: 1, in_hand.message_id: 1})


@pytest.mark.slow
def test_a_worker_killed_mid_batch_and_restarted_sends_each_mail_once(app, smtp_server, workers):
    """SIGKILL while the server is still taking in the 5th mail of a 10-mail batch.

    Mails 1-4 were accepted and marked sent (each in its own commit); the 5th never got its
    reply, so the server keeps nothing; 5-10 stay leased to the dead worker until the lease runs
    out, then the new worker takes them, with 11-40 that were never claimed.
    """
    count = 40
    enqueue_many(
        "message",
        (Recipient(f"r{n}@example.org", f"kill:{n}") for n in range(count)),
        kind="test",
        subject="Fiche",
        body="Corps",
    )
    db.session.commit()
    smtp_server.delay = 0.3
    settings = {
        "OUTBOX_BATCH_SIZE": 10,
        "OUTBOX_LEASE_SECONDS": 2,
        "OUTBOX_SMTP_TIMEOUT_SECONDS": 1,
    }
    first = workers("first", **settings)

    assert smtp_server.wait_for(5, data_commands=True), first.output
    first.process.send_signal(signal.SIGKILL)
    first.process.wait()

    rows = outbox_rows()
    assert [r.status for r in rows[:5]] == [OutboxStatus.SENT] * 4 + [OutboxStatus.SENDING]
    smtp_server.delay = 0
    second = workers("second", **settings)
    wait_until_all_sent(count)
    assert second.stop() == 0, second.output

    rows = outbox_rows()
    assert rows[4].attempts == 2  # claimed by the dead worker, then by its successor
    assert len(smtp_server.received) == count
    assert_each_received_once(smtp_server)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize("database_uri", ["postgres"], indirect=True)  # SKIP LOCKED
def test_two_workers_on_postgresql_send_each_of_1000_mails_once(app, smtp_server, workers):
    count = 1000
    settings = {"OUTBOX_BATCH_SIZE": 20, "OUTBOX_LEASE_SECONDS": 60}
    pair = [workers("a", **settings), workers("b", **settings)]
    for worker in pair:
        worker.wait_until_running()

    enqueue_many(
        "message",
        (Recipient(f"r{n}@example.org", f"pair:{n}") for n in range(count)),
        kind="test",
        subject="Fiche",
        body="Corps",
    )
    db.session.commit()
    wait_until_all_sent(count)

    assert [worker.stop() for worker in pair] == [0, 0]
    assert len(smtp_server.received) == count
    assert_each_received_once(smtp_server)
    for worker in pair:  # both took part: the batches were shared, not duplicated
        assert " sent, " in worker.output, worker.output
