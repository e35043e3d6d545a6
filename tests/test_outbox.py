"""The outbox: queueing exactly once, rendering, the MIME that reaches a real SMTP server, jobs."""

from __future__ import annotations

import base64
import smtplib
import threading
import time
from datetime import datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.outbox.delivery import backoff, deliver_due
from eventapp.outbox.jobs import JobRegistry
from eventapp.outbox.models import OutboxMessage, OutboxStatus
from eventapp.outbox.services import (
    Attachment,
    Recipient,
    cancel_pending,
    count_by_status,
    enqueue,
    enqueue_many,
)
from eventapp.outbox.sink import EmlFolderHandler, uses_local_sink
from eventapp.site.models import Organisation
from tests.pgserver import free_port

INVITE = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//eventapp//test//FR\r\nMETHOD:REQUEST\r\n"
    b"BEGIN:VEVENT\r\nUID:event-1@events.test\r\nSEQUENCE:0\r\nDTSTAMP:20210222T100000Z\r\n"
    b"DTSTART:20210225T123000Z\r\nDTEND:20210225T130000Z\r\nSUMMARY:Lancement du kit\r\n"
    b"END:VEVENT\r\nEND:VCALENDAR\r\n"
)


def message(to="zoe@example.org", key="test:1", **kwargs):
    kwargs.setdefault("subject", "Bienvenue")
    kwargs.setdefault("body", "Premier paragraphe.\n\nSecond paragraphe.")
    return enqueue("message", to, key, **kwargs)


def rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def only_received(smtp_server):
    assert len(smtp_server.received) == 1, [m["Subject"] for m in smtp_server.messages]
    return smtp_server.received[0]


# Queueing


def test_enqueue_renders_the_subject_and_both_parts_in_the_row(app):
    queued = message(to_name="Zoé Dupont", subject="  Votre\n  inscription  ", locale="en")
    db.session.commit()

    assert queued.status == OutboxStatus.PENDING
    assert queued.subject == "Votre inscription"  # the subject block, alone, on one line
    assert "Zoé Dupont" in queued.text_body and "Second paragraphe." in queued.text_body
    assert "<p>Premier paragraphe.</p>" in queued.html_body
    assert '<html lang="en">' in queued.html_body
    assert "https://events.test" in queued.text_body  # site_url from config
    assert queued.kind == "message" and queued.locale == "en"
    assert queued.message_id.endswith("@events.test>")  # the site's domain, not the host's


def test_a_dedupe_key_is_queued_once(app):
    first = message(key="confirmation:7")
    again = message(key="confirmation:7", subject="Autre chose")
    db.session.commit()

    assert first is not None and again is None
    assert [(r.dedupe_key, r.subject) for r in rows()] == [("confirmation:7", "Bienvenue")]


def test_concurrent_transactions_queueing_one_key_neither_raises(app):
    """The second insert waits for the first transaction and then adds nothing, no error."""
    outcomes: dict[str, object] = {}
    first_inserted = threading.Event()

    def transaction(name: str, wait_for: threading.Event | None) -> None:
        with app.app_context():
            try:
                if wait_for is not None:
                    wait_for.wait(10)
                outcomes[name] = message(key="reminder-1d:3")
                if wait_for is None:
                    first_inserted.set()
                    time.sleep(0.3)  # keep the transaction open while the other one inserts
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - the assertion below reports it
                outcomes[name] = error
                first_inserted.set()

    threads = [
        threading.Thread(target=transaction, args=("first", None)),
        threading.Thread(target=transaction, args=("second", first_inserted)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert isinstance(outcomes["first"], OutboxMessage), outcomes
    assert outcomes["second"] is None, outcomes
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"to": "not an address"},
        {"to": "eve@example.org\r\nBcc: x@evil.example"},
        {"reply_to": "a@b\nc@d"},
        {"headers": {"Bcc": "x@evil.example"}},
        {"headers": {"X-Bad\r\nBcc": "x"}},
        {"key": "k" * 256},
        {"to": "zoé@example.org"},  # would need SMTPUTF8
        {"attachments": [Attachment("a.pdf", "pdf\r\nX-Evil: 1", b"%PDF")]},
    ],
)
def test_enqueue_refuses_what_could_not_be_a_safe_message(app, kwargs):
    with pytest.raises(ValueError):
        message(**kwargs)
    assert rows() == []


