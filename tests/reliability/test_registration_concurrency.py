"""Simultaneous registrations against a real server never oversell and never duplicate."""

from __future__ import annotations

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.outbox.models import OutboxMessage
from eventapp.registrations.models import Registration
from tests.factories import make_event
from tests.liveserver import LiveServer


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.fixture
def live_server(app):
    settings = {
        "SECRET_KEY": "live-secret",
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SITE_URL": "https://events.test",
        "RATELIMIT_ENABLED": "false",
    }
    server = LiveServer(settings)
    yield server
    server.stop()


def post_registrations(server: LiveServer, slug: str, emails: list[str]) -> Counter:
    """Fetch the form once, then post one registration per address, all at once."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect)
    url = f"{server.url}/events/{slug}/register"
    html = opener.open(url).read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)

    def post(email: str) -> int:
        body = urllib.parse.urlencode(
            {"csrf_token": token, "full_name": "Test Person", "email": email, "category": "elu"}
        ).encode()
        request = urllib.request.Request(url, data=body, headers={"Cookie": cookie})
        try:
            return urllib.request.build_opener(NoRedirect).open(request, timeout=60).status
        except urllib.error.HTTPError as error:
            return error.code

    with ThreadPoolExecutor(max_workers=50) as pool:
        return Counter(pool.map(post, emails))


def count(*where) -> int:
    return db.session.scalar(select(func.count()).select_from(Registration).where(*where))


def test_200_simultaneous_registrations_fill_50_seats_and_wait_150(app, live_server):
    event = make_event(slug="rush", capacity=50, starts_at=now_utc() + timedelta(days=3))
    statuses = post_registrations(
        live_server, "rush", [f"person{n}@example.org" for n in range(200)]
    )
    assert statuses == Counter({303: 200})
    db.session.expire_all()
    assert count(Registration.event_id == event.id, Registration.status == "confirmed") == 50
    assert count(Registration.event_id == event.id, Registration.status == "waitlisted") == 150
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 200


def test_20_simultaneous_registrations_with_one_address_make_one(app, live_server):
    make_event(slug="same", capacity=50, starts_at=now_utc() + timedelta(days=3))
    statuses = post_registrations(live_server, "same", ["same.person@example.org"] * 20)
    assert statuses == Counter({303: 20})
    db.session.expire_all()
    assert count() == 1
