"""The database locked while a visitor registers, in Chromium: the 503 page in their language,
their answers in the form, axe-core and 320 px; the lock gone, the same form sent again
registers. And the organisers' warning of a relay that refuses."""

from __future__ import annotations

import re
import sqlite3
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from eventapp.demo import LAUNCH_SLUG
from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.outbox.health import WorkerHealth
from eventapp.registrations.models import Registration
from tests.e2e.conftest import (
    PageWatch,
    log_in,
    new_context,
    screenshot,
    start_live_site,
    stop_live_site,
)
from tests.e2e.test_accessibility import check_narrow_screen, check_page

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EMAIL = "camille.lefevre@example.org"


@pytest.fixture(scope="module")
def live_site(tmp_path_factory, browser):
    """A live site whose writes wait a fifth of a second for a lock, not fifteen."""
    site = start_live_site(tmp_path_factory.mktemp("e2e-outage"), SQLITE_BUSY_TIMEOUT_SECONDS=0.2)
    yield site
    stop_live_site(site)


@contextmanager
def locked(site):
    """Hold the database's write lock from another connection, as another process would."""
    path = site.query(lambda: db.engine.url.database)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def screenshot_at_320(page, name: str) -> None:
    size = page.viewport_size
    page.set_viewport_size({"width": 320, "height": 900})
    try:
        screenshot(page, name)
    finally:
        page.set_viewport_size(size)


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_a_registration_sent_while_the_database_is_locked_is_kept_then_sent_again(
    browser, live_site, locale
):
    context = new_context(browser, live_site, locale, bypass_csp=True)
    page = context.new_page()
    watch = PageWatch()
    watch.attach(page)
    email = f"{locale}.{EMAIL}"
    try:
        page.goto(live_site.path(f"/events/{LAUNCH_SLUG}/register"))
        page.locator("#full_name").fill("Camille Lefèvre")
        page.locator("#email").fill(email)
        page.locator("#organisation").fill("Communauté de communes du Val")
        page.locator("#category").select_option("agent")
        page.locator("#wants_followups").check()
        with locked(live_site):
            with page.expect_response(re.compile(r"/register$")) as answer:
                page.locator("#registration-form button[type=submit]").click()
            assert answer.value.status == 503
            assert answer.value.headers["retry-after"] == "60"
        assert [error.split(" ")[0] for error in watch.server_errors] == ["503"]
        watch.server_errors.clear()  # the one expected; any other fails check_page
        message = {
            "fr": "Le service est momentanément indisponible : réessayez dans une minute.",
            "en": "The service is temporarily unavailable: please try again in a minute.",
        }[locale]
        expect(page.get_by_role("alert")).to_have_text(message)
        expect(page.locator("#full_name")).to_have_value("Camille Lefèvre")
        expect(page.locator("#email")).to_have_value(email)
        expect(page.locator("#organisation")).to_have_value("Communauté de communes du Val")
        expect(page.locator("#category")).to_have_value("agent")
        expect(page.locator("#wants_followups")).to_be_checked()
        check_page(page, watch, locale, f"{locale} 503 with the form")
        screenshot(page, f"outage-registration-{locale}-1366")
        check_narrow_screen(page, f"{locale} 503 with the form")
        screenshot_at_320(page, f"outage-registration-{locale}-320")

        # The lock is gone: the same form, sent again from the keyboard, registers.
        page.locator("#outage-form button[type=submit]").focus()
        page.keyboard.press("Enter")
        expect(page).to_have_url(re.compile(r"/register/done\?outcome=confirmed$"))

        def saved() -> list[tuple[str, str, bool]]:
            return [
                (r.full_name, r.organisation, r.wants_followups)
                for r in db.session.scalars(select(Registration).where(Registration.email == email))
            ]

        assert live_site.query(saved) == [
            ("Camille Lefèvre", "Communauté de communes du Val", True)
        ]
        assert watch.server_errors == []
        # Chromium reports the 503 in the console too; nothing else may be there.
        assert [e for e in watch.console_errors if "status of 503" not in e] == []
    finally:
        context.close()


def test_the_organisers_see_since_when_the_relay_refuses(browser, live_site):
    def relay_refuses() -> None:
        WorkerHealth()._refused("421 4.3.2 Try again later", now_utc())

    live_site.query(relay_refuses)
    context = new_context(browser, live_site, "fr", bypass_csp=True)
    page = context.new_page()
    watch = PageWatch()
    watch.attach(page)
    try:
        log_in(page, live_site)
        warnings = page.locator(".service-warning")
        expect(warnings.first).to_contain_text("Le relais de mail refuse depuis le")
        expect(warnings.first).to_contain_text("421 4.3.2 Try again later")
        expect(warnings.nth(1)).to_contain_text("n'a encore jamais tourné")
        check_page(page, watch, "fr", "admin with the relay and worker warnings")
        screenshot(page, "admin-service-warnings-1366")
        check_narrow_screen(page, "admin with the relay and worker warnings")
        screenshot_at_320(page, "admin-service-warnings-320")
        assert watch.server_errors == []
    finally:
        context.close()
