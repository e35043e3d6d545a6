"""The database locked or gone: a 503 with Retry-After in the visitor's language, what was typed
shown again, nothing half saved, one log line when it goes and one when it is back."""

from __future__ import annotations

import logging
import re
import sqlite3
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from eventapp import create_app
from eventapp.extensions import db
from eventapp.kits.models import KitSubscriber
from eventapp.outbox.models import OutboxMessage
from eventapp.press.models import PressInquiry
from eventapp.registrations.models import Registration
from tests.admin_helpers import login, make_user
from tests.conftest import IsolatedClient, base_config
from tests.factories import make_event
from tests.helpers import csrf_token, text
from tests.kit_helpers import make_kit
from tests.pgserver import free_port

pytestmark = pytest.mark.parametrize("database_uri", ["sqlite"], indirect=True)

ENGLISH = {"Accept-Language": "en"}
TYPED = {
    "full_name": "Camille Lefèvre",
    "email": "camille.lefevre@example.org",
    "organisation": "Communauté de communes du Val",
    "category": "agent",
    "wants_followups": "y",
}


@pytest.fixture
def app(database_uri, tmp_path):
    """An app on SQLite that waits a fifth of a second for a lock instead of fifteen."""
    config = {**base_config(database_uri), "SQLITE_BUSY_TIMEOUT_SECONDS": 0.2}
    app = create_app(config, instance_path=str(tmp_path / "instance"))
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@contextmanager
def locked(app):
    """Hold the database's write lock from another connection, as another process would."""
    path = db.engine.url.database
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def outage_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("database ")]


def test_a_registration_posted_while_the_database_is_locked_gets_503_and_its_form_back(
    app, client, caplog
):
    event = make_event()
    url = f"/events/{event.slug}/register"
    form = {**TYPED, "csrf_token": csrf_token(client, url)}
    caplog.set_level(logging.WARNING)

    with locked(app):
        first = client.post(url, data=form)
        second = client.post(url, data=form)

    for answer in (first, second):
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "60"
        page = text(answer)
        assert "Le service est momentanément indisponible : réessayez dans une minute." in page
        assert 'value="Camille Lefèvre"' in page
        assert 'value="camille.lefevre@example.org"' in page
        assert 'value="Communauté de communes du Val"' in page
        assert '<option selected value="agent">' in page
        assert re.search(r'<input checked[^>]*name="wants_followups"', page), page
        assert f'action="{url}"' in page
        assert 'name="csrf_token"' in page
    assert count(Registration) == 0
    assert count(OutboxMessage) == 0
    assert outage_lines(caplog) == [
        "database unavailable, answering 503 until it is back: database is locked"
    ]
    assert not [r for r in caplog.records if r.exc_info]  # no traceback per request

    retried = client.post(url, data=form)  # the lock is gone: the same post registers
    assert retried.status_code == 303
    assert count(Registration) == 1
    assert count(OutboxMessage) == 1
    lines = outage_lines(caplog)
    assert len(lines) == 2
    assert lines[1].startswith("database back ") and " s after the first refusal" in lines[1]
    assert lines[1].endswith("; 2 requests refused meanwhile")


def test_the_page_of_a_locked_database_is_in_the_visitors_language(app, client):
    event = make_event()
    url = f"/events/{event.slug}/register"
    form = {**TYPED, "csrf_token": csrf_token(client, url)}
    with locked(app):
        answer = client.post(url, data=form, headers=ENGLISH)
    assert answer.status_code == 503
    page = text(answer)
    assert '<html lang="en">' in page
    assert "The service is temporarily unavailable: please try again in a minute." in page
    assert "Le service" not in page
    assert 'value="Camille Lefèvre"' in page


def test_a_kit_subscription_and_a_press_inquiry_keep_what_was_typed(app, client):
    kit = make_kit()
    subscribe = f"/kits/{kit.slug}/subscribe"
    subscription = {
        "email": "veille@example.org",
        "csrf_token": csrf_token(client, f"/kits/{kit.slug}"),
    }
    inquiry = {
        "name": "Léa Fontaine",
        "outlet": "La Voix du Nord",
        "email": "lea.fontaine@example.org",
        "subject": "Entretien",
        "message": "Pourrais-je interviewer la présidente ?",
        "csrf_token": csrf_token(client, "/press/contact"),
    }
    with locked(app):
        subscribed = client.post(subscribe, data=subscription)
        asked = client.post("/press/contact", data=inquiry)
    assert subscribed.status_code == asked.status_code == 503
    assert 'value="veille@example.org"' in text(subscribed)
    assert f'action="{subscribe}"' in text(subscribed)
    assert "Pourrais-je interviewer la présidente ?</textarea>" in text(asked)
    assert 'value="La Voix du Nord"' in text(asked)
    assert count(KitSubscriber) == count(PressInquiry) == count(OutboxMessage) == 0

    assert client.post(subscribe, data=subscription).status_code == 303
    assert client.post("/press/contact", data=inquiry).status_code == 303
    assert count(KitSubscriber) == count(PressInquiry) == 1


def test_reading_pages_goes_on_while_the_database_is_locked_for_writing(app, client):
    event = make_event()
    with locked(app):
        assert client.get(f"/events/{event.slug}").status_code == 200
        assert client.get("/healthz").status_code == 200


def test_a_bug_in_a_query_is_still_a_500_not_an_outage(app, client, caplog):
    @app.get("/broken-query")
    def broken_query():
        db.session.execute(db.text("SELECT * FROM no_such_table"))
        return "unreachable"

    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as in production, not raise in the test
    caplog.set_level(logging.WARNING)
    assert client.get("/broken-query").status_code == 500
    assert outage_lines(caplog) == []


def test_public_forms_keep_working_with_per_process_limits_while_redis_is_unreachable(
    database_uri, tmp_path, caplog
):
    nobody = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    config = {
        **base_config(database_uri),
        "RATELIMIT_STORAGE_URI": nobody,
        "REGISTRATION_RATE_LIMIT": "3 per minute",
    }
    app = create_app(config, instance_path=str(tmp_path / "instance"))
    app.test_client_class = IsolatedClient
    caplog.set_level(logging.WARNING)
    with app.app_context():
        event = make_event()
        client = app.test_client()
        url = f"/events/{event.slug}/register"
        token = csrf_token(client, url)
        answers = [
            client.post(
                url, data={**TYPED, "email": f"person{n}@example.org", "csrf_token": token}
            ).status_code
            for n in range(4)
        ]
        assert answers == [303, 303, 303, 429]  # registered, and still limited, per process
        assert count(Registration) == 3
        assert "Rate limit storage unreachable - falling back to in-memory storage" in [
            r.getMessage() for r in caplog.records
        ]

        # Signing in counts failures in the same store: refused, then let in, never a 500.
        user = make_user()
        assert login(client, user, "not the right password").status_code == 401
        assert login(client, user).status_code == 303
        db.session.remove()
        db.engine.dispose()


def test_an_admin_post_during_an_outage_offers_the_page_it_came_from(app, client):
    from tests.admin_helpers import Poster, signed_in

    signed_in(client)
    event = make_event()
    post = Poster(client)
    with locked(app):
        answer = post(
            f"/admin/events/{event.id}/duplicate",
            headers={"Referer": f"http://localhost/admin/events/{event.id}"},
        )
    assert answer.status_code == 503
    assert f'<a href="/admin/events/{event.id}">Réessayer</a>' in text(answer)
