"""Browser tests: the real app on a scratch database, Debian's Chromium (Playwright), axe-core.

Each test module gets its own live site (a threaded werkzeug server on loopback serving the app
built as in production, migrations applied, the demo loaded, an organiser account, a real SMTP
server for its mail); the whole run shares one browser. Nothing is downloaded: Playwright drives
/usr/bin/chromium, and axe-core comes from the npm registry (`npm ci --prefix tests/e2e`, which
`make test` runs). Without them the tests skip, and fail under CI=true.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from flask import Flask
from flask_migrate import upgrade
from werkzeug.serving import BaseWSGIServer, make_server

from eventapp import create_app
from eventapp.extensions import db
from tests.pgserver import free_port
from tests.smtp import SmtpServer

E2E = Path(__file__).resolve().parent
ROOT = E2E.parent.parent
AXE_SCRIPT = E2E / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# As root on a closed network: no sandbox, and none of Chromium's own calls home.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

ORGANISER_EMAIL = "organisatrice@example.org"
ORGANISER_NAME = "Organisatrice E2E"


def missing(message: str) -> None:
    """Skip without a tool the browser tests need; under CI that is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail(message + " (CI must install it: see .ci/run and the Makefile)")
    pytest.skip(message)


def pytest_collection_modifyitems(items) -> None:
    """Run the browser tests after all the others, keeping every other order as it is.

    While Playwright's sync API is started (for the whole run: one browser), the main thread
    holds a running asyncio loop, which asyncio.run() in a later test would trip over.
    """
    items.sort(key=lambda item: E2E in item.path.parents)


# The live site


@dataclass
class LiveSite:
    """The running app, its address, its mailbox, and the way to deliver its outbox."""

    app: Flask
    url: str
    smtp: SmtpServer
    organiser_password: str
    server: BaseWSGIServer

    def path(self, path: str) -> str:
        return self.url + path

    def deliver(self) -> str:
        """Send what the outbox holds, as `flask outbox send` does; return its report."""
        with self.app.app_context():
            result = self.app.test_cli_runner().invoke(args=["outbox", "send"])
            db.session.remove()
        assert result.exit_code == 0, result.output
        return result.output

    def mails_to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.smtp.messages if address in str(m["To"])]

    def mail_to(self, address: str, subject_part: str) -> EmailMessage:
        """Return the one mail to `address` whose subject holds `subject_part`."""
        found = [m for m in self.mails_to(address) if subject_part in str(m["Subject"])]
        assert len(found) == 1, [str(m["Subject"]) for m in self.mails_to(address)]
        return found[0]

    def link_in(self, message: EmailMessage, path_prefix: str) -> str:
        """Return the first link of the mail's text whose path starts with `path_prefix`.

        Links are written on SITE_URL; a link to another host is moved to the live server.
        """
        text = message.get_body(preferencelist=("plain",)).get_content()
        for candidate in re.findall(r"https?://[^\s<>\"']+", text):
            parts = urlsplit(candidate)
            if parts.path.startswith(path_prefix):
                live = urlsplit(self.url)
                return urlunsplit((live.scheme, live.netloc, parts.path, parts.query, ""))
        raise AssertionError(f"no {path_prefix} link in:\n{text}")

    def query(self, fn):
        """Run `fn()` in an app context of the live app (to read what the pages wrote)."""
        with self.app.app_context():
            try:
                return fn()
            finally:
                db.session.remove()


def live_config(tmp: Path, port: int, smtp: SmtpServer) -> dict:
    """Production settings (no TESTING), on a scratch SQLite file and the test SMTP server."""
    return {
        "TESTING": False,
        "SECRET_KEY": secrets.token_hex(16),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'e2e.sqlite3'}",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "SERVER_NAME": None,
        "MAIL_SERVER": smtp.host,
        "MAIL_PORT": smtp.port,
        # One browser posts every form of the module from one address: the limits have their own
        # tests, here they would only make the run depend on its speed.
        "RATELIMIT_ENABLED": False,
    }