def test_an_international_domain_is_queued_in_its_ascii_form(app, smtp_server):
    queued = message(to="zoe@exemple-été.fr")
    db.session.commit()
    deliver_due()
    assert queued.to_address == "zoe@xn--exemple-t-i4ab.fr"
    assert only_received(smtp_server).rcpt_tos == ["zoe@xn--exemple-t-i4ab.fr"]


def test_overlong_display_values_are_shortened_not_refused(app):
    queued = message(subject="S" * 600, to_name="N" * 300)
    db.session.commit()  # PostgreSQL would abort the whole transaction on a value too long
    assert len(queued.subject) == 500 and queued.subject.endswith("…")
    assert len(queued.to_name) == 200


def test_enqueue_many_renders_once_and_fills_in_each_recipient(app):
    message(to="deja@example.org", key="sheet:7:0")  # already queued: skipped, not an error
    db.session.commit()
    recipients = (
        Recipient(
            to=f"r{n}@example.org",
            dedupe_key=f"sheet:7:{n}",
            to_name="" if n == 1 else f"Zoé & <Cie> {n}",
            locale="en" if n == 2 else "fr",
            context={"unsubscribe_url": f"https://events.test/u/{n}?a=1&b=2"},
            headers={"List-Unsubscribe": f"<https://events.test/u/{n}>"},
        )
        for n in range(5)
    )
    added = enqueue_many(
        "message",
        recipients,
        kind="sheet_followup",
        batch_size=2,
        subject="Nouvelle fiche",
        body="La fiche n°7 est en ligne.",
        headers={"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )
    db.session.commit()

    assert added == 4
    queued = {r.dedupe_key: r for r in rows()}
    assert len(queued) == 5 and queued["sheet:7:0"].kind == "message"
    third = queued["sheet:7:3"]
    assert third.kind == "sheet_followup" and third.to_address == "r3@example.org"
    assert "Bonjour Zoé & <Cie> 3," in third.text_body
    assert "https://events.test/u/3?a=1&b=2" in third.text_body
    assert "Bonjour Zoé &amp; &lt;Cie&gt; 3," in third.html_body
    assert 'href="https://events.test/u/3?a=1&amp;b=2"' in third.html_body
    assert third.headers == {
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Unsubscribe": "<https://events.test/u/3>",
    }
    assert "Bonjour," in queued["sheet:7:1"].text_body  # an empty name takes the other branch
    assert '<html lang="en">' in queued["sheet:7:2"].html_body
    assert len({r.message_id for r in queued.values()}) == 5


def test_cancel_pending_withdraws_only_pending_mail(app):
    message(to="a@example.org", key="sheet:1:a")
    message(to="a@example.org", key="sheet:2:a")
    message(to="b@example.org", key="sheet:1:b")
    message(to="b@example.org", key="SHEET:1:c")
    message(to="c@example.org", key="confirmation:c")
    sent = message(to="a@example.org", key="confirmation:a")
    sent.status = OutboxStatus.SENT
    db.session.commit()

    assert cancel_pending(to_address="a@example.org") == 2
    # A key is compared whole, and case matters (SQLite's LIKE would ignore it).
    assert cancel_pending(dedupe_keys=iter(["sheet:1:b", "sheet:1:c", "sheet:1"])) == 1
    assert cancel_pending(dedupe_keys=iter(["confirmation:c", "unknown"])) == 1
    db.session.commit()

    statuses = {r.dedupe_key: r.status for r in rows()}
    assert statuses == {
        "sheet:1:a": OutboxStatus.CANCELLED,
        "sheet:2:a": OutboxStatus.CANCELLED,
        "sheet:1:b": OutboxStatus.CANCELLED,
        "SHEET:1:c": OutboxStatus.PENDING,
        "confirmation:c": OutboxStatus.CANCELLED,
        "confirmation:a": OutboxStatus.SENT,
    }
    with pytest.raises(ValueError):
        cancel_pending()


# What the SMTP server receives


def test_received_mail_has_the_headers_and_both_parts(app, smtp_server):
    app.config.update(
        MAIL_DEFAULT_SENDER="ne-pas-repondre@events.test", MAIL_REPLY_TO="contact@rtes.example"
    )
    db.session.add(Organisation(name="Réseau des collectivités (RTES)", short_name="RTES"))
    queued = message(to_name="Zoé Dupont", subject="Votre inscription « Kit » — confirmée")
    db.session.commit()

    report = deliver_due()

    assert (report.sent, report.failed) == (1, 0)
    received = only_received(smtp_server)
    mail = received.message
    assert received.rcpt_tos == ["zoe@example.org"]
    assert received.mail_from == "ne-pas-repondre@events.test"
    assert mail["From"].addresses[0].display_name == "Réseau des collectivités (RTES)"
    assert mail["From"].addresses[0].addr_spec == "ne-pas-repondre@events.test"
    assert str(mail["Reply-To"]) == "contact@rtes.example"
    assert mail["To"].addresses[0].display_name == "Zoé Dupont"
    assert str(mail["Subject"]) == "Votre inscription « Kit » — confirmée"
    assert mail["Message-ID"] == queued.message_id and mail["Message-ID"].endswith("@events.test>")
    assert mail["Date"].datetime is not None
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "text/html"]
    assert "Second paragraphe." in mail.get_body(("plain",)).get_content()
    assert "<p>Second paragraphe.</p>" in mail.get_body(("html",)).get_content()
    [row] = rows()
    assert row.status == OutboxStatus.SENT and row.sent_at is not None and row.attempts == 1


def test_invite_travels_as_a_calendar_alternative_and_as_invite_ics(app, smtp_server):
    report_pdf = Attachment("programme été.pdf", "application/pdf", b"%PDF-1.4 test")
    message(calendar=INVITE, attachments=[report_pdf])
    db.session.commit()

    deliver_due()

    raw = only_received(smtp_server).raw
    mail = only_received(smtp_server).message
    assert mail.get_content_type() == "multipart/mixed"
    alternative, invite, pdf = mail.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    plain, html, calendar = alternative.iter_parts()
    assert (plain.get_content_type(), html.get_content_type()) == ("text/plain", "text/html")
    assert calendar.get_content_type() == "text/calendar"
    assert calendar.get_param("method") == "REQUEST"  # on the Content-Type, as received
    assert calendar.get_content_charset() == "utf-8"
    assert b"Content-Type: text/calendar; method=REQUEST;" in raw
    assert calendar.get_payload(decode=True) == INVITE
    assert invite.get_content_disposition() == "attachment"
    assert invite.get_filename() == "invite.ics"
    assert invite.get_content_type() == "application/ics"
    assert invite.get_payload(decode=True) == INVITE
    assert pdf.get_filename() == "programme été.pdf"
    assert pdf.get_payload(decode=True) == b"%PDF-1.4 test"


def test_a_name_or_subject_with_line_breaks_cannot_add_a_header(app, smtp_server):
    message(
        to_name="Eve\r\nBcc: victim@evil.example",
        subject="Bonjour\r\nX-Injected: oui",
        headers={"X-Campaign": "ok\r\nBcc: other@evil.example"},
        reply_to="reponses@example.org",
    )
    db.session.commit()

    deliver_due()

    received = only_received(smtp_server)
    mail = received.message
    assert received.rcpt_tos == ["zoe@example.org"]
    assert mail["Bcc"] is None and mail["X-Injected"] is None
    assert b"\nBcc:" not in received.raw and b"\nX-Injected:" not in received.raw
    assert mail["To"].addresses[0].display_name == "Eve Bcc: victim@evil.example"
    assert mail["To"].addresses[0].addr_spec == "zoe@example.org"
    assert str(mail["Subject"]) == "Bonjour X-Injected: oui"
    assert str(mail["X-Campaign"]) == "ok Bcc: other@evil.example"
    assert str(mail["Reply-To"]) == "reponses@example.org"  # the message's own wins over config


def test_list_unsubscribe_is_written_as_given(app, smtp_server):
    url = "https://events.test/desabonnement/" + "x" * 90
    message(
        headers={
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
    )
    db.session.commit()

    deliver_due()

    received = only_received(smtp_server)
    assert f"List-Unsubscribe: <{url}>\r\n".encode() in received.raw  # not folded into =?utf-8?
    assert str(received.message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"


def test_only_due_and_pending_mail_is_sent(app, smtp_server):
    later = now_utc() + timedelta(hours=1)
    message(key="later", due_at=later)
    message(key="cancelled")
    cancel_pending(dedupe_keys=["cancelled"])
    message(key="now")
    db.session.commit()

    assert deliver_due().sent == 1
    assert deliver_due(clock=lambda: later).sent == 1

    assert [str(m["Subject"]) for m in smtp_server.messages] == ["Bienvenue", "Bienvenue"]
    assert count_by_status()[OutboxStatus.CANCELLED] == 1
    assert count_by_status()[OutboxStatus.SENT] == 2


def test_backoff_doubles_up_to_its_cap(app):
    app.config.update(OUTBOX_BACKOFF_BASE_SECONDS=60, OUTBOX_BACKOFF_MAX_SECONDS=300)
    assert [backoff(n).total_seconds() for n in (1, 2, 3, 4, 9)] == [60, 120, 240, 300, 300]


# Commands


def test_outbox_send_and_status_commands(app, runner, smtp_server):
    message(key="one")
    message(key="two")
    db.session.commit()

    sent = runner.invoke(args=["outbox", "send"])
    status = runner.invoke(args=["outbox", "status"])

    assert sent.exit_code == 0, sent.output
    assert "2 sent, 0 to retry later, 0 failed" in sent.output
    assert len(smtp_server.received) == 2
    assert status.exit_code == 0
    assert "sent       2" in status.output and "pending    0" in status.output


def test_mail_sink_keeps_each_mail_as_an_eml_file(tmp_path):
    lines: list[str] = []
    port = free_port()
    controller = Controller(
        EmlFolderHandler(tmp_path / "mail", lines.append), hostname="127.0.0.1", port=port
    )
    controller.start()
    try:
        with smtplib.SMTP("127.0.0.1", port) as client:
            client.sendmail("a@example.org", ["b@example.org"], b"Subject: Essai\r\n\r\nCorps\r\n")
    finally:
        controller.stop()

    [eml] = (tmp_path / "mail").glob("*.eml")
    assert str(message_from_bytes(eml.read_bytes(), policy=default_policy)["Subject"]) == "Essai"
    assert lines and "b@example.org" in lines[0] and "Essai" in lines[0]


def test_the_sink_is_used_only_without_a_configured_relay(app):
    assert uses_local_sink({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": 8025})
    assert not uses_local_sink({"MAIL_SERVER": "smtp.example.org", "MAIL_PORT": 587})
    assert not uses_local_sink({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": 25})


# Jobs


def test_jobs_run_when_due_and_a_failing_one_is_rolled_back(app):
    registry = JobRegistry()
    start = now_utc()
    calls: list[str] = []

    @registry.job("welcome", every=timedelta(minutes=5))
    def welcome(now):
        calls.append("welcome")
        return 1 if message(key=f"welcome:{now:%H%M}") else 0

    @registry.job("broken", every=timedelta(minutes=1))
    def broken(now):
        calls.append("broken")
        message(key="half-done")
        raise RuntimeError("boom")

    assert registry.run_due(start) == {"welcome": 1, "broken": None}
    assert registry.run_due(start + timedelta(minutes=1)) == {"broken": None}
    assert registry.run_due(start + timedelta(minutes=5)) == {"welcome": 1, "broken": None}

    assert calls == ["welcome", "broken", "broken", "welcome", "broken"]
    db.session.rollback()
    keys = [r.dedupe_key for r in rows()]
    assert len(keys) == 2 and "half-done" not in keys  # committed after each; the failure undone


def test_jobs_max_interval_runs_a_slow_job_sooner(app):
    registry = JobRegistry()
    start = now_utc()
    runs: list[datetime] = []

    @registry.job("daily", every=timedelta(days=1))
    def daily(now):
        runs.append(now)
        return 0

    app.config["JOBS_MAX_INTERVAL_SECONDS"] = 5
    for seconds in (0, 3, 5, 9, 10):
        registry.run_due(start + timedelta(seconds=seconds))
    assert runs == [start, start + timedelta(seconds=5), start + timedelta(seconds=10)]
    app.config["JOBS_MAX_INTERVAL_SECONDS"] = None
    registry.run_due(start + timedelta(seconds=20))
    assert len(runs) == 3  # at its own pace again: a day


def test_attachment_data_is_kept_in_the_row(app):
    queued = message(attachments=[Attachment("a.txt", "text/plain", b"\x00\x01abc")])
    db.session.commit()
    assert base64.b64decode(queued.attachments[0]["data"]) == b"\x00\x01abc"
