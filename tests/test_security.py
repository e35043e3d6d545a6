"""Security: response headers, cookies in production, rate limits on every public form, and
every `next`-style parameter against open redirects."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from flask_login import login_user
from sqlalchemy import select

from eventapp import PROJECT_ROOT, create_app
from eventapp.auth.models import User
from eventapp.extensions import db
from eventapp.outbox.models import OutboxMessage, OutboxStatus
from eventapp.outbox.services import enqueue
from tests.admin_helpers import PASSWORD, Poster, login, make_user
from tests.factories import make_event
from tests.helpers import csrf_token
from tests.kit_helpers import make_kit

SITE = "https://events.test"
CHEAP_HASHING = {"ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 1024, "ARGON2_PARALLELISM": 1}


def directives(response) -> dict[str, str]:
    """Split a Content-Security-Policy header into {directive: sources}."""
    policy = response.headers["Content-Security-Policy"]
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


def assert_hardened(response, referrer: str = "strict-origin-when-cross-origin") -> None:
    csp = directives(response)
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'"  # no inline script, no eval
    assert csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["object-src"] == "'none'"
    assert csp["base-uri"] == "'self'" and csp["form-action"] == "'self'"
    assert "unsafe" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == referrer
    assert "camera=()" in response.headers["Permissions-Policy"]


@pytest.fixture
def organiser(app, client):
    """Sign the client in as an organiser (argon2 at a test cost)."""
    app.config.update(CHEAP_HASHING)
    user = make_user()
    assert login(client, user).status_code == 303
    return user


# --- headers ---------------------------------------------------------------------------------


def test_a_public_page_gets_every_header(client):
    response = client.get("/")
    assert response.status_code == 200
    assert_hardened(response)


def test_an_admin_page_gets_every_header(client, organiser):
    response = client.get("/admin/")
    assert response.status_code == 200
    assert_hardened(response, referrer="same-origin")  # the back office's own, stricter value


@pytest.mark.parametrize("url", ["/page-inconnue", "/events/inconnu", "/lang/xx"])
def test_an_error_page_gets_every_header(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert_hardened(response)


def test_a_crash_page_gets_every_header(app, client):
    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    app.testing = False  # the error handler answers instead of re-raising
    response = client.get("/boom")
    assert response.status_code == 500
    assert_hardened(response)


def test_a_static_file_gets_every_header(client):
    with client.get("/static/site.css") as response:  # a file: closed after use
        assert response.status_code == 200
        assert_hardened(response)


def test_secret_links_keep_their_stricter_referrer_policy(client):
    for url in ("/r/unknown-token", "/j/unknown-token", "/unsubscribe/unknown-token", "/s/unknown"):
        response = client.get(url)
        assert response.status_code == 404
        assert_hardened(response, referrer="no-referrer")


def test_only_a_page_showing_a_mail_lets_style_attributes_through(app, client, organiser):
    message = enqueue("message", "jeanne@example.org", "k1", subject="Objet", body="Bonjour.")
    db.session.commit()
    assert 'style="' in message.html_body  # mails are styled inline: mail clients drop sheets

    preview = client.get(f"/admin/mails/{message.id}")
    assert "srcdoc=" in preview.get_data(as_text=True)
    csp = directives(preview)
    assert csp["style-src-attr"] == "'unsafe-inline'"
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"

    listing = client.get("/admin/mails/")
    assert "style-src-attr" not in directives(listing)


TEMPLATES = PROJECT_ROOT / "templates"


def page_templates() -> list[Path]:
    """Every template rendered as a page; mails are not pages and keep their inline styles."""
    return [p for p in TEMPLATES.rglob("*.html") if "mail" not in p.relative_to(TEMPLATES).parts]


@pytest.mark.parametrize(
    "pattern, what",
    [
        (r"\sstyle\s*=", "an inline style attribute"),
        (r"<style", "a style element"),
        # A JSON-LD data block is never run, so the CSP does not apply to it (events/_meta.html).
        (r"<script(?![^>]*\s(?:src=|type=\"application/ld\+json\"))", "an inline script"),
        (r"\son[a-z]+\s*=", "an event handler attribute"),
        (r"javascript:", "a javascript: URL"),
    ],
)
def test_no_page_template_needs_an_unsafe_policy(pattern, what):
    offenders = [
        str(path.relative_to(TEMPLATES))
        for path in page_templates()
        if re.search(pattern, path.read_text(encoding="utf-8"), re.IGNORECASE)
    ]
    assert len(page_templates()) > 40
    assert offenders == [], f"{what} in {offenders}: move it to a static file"


# --- production: HSTS and cookies ------------------------------------------------------------


def production_app(tmp_path, **config):
    """An app configured as in production: not testing, a real secret, an https address."""
    values = {
        "SECRET_KEY": "a-real-production-secret",
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        "SITE_URL": SITE,
        "TESTING": False,
        **CHEAP_HASHING,
        **config,
    }
    app = create_app(values, instance_path=str(tmp_path / "instance"))
    with app.app_context():
        db.create_all()
    return app


def test_hsts_is_sent_in_production_only(tmp_path, client):
    assert "Strict-Transport-Security" not in client.get("/").headers  # testing

    production = production_app(tmp_path).test_client()
    for url in ("/", "/static/site.css", "/page-inconnue"):
        with production.get(url) as response:
            hsts = response.headers["Strict-Transport-Security"]
        assert hsts == "max-age=31536000; includeSubDomains"


@pytest.mark.parametrize(
    "config, sent",
    [
        ({"SITE_URL": "http://127.0.0.1:5000"}, False),  # a local run over plain http
        ({"DEBUG": True}, False),
        ({"HSTS_ENABLED": False}, False),
        ({"SITE_URL": "http://events.internal", "HSTS_ENABLED": True}, True),  # TLS ends upstream
        ({"HSTS_MAX_AGE_SECONDS": 600}, True),
    ],
)
def test_hsts_follows_its_settings(tmp_path, config, sent):
    response = production_app(tmp_path, **config).test_client().get("/")
    assert ("Strict-Transport-Security" in response.headers) is sent
    if "HSTS_MAX_AGE_SECONDS" in config:
        assert response.headers["Strict-Transport-Security"].startswith("max-age=600;")


def cookie(response, name: str) -> str:
    """Return the Set-Cookie header of one cookie."""
    found = [c for c in response.headers.getlist("Set-Cookie") if c.startswith(name + "=")]
    assert len(found) == 1, response.headers.getlist("Set-Cookie")
    return found[0]


def assert_locked_down(set_cookie: str) -> None:
    attributes = {part.strip().split("=")[0].lower(): part for part in set_cookie.split(";")[1:]}
    assert "secure" in attributes, set_cookie
    assert "httponly" in attributes, set_cookie
    assert attributes["samesite"].strip() == "SameSite=Lax", set_cookie


def test_cookies_are_secure_httponly_and_samesite_in_production(tmp_path):
    app = production_app(tmp_path)

    @app.get("/test-remember-me")
    def remember_me():
        login_user(db.session.scalars(select(User)).one(), remember=True)
        return "signed in"

    with app.app_context():
        make_user(email="organiser@example.org")
    client = app.test_client()

    session_cookie = cookie(client.get("/press/contact"), "session")  # the form's CSRF token
    assert_locked_down(session_cookie)
    assert_locked_down(cookie(client.get("/lang/en?next=/"), "lang"))
    assert_locked_down(cookie(client.get("/test-remember-me"), "remember_token"))
    # Signing in through the form, over https as in production, renews the session cookie.
    browser = app.test_client()
    form = browser.get("/admin/login", base_url=SITE).get_data(as_text=True)
    response = browser.post(
        "/admin/login",
        data={
            "email": "organiser@example.org",
            "password": PASSWORD,
            "csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1),
        },
        headers={"Referer": f"{SITE}/admin/login"},  # Flask-WTF checks it over https
        base_url=SITE,
    )
    assert response.status_code == 303
    assert_locked_down(cookie(response, "session"))


def test_cookies_also_work_over_plain_http_on_a_local_run(tmp_path):
    client = production_app(tmp_path, SITE_URL="http://127.0.0.1:5000").test_client()
    session_cookie = cookie(client.get("/press/contact"), "session")
    assert "Secure" not in session_cookie and "HttpOnly" in session_cookie
    assert "Secure" not in cookie(client.get("/lang/en"), "lang")


# --- rate limits -----------------------------------------------------------------------------


class World:
    """What the public forms need: an event open for registration and a published kit."""

    def __init__(self):
        self.event = make_event()
        self.kit = make_kit(self.event)


# endpoint: (the setting that limits it, its URL, form data)
LIMITED_FORMS = {
    "registrations.new": (
        "REGISTRATION_RATE_LIMIT",
        lambda w: f"/events/{w.event.slug}/register",
        {"full_name": ""},
    ),
    "press.contact": ("PRESS_INQUIRY_RATE_LIMIT", lambda w: "/press/contact", {"name": ""}),
    "kits.subscribe": (
        "KIT_SUBSCRIBE_RATE_LIMIT",
        lambda w: f"/kits/{w.kit.slug}/subscribe",
        {"email": "not an address"},
    ),
    "kits.confirm": ("PERSONAL_LINK_RATE_LIMIT", lambda w: "/subscribe/confirm/bad-token", {}),
    "kits.unsubscribe": ("UNSUBSCRIBE_RATE_LIMIT", lambda w: "/unsubscribe/bad-token", {}),
    "registrations.cancel": ("PERSONAL_LINK_RATE_LIMIT", lambda w: "/r/bad-token/cancel", {}),
    "registrations.followups": (
        "PERSONAL_LINK_RATE_LIMIT",
        lambda w: "/r/bad-token/followups",
        {"wanted": "1"},
    ),
    "registrations.erase": (
        "PERSONAL_LINK_RATE_LIMIT",
        lambda w: "/r/bad-token/erase",
        {"confirm": "y"},
    ),
    "surveys.answer": ("PERSONAL_LINK_RATE_LIMIT", lambda w: "/s/bad-token", {"rating": "4"}),
    "surveys.from_space": (
        "PERSONAL_LINK_RATE_LIMIT",
        lambda w: "/r/bad-token/survey",
        {"rating": "4"},
    ),
    "auth.login": (
        "LOGIN_RATE_LIMIT_PER_IP",
        lambda w: "/admin/login",
        {"email": "guess@example.org", "password": "wrong password"},
    ),
}
NOT_PUBLIC = {"auth.logout"}  # needs a signed-in organiser


def test_every_public_form_is_in_the_rate_limit_test(app):
    public_posts = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and not rule.endpoint.startswith("admin.")
    }
    assert public_posts - NOT_PUBLIC == set(LIMITED_FORMS)


@pytest.mark.parametrize("endpoint", sorted(LIMITED_FORMS))
def test_every_public_form_is_rate_limited(app, client, endpoint):
    setting, url, data = LIMITED_FORMS[endpoint]
    app.config.update(CHEAP_HASHING)
    app.config[setting] = "2 per minute"
    world = World()
    token = csrf_token(client, "/press/contact")
    statuses = [
        client.post(url(world), data={"csrf_token": token, **data}).status_code for _ in range(3)
    ]
    assert 429 not in statuses[:2], statuses
    assert statuses[2] == 429
    # Another client address is not held back.
    other = client.post(
        url(world), data={"csrf_token": token, **data}, environ_base={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert other.status_code != 429


def test_the_one_click_unsubscribe_limit_is_generous(app):
    limit = app.config["UNSUBSCRIBE_RATE_LIMIT"]
    per_minute = int(re.match(r"(\d+) per minute", limit).group(1))
    assert per_minute >= 100  # mail providers post from a few shared addresses


# --- open redirects --------------------------------------------------------------------------

HOSTILE_TARGETS = [
    "//evil.example",
    "///evil.example",
    "////evil.example/",
    "https://evil.example",
    "https://evil.example/admin/",
    "http:evil.example",
    "https:/evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "\\/evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "%2F%2Fevil.example",
    "%2f%2fevil.example",
    "\t//evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\nLocation: https://evil.example",
    " //evil.example",
    "\x00//evil.example",
    "//evil.example@events.test",
    "evil.example",
    "@evil.example",
]


def assert_stays_on_site(location: str) -> None:
    """Check a Location the way a browser reads it: it must land on this site."""
    assert location.startswith("/") and not location.startswith("//"), location
    assert "\\" not in location and not re.search(r"[\x00-\x20\x7f]", location), location
    for base in (f"{SITE}/lang/fr", f"{SITE}/admin/login"):
        assert urlsplit(urljoin(base, location)).netloc == "events.test", location


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_the_language_switch_never_redirects_off_site(client, target):
    response = client.get("/lang/en", query_string={"next": target})
    assert response.status_code == 303
    assert_stays_on_site(response.headers["Location"])
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_signing_in_never_redirects_off_site(app, client, target):
    app.config.update(CHEAP_HASHING)
    response = login(client, make_user(), next=target)
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/"
    # Signed in already, the sign-in page sends on at once: the same check applies.
    again = client.get("/admin/login", query_string={"next": target})
    assert again.status_code == 302
    assert again.headers["Location"] == "/admin/"


@pytest.mark.parametrize("target", HOSTILE_TARGETS)
def test_the_mail_log_retry_never_redirects_off_site(client, organiser, target):
    message = enqueue("message", "jeanne@example.org", "retry", subject="Objet", body="Bonjour.")
    message.status = OutboxStatus.FAILED
    db.session.commit()
    response = Poster(client)(f"/admin/mails/{message.id}/retry", {"back": target})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/admin/mails/{message.id}"
    assert db.session.get(OutboxMessage, message.id).status == OutboxStatus.PENDING


@pytest.mark.parametrize("target", ["/speakers", "/events/lancement?utm_source=x", "/%2F%2Fx"])
def test_a_path_on_the_site_is_still_followed(client, target):
    response = client.get("/lang/en", query_string={"next": target})
    assert response.headers["Location"] == target
    assert_stays_on_site(response.headers["Location"])
