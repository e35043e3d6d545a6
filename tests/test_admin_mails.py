"""The mail log: every outbox message, its status and errors; view one safely; retry one."""

from __future__ import annotations

import re

from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.outbox.models import OutboxMessage, OutboxStatus
from eventapp.outbox.services import enqueue
from tests.admin_helpers import (  # noqa: F401 - cheap_hashing is an autouse fixture
    Poster,
    audit_actions,
    cheap_hashing,
    signed_in,
)
from tests.helpers import text


def queue(
    key: str, status: OutboxStatus = OutboxStatus.PENDING, body: str = "Bonjour.", **values
) -> OutboxMessage:
    message = enqueue("message", f"{key}@example.org", key, subject=f"Objet {key}", body=body)
    for name, value in {"status": status, **values}.items():
        setattr(message, name, value)
    db.session.commit()
    return message


def test_the_log_lists_every_mail_with_counts_and_a_status_filter(client):
    queue("attente")
    queue("parti", OutboxStatus.SENT, sent_at=now_utc(), attempts=1)
    queue("echec", OutboxStatus.FAILED, attempts=8, last_error="550 mailbox unavailable")
    signed_in(client)
    page = text(client.get("/admin/mails/"))
    assert "3 mails" in page
    for subject in ("Objet attente", "Objet parti", "Objet echec"):
        assert subject in page
    assert "550 mailbox unavailable" in page
    counts = re.search(r"<caption>Mails par statut</caption>.*?</table>", page, re.S).group(0)
    assert re.findall(r">(\d+)</a></td>", counts) == ["1", "0", "1", "1", "0"]
    failed = text(client.get("/admin/mails/?status=failed"))
    assert "1 mail" in failed and "Objet echec" in failed and "Objet parti" not in failed
    assert "Objet parti" in text(client.get("/admin/mails/?q=parti@"))


def test_a_mail_is_shown_inert_in_a_sandboxed_frame(client):
    message = queue("piege", body="<script>alert('x')</script>")
    message.html_body = '<p onclick="steal()">Salut</p><script>alert(1)</script>'
    db.session.commit()
    signed_in(client)
    html = client.get(f"/admin/mails/{message.id}").get_data(as_text=True)
    frame = re.search(r"<iframe[^>]*>", html).group(0)
    assert 'sandbox=""' in frame
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in frame
    assert "<script>alert" not in html  # neither the HTML nor the text part runs in our page
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html  # the text part, as text
    assert message.dedupe_key in html


def test_retry_puts_a_failed_mail_back_in_the_queue_due_now(client):
    message = queue("echec", OutboxStatus.FAILED, attempts=8, last_error="timeout")
    sent = queue("parti", OutboxStatus.SENT)
    signed_in(client)
    post = Poster(client)
    response = post(f"/admin/mails/{message.id}/retry", {"back": "/admin/mails/?status=failed"})
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/mails/?status=failed"
    db.session.refresh(message)
    assert message.status == OutboxStatus.PENDING
    assert message.attempts == 0
    assert message.due_at <= now_utc()
    # A mail that did not fail is left alone; an outside "back" is not followed.
    refused = post(f"/admin/mails/{sent.id}/retry", {"back": "https://evil.example/"})
    assert refused.headers["Location"] == f"/admin/mails/{sent.id}"
    db.session.refresh(sent)
    assert sent.status == OutboxStatus.SENT
    assert audit_actions() == ["mail.retry"]


def test_the_dashboard_counts_pending_and_failed_mail(client):
    queue("a")
    queue("b")
    queue("c", OutboxStatus.FAILED)
    signed_in(client)
    page = " ".join(re.sub(r"<[^>]+>", " ", text(client.get("/admin/"))).split())
    assert "2 mails en attente d'envoi" in page
    assert "1 mail en échec" in page
