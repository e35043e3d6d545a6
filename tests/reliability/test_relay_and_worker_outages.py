"""The relay refusing for hours and the worker stopped: the back office says so from when it
began, the worker logs an outage once (then every few minutes), not once per mail, and every
mail goes out exactly once when the relay is back."""

from __future__ import annotations

import json
import logging
import re
import time
from datetime import timedelta

from sqlalchemy import select

from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.outbox.delivery import deliver_due
from eventapp.outbox.health import WorkerHealth
from eventapp.outbox.models import OutboxStatus, WorkerStatus
from tests.admin_helpers import signed_in
from tests.helpers import text
from tests.reliability.test_outbox_faults import (
    assert_each_received_once,
    outbox_rows,
    queue,
    wait_until_all_sent,
    workers,  # noqa: F401 (a fixture)
)
from tests.smtp import SmtpServer

RELAY_LINES = re.compile(r"outbox: the relay (refuses|still refuses|accepts mail again)")


def status_row() -> WorkerStatus | None:
    db.session.rollback()
    return db.session.scalar(select(WorkerStatus))


def relay_lines(caplog) -> list[str]:
    return [m for r in caplog.records if RELAY_LINES.match(m := r.getMessage())]


def test_a_relay_answering_421_then_gone_shows_in_the_back_office_until_it_takes_the_mail(
    app, client, smtp_server, caplog
):
    caplog.set_level(logging.WARNING)
    signed_in(client)
    queue(3)
    health = WorkerHealth()
    began = (now_utc() + timedelta(seconds=1)).replace(microsecond=0)  # the mails are due
    smtp_server.answer_421 = 3

    health.after_delivery(deliver_due(clock=lambda: began), began)

    row = status_row()
    assert row.relay_failing_since == began
    assert row.relay_error == "421 4.3.2 Try again later"
    page = text(client.get("/admin/"))
    assert "Le relais de mail refuse depuis le" in page
    assert ": 421 4.3.2 Try again later" in page
    assert "3 mails attendent : ils partiront d'eux-mêmes dès que le relais les acceptera." in page

    # The relay disappears. Hours of rounds: one more line every few minutes, none per mail.
    smtp_server.stop()
    for minutes in range(1, 12):
        moment = began + timedelta(minutes=minutes, hours=6)  # past every backoff
        health.after_delivery(deliver_due(clock=lambda moment=moment: moment), moment)
    row = status_row()
    assert row.relay_failing_since == began  # from when it first failed
    assert row.relay_error.startswith("ConnectionRefusedError")
    assert [line.split(":")[1].strip() for line in relay_lines(caplog)] == [
        "the relay refuses",
        "the relay still refuses, for 361 min",
        "the relay still refuses, for 366 min",
        "the relay still refuses, for 371 min",
    ]
    assert all(r.attempts == 1 for r in outbox_rows())  # an absent relay costs no attempt

    back = SmtpServer(port=smtp_server.port).start()
    try:
        moment = began + timedelta(hours=7)
        health.after_delivery(deliver_due(clock=lambda: moment), moment)
        assert_each_received_once(back)
        assert len(back.messages) == 3
    finally:
        back.stop()
    assert relay_lines(caplog)[-1].startswith("outbox: the relay accepts mail again after 420 min")
    assert status_row().relay_failing_since is None
    assert "Le relais de mail refuse" not in text(client.get("/admin/"))


def test_a_recipients_refusal_is_not_a_relay_outage(app, client, smtp_server):
    signed_in(client)
    smtp_server.refuse = {"r0@example.org"}
    queue(1)
    health = WorkerHealth()
    health.after_delivery(deliver_due(), now_utc())
    assert outbox_rows()[0].status == OutboxStatus.FAILED
    assert status_row() is None or status_row().relay_failing_since is None
    assert "Le relais de mail refuse" not in text(client.get("/admin/"))


def health_check(client) -> tuple[int, dict]:
    answer = client.get("/healthz?worker=1")
    return answer.status_code, json.loads(answer.get_data(as_text=True))


def test_a_stopped_worker_is_seen_by_the_back_office_and_by_monitoring(
    app,
    client,
    smtp_server,
    workers,  # noqa: F811 (the fixture imported above)
):
    app.config["WORKER_SILENCE_MINUTES"] = 0.05  # three seconds, for the test
    signed_in(client)
    assert health_check(client) == (
        503,
        {"status": "unavailable", "worker": "silent", "worker_seen_at": None},
    )
    assert "Le programme d'envoi (worker) n'a encore jamais tourné." in text(client.get("/admin/"))
    assert client.get("/healthz").status_code == 200  # the site itself is fine

    worker = workers(WORKER_HEARTBEAT_SECONDS=0.5)
    worker.wait_until_running()
    queue(2)
    wait_until_all_sent(2)
    deadline = time.monotonic() + 30
    while health_check(client)[0] != 200:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert health_check(client)[1]["worker"] == "ok"
    page = text(client.get("/admin/mails/"))
    assert "Son dernier passage : le" in page
    assert "ne s'est pas manifesté" not in page

    assert worker.stop() == 0
    deadline = time.monotonic() + 30
    while health_check(client)[0] != 503:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert "Le programme d'envoi (worker) ne s'est pas manifesté depuis le" in text(
        client.get("/admin/")
    )


def test_the_worker_logs_a_relay_outage_once_and_sends_everything_once_after_it(
    app,
    smtp_server,
    workers,  # noqa: F811 (the fixture imported above)
):
    smtp_server.answer_421 = 10**6  # refuses everything for now
    queue(10)
    worker = workers(
        OUTBOX_BACKOFF_BASE_SECONDS=0.1, OUTBOX_BACKOFF_MAX_SECONDS=0.5, OUTBOX_MAX_ATTEMPTS=1000
    )
    worker.wait_until_running()
    assert smtp_server.wait_for(30, data_commands=True)  # many refusals, mail after mail
    smtp_server.stop()
    time.sleep(1)  # rounds against a relay that is gone
    assert status_row().relay_error.startswith("ConnectionRefusedError")

    back = SmtpServer(port=smtp_server.port).start()
    try:
        wait_until_all_sent(10)
        assert_each_received_once(back)
    finally:
        back.stop()
    deadline = time.monotonic() + 30
    while "accepts mail again" not in worker.output:
        assert time.monotonic() < deadline, worker.output
        time.sleep(0.1)
    assert worker.stop() == 0
    lines = RELAY_LINES.findall(worker.output)
    assert lines == ["refuses", "accepts mail again"], worker.output
    assert "Traceback" not in worker.output
    assert status_row().relay_failing_since is None
