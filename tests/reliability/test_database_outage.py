"""PostgreSQL stopped for five seconds under a live gunicorn taking registrations from six
threads: 503 pages instead of 500s, every registration answered 303 saved exactly once, one log
line per worker when the database goes and one when it is back, recovery without a restart."""

from __future__ import annotations

import http.cookiejar
import itertools
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, func, select, text

from eventapp import create_app
from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.outbox.models import OutboxMessage
from eventapp.registrations.models import Registration
from tests.conftest import base_config
from tests.factories import make_event
from tests.liveserver import LiveServer
from tests.pgserver import PostgresServer, find_pg_bin

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CLIENTS = 6
WORKERS = 2


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def own_postgres():
    """A PostgreSQL server of this test's own, since the test stops it."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL binaries are not installed; CI must install postgresql")
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed")
    server = PostgresServer(bin_dir)
    server.start()
    admin = create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("CREATE DATABASE eventapp_outage"))
    admin.dispose()
    yield server
    server.stop()


@pytest.fixture
def app(own_postgres, tmp_path):
    app = create_app(
        base_config(own_postgres.url("eventapp_outage")), instance_path=str(tmp_path / "i")
    )
    with app.app_context():
        db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


def open_form(server: LiveServer, slug: str) -> tuple[str, str]:
    """Fetch the form once, as a visitor's browser does: its CSRF token and session cookie."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(f"{server.url}/events/{slug}/register").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    return token, "; ".join(f"{c.name}={c.value}" for c in jar)


def get(url: str) -> tuple[int, str, str | None]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, answer.read().decode(), answer.headers.get("Retry-After")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), error.headers.get("Retry-After")


def test_a_five_second_database_outage_gives_503s_loses_nothing_and_heals(
    app, own_postgres, tmp_path
):
    event = make_event(slug="outage", starts_at=now_utc() + timedelta(days=3))
    log_path = tmp_path / "gunicorn.log"
    server = LiveServer(
        {
            "SECRET_KEY": "live-secret",
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "SITE_URL": "https://events.test",
            "RATELIMIT_ENABLED": "false",
        },
        workers=WORKERS,
        log_path=log_path,
    )
    token, cookie = open_form(server, "outage")
    url = f"{server.url}/events/outage/register"
    numbers = itertools.count()
    answered: list[tuple[str, int, str]] = []
    stop = threading.Event()

    def register_in_a_loop() -> None:
        opener = urllib.request.build_opener(NoRedirect)
        while not stop.is_set():
            email = f"person{next(numbers)}@example.org"
            body = urllib.parse.urlencode(
                {"csrf_token": token, "full_name": "Test Person", "email": email, "category": "elu"}
            ).encode()
            request = urllib.request.Request(url, data=body, headers={"Cookie": cookie})
            try:
                with opener.open(request, timeout=60) as answer:
                    answered.append((email, answer.status, ""))
            except urllib.error.HTTPError as error:
                answered.append((email, error.code, error.read().decode()))
            time.sleep(0.01)

    clients = [threading.Thread(target=register_in_a_loop) for _ in range(CLIENTS)]
    try:
        for client in clients:
            client.start()
        time.sleep(1.5)
        own_postgres.pause()
        time.sleep(1)
        during = {path: get(server.url + path) for path in ("/healthz", "/events/outage")}
        time.sleep(4)
        own_postgres.resume()
        time.sleep(3)
        after = get(server.url + "/healthz")
    finally:
        stop.set()
        for client in clients:
            client.join()
        server.stop()

    statuses = Counter(status for _, status, _ in answered)
    assert set(statuses) == {303, 503}, statuses  # no 500, and the outage was met
    for _, status, page in answered:
        if status == 503:
            assert "Le service est momentanément indisponible" in page
            assert 'value="Test Person"' in page
    assert during["/healthz"][0] == during["/events/outage"][0] == 503
    assert during["/events/outage"][2] == "60"
    assert "réessayez dans une minute" in during["/events/outage"][1]
    assert after[0] == 200  # healed, no restart

    saved = Counter(
        db.session.scalars(select(Registration.email).where(Registration.event_id == event.id))
    )
    registered = {email for email, status, _ in answered if status == 303}
    assert registered <= set(saved)
    assert max(saved.values()) == 1  # nothing saved twice
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == len(saved)
    # A post after the recovery registered: the answers after the outage are 303 again.
    assert answered[-1][1] == 303

    log = log_path.read_text()
    assert "Traceback" not in log
    went = re.findall(r"database unavailable, answering 503 until it is back: .+", log)
    back = re.findall(
        r"database back \d+ s after the first refusal; (\d+) requests? refused meanwhile", log
    )
    assert 1 <= len(went) <= WORKERS
    assert len(back) == len(went)
    assert sum(map(int, back)) == statuses[503] + 2  # the two GETs made during the outage