def start_live_site(tmp: Path, **settings) -> LiveSite:
    """Build the database (migrations, demo, organiser), then serve the app on loopback; the
    settings given replace those of live_config."""
    smtp = SmtpServer().start()
    port = free_port()
    config = {**live_config(tmp, port, smtp), **settings}
    app = create_app(config, instance_path=str(tmp / "instance"))
    password = secrets.token_urlsafe(16)
    runner = app.test_cli_runner()
    try:
        with app.app_context():  # as `flask` gives every command
            upgrade()
            for args, stdin in (
                (["demo"], None),
                (
                    ["users", "create", ORGANISER_EMAIL, "--admin", "--name", ORGANISER_NAME],
                    f"{password}\n{password}\n",
                ),
            ):
                result = runner.invoke(args=args, input=stdin)
                assert result.exit_code == 0, result.output
            db.session.remove()
    except BaseException:
        smtp.stop()
        raise
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, name="e2e-live-site", daemon=True).start()
    return LiveSite(app, f"http://127.0.0.1:{port}", smtp, password, server)


def stop_live_site(site: LiveSite) -> None:
    site.server.shutdown()
    site.server.server_close()
    site.smtp.stop()
    with site.app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def live_site(tmp_path_factory, browser) -> LiveSite:
    """One live site per test module, on its own scratch database and mailbox."""
    site = start_live_site(tmp_path_factory.mktemp("e2e"))
    yield site
    stop_live_site(site)


# The browser


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, for the whole run."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the Python package playwright is not installed (pip install -e '.[dev]')")
    if not os.path.exists(CHROMIUM):
        missing(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception:
        playwright.stop()
        raise
    yield browser
    browser.close()
    playwright.stop()


class PageWatch:
    """What went wrong in the browser while a test ran: server errors, console errors."""

    def __init__(self) -> None:
        self.server_errors: list[str] = []
        self.console_errors: list[str] = []

    def attach(self, page) -> None:
        page.on("response", self._on_response)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.console_errors.append(f"page error: {error}"))

    def _on_response(self, response) -> None:
        if response.status >= 500:
            self.server_errors.append(f"{response.status} {response.url}")

    def _on_console(self, message) -> None:
        # A Content-Security-Policy violation is reported here, as is a script error.
        if message.type != "error":
            return
        if message.location.get("url", "").endswith("/favicon.ico"):
            return  # the browser asks for it by itself; the site has none
        self.console_errors.append(message.text)


def new_context(browser, site: LiveSite, locale: str = "fr", **options):
    """A fresh browser profile speaking `locale` (the site's language cookie and the header)."""
    context = browser.new_context(
        locale={"fr": "fr-FR", "en": "en-GB"}[locale],
        viewport={"width": 1280, "height": 900},
        accept_downloads=True,
        **options,
    )
    context.add_cookies([{"name": "lang", "value": locale, "url": site.url}])
    context.set_default_timeout(15_000)
    if options.get("bypass_csp") and AXE_SCRIPT.exists():
        # A context for axe: the browser adds it to each page it loads, which costs a tenth of
        # sending its 550 KB over the wire at every check.
        context.add_init_script(path=str(AXE_SCRIPT))
    return context


def log_in(page, site: LiveSite) -> None:
    """Sign the organiser in through the sign-in form."""
    page.goto(site.path("/admin/login"))
    page.locator("input[name=email]").fill(ORGANISER_EMAIL)
    page.locator("input[name=password]").fill(site.organiser_password)
    page.locator("form[action$='/admin/login'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/admin/?(\?.*)?$"))


def screenshot(page, name: str) -> None:
    """Keep a full-page picture of the page as a test artefact."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


# Accessibility


AXE_REPORT: dict[str, list[dict]] = {}


def axe(page, label: str) -> list[dict]:
    """Run axe-core on the page; return its violations (every impact) and keep them for the report.

    A context opened with bypass_csp=True has it in every page already (new_context); otherwise
    it is added as an inline <script>, which the site's Content-Security-Policy rightly blocks.
    """
    if not AXE_SCRIPT.exists():
        missing("axe-core is not installed: run `npm ci --prefix tests/e2e` (make test does)")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE_SCRIPT))
    violations = page.evaluate(
        """async () => {
            const result = await axe.run(document, {resultTypes: ["violations"]});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.slice(0, 5).map(n => ({target: n.target.join(" "),
                                                        summary: n.failureSummary})),
            }));
        }"""
    )
    AXE_REPORT[label] = violations
    return violations


def serious(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def pytest_sessionfinish(session) -> None:
    """Write every axe finding, whatever its impact, to test-artifacts/axe-report.json."""
    if AXE_REPORT:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "axe-report.json").write_text(
            json.dumps(AXE_REPORT, ensure_ascii=False, indent=2, sort_keys=True)
        )
