"""Presence and attestations in Chromium: the organiser's presence page of the demo's past
webinar (counts, chart, table), the public verification page of an attestation in French and in
English with its PDF, an attendance report imported through its preview, and minutes corrected
from the keyboard. axe-core, and 320 px without sideways scrolling, on each page."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from eventapp.aftermath.demo import PAST_SLUG
from eventapp.attestations.models import Attestation
from eventapp.attestations.services import code_of
from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.registrations.models import Registration
from eventapp.registrations.services import Applicant, register_attendee
from tests.e2e.conftest import PageWatch, axe, log_in, new_context, screenshot, serious
from tests.e2e.test_accessibility import check_narrow_screen, check_page
from tests.factories import make_event

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPORTS = Path(__file__).resolve().parent.parent / "data" / "attendance"
IMPORT_SLUG = "e2e-import-presence"
# The people of zoom_fr.csv (Jean-Éric Dupont is in it without an address: found by name), and
# one who did not come.
ZOOM_FR_PEOPLE = [
    ("Élodie Lefèvre", "elodie.lefevre@example.fr"),
    ("Jean-Éric Dupont", "jedupont@example.org"),
    ("Claire Petit", "claire.petit@example.fr"),
    ("Nina Absente", "nina@example.org"),
]


def screenshot_at(page, name: str, width: int) -> None:
    size = page.viewport_size
    page.set_viewport_size({"width": width, "height": 900})
    try:
        screenshot(page, name)
    finally:
        page.set_viewport_size(size)


def past_webinar_id(live_site) -> int:
    return live_site.query(
        lambda: db.session.scalars(select(Event.id).where(Event.slug == PAST_SLUG)).one()
    )


def opened(browser, live_site, locale: str = "fr", organiser: bool = True):
    """A fresh context (CSP bypassed for axe), its page and its watch; signed in if asked."""
    context = new_context(browser, live_site, locale, bypass_csp=True)
    page = context.new_page()
    watch = PageWatch()
    watch.attach(page)
    if organiser:
        log_in(page, live_site)
    return context, page, watch


def test_the_presence_page_of_the_past_webinar(browser, live_site):
    event_id = past_webinar_id(live_site)
    context, page, watch = opened(browser, live_site)
    try:
        response = page.goto(live_site.path(f"/admin/events/{event_id}/presence"))
        assert response is not None and response.status == 200
        expect(page.get_by_role("heading", level=1)).to_contain_text(
            "Salle, présence et attestations"
        )
        counts = page.locator("#presences ~ .counts-list li")
        # Eight demo registrants, one cancelled; five imported from the platform's report.
        expect(counts).to_have_text(
            ["7 personnes inscrites", "5 présentes", "2 absentes"], use_inner_text=True
        )
        chart = page.get_by_role("img", name="Minutes de présence")
        expect(chart).to_be_visible()
        expect(chart.locator("title")).to_have_text("Minutes de présence")
        expect(chart.locator("desc")).to_contain_text("minutes : ")
        assert chart.locator("rect.chart-bar").count() >= 1
        table = page.get_by_role("table", name="Présence des personnes inscrites")
        expect(table).to_be_visible()
        rows = table.locator("tbody tr")
        expect(rows).to_have_count(7)
        nadia = rows.filter(has=page.get_by_role("rowheader", name="Nadia Benali"))
        expect(nadia.locator("td").first).to_have_text("60")
        expect(nadia.get_by_role("link", name="délivrée")).to_have_attribute(
            "href", re.compile(r"^/attestations/[A-Z2-7]{4}(-[A-Z2-7]{4}){7}$")
        )
        julien = rows.filter(has=page.get_by_role("rowheader", name="Julien Faure"))
        expect(julien.locator("td").first).to_have_text("—")
        expect(page.get_by_label("Minutes de présence de Nadia Benali")).to_have_value("60")
        check_page(page, watch, "fr", "fr admin presence of the past webinar")
        screenshot_at(page, "presence-admin-1366", 1366)
        check_narrow_screen(page, "fr admin presence of the past webinar")
        screenshot_at(page, "presence-admin-320", 320)
        assert watch.server_errors == [] and watch.console_errors == []
    finally:
        context.close()


def demo_attestation(live_site) -> tuple[str, str]:
    """The code and name of one of the past webinar's attestations (Nadia Benali's)."""

    def read() -> tuple[str, str]:
        attestation = db.session.scalars(
            select(Attestation)
            .join(Event, Event.id == Attestation.event_id)
            .where(Event.slug == PAST_SLUG, Attestation.full_name == "Nadia Benali")
        ).one()
        return code_of(attestation), attestation.full_name

    return live_site.query(read)


VALID = {
    "fr": "Cette attestation est valable",
    "en": "This certificate is valid",
}
PDF_LINK = {"fr": "Télécharger l'attestation (PDF)", "en": "Download the certificate (PDF)"}
UNKNOWN = {"fr": "Attestation introuvable", "en": "Certificate not found"}


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_public_verification_page_of_an_attestation(browser, live_site, locale):
    code, name = demo_attestation(live_site)
    context, page, watch = opened(browser, live_site, locale, organiser=False)
    try:
        response = page.goto(live_site.path(f"/attestations/{code}"))
        assert response is not None and response.status == 200
        assert response.headers["cache-control"] == "no-store"
        expect(page.get_by_role("status")).to_contain_text(VALID[locale])
        expect(page.locator("dl.facts")).to_contain_text(name)
        expect(page.locator("dl.facts")).to_contain_text("Kit MunicipalESS : un an après")
        check_page(page, watch, locale, f"{locale} attestation verification")
        screenshot_at(page, f"attestation-verify-{locale}-1366", 1366)
        check_narrow_screen(page, f"{locale} attestation verification")
        screenshot_at(page, f"attestation-verify-{locale}-320", 320)

        link = page.get_by_role("link", name=PDF_LINK[locale])
        href = link.get_attribute("href")
        assert href == f"/attestations/{code}/attestation.pdf"
        pdf = page.request.get(live_site.path(href))
        assert pdf.status == 200
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.body().startswith(b"%PDF-")

        # A code that names nothing: its own page, with a 404.
        unknown = "AAAA-BBBB-CCCC-DDDD-EEEE-FFFF-GGGG-HHHH"
        response = page.goto(live_site.path(f"/attestations/{unknown}"))
        assert response is not None and response.status == 404
        expect(page.get_by_role("heading", level=1)).to_have_text(UNKNOWN[locale])
        check_page(page, watch, locale, f"{locale} attestation unknown")
        screenshot_at(page, f"attestation-unknown-{locale}-1366", 1366)
        check_narrow_screen(page, f"{locale} attestation unknown")
        assert watch.server_errors == []
        # Chromium reports the 404 in the console; nothing else may be there.
        assert [e for e in watch.console_errors if "status of 404" not in e] == []
    finally:
        context.close()


@pytest.fixture(scope="module")
def import_event(live_site) -> dict[str, object]:
    """An event that ended yesterday, with the registrants zoom_fr.csv names and one more."""

    def seed() -> dict[str, object]:
        now = now_utc().replace(microsecond=0)
        event = make_event(
            slug=IMPORT_SLUG,
            title="Webinaire à importer",
            starts_at=now - timedelta(days=1),
        )
        ids = {}
        for name, email in ZOOM_FR_PEOPLE:
            registration = register_attendee(
                event, Applicant(full_name=name, email=email), event.starts_at - timedelta(days=2)
            )
            ids[name] = registration.id
        db.session.commit()
        return {"event_id": event.id, "registrations": ids}

    return live_site.query(seed)


def upload(page, report: str) -> None:
    """On the import form, send one of tests/data/attendance/'s reports; wait for its preview."""
    page.locator("input[type=file]").set_input_files(str(REPORTS / report))
    page.get_by_role("button", name="Lire le rapport").click()
    page.wait_for_url(re.compile(r"/presence/import/\d+-[0-9a-f]{32}\.csv$"))


def test_an_attendance_report_imported_through_its_preview(browser, live_site, import_event):
    event_id = import_event["event_id"]
    context, page, watch = opened(browser, live_site)
    try:
        page.goto(live_site.path(f"/admin/events/{event_id}/presence"))
        page.get_by_role("link", name=re.compile("Importer un rapport de présence")).click()
        page.wait_for_url(re.compile(rf"/admin/events/{event_id}/presence/import$"))
        check_page(page, watch, "fr", "fr attendance import form")
        upload(page, "zoom_fr.csv")
        expect(page.get_by_role("heading", level=1)).to_contain_text(
            "Vérifier le rapport de présence"
        )
        counts = page.locator("#resultat ~ .counts-list li")
        # French has no catalog of its own: zero takes the msgid's plural, not CLDR's singular.
        expect(counts).to_have_text(
            [
                "2 personnes reconnues par leur adresse mail",
                "1 personne reconnue par son nom",
                # No line for names shared by several registrants: there are none.
                re.compile(r"^0 personnes? non reconnues?"),
                re.compile(r"^0 lignes? illisibles?"),
            ]
        )
        recognised = page.get_by_role("table", name="Personnes reconnues")
        expect(recognised.locator("tbody tr")).to_have_count(3)
        expect(recognised).to_contain_text("Jean-Éric Dupont")
        # Nothing is saved before the confirmation.
        ids = import_event["registrations"]

        def minutes() -> dict[str, int | None]:
            return {
                name: db.session.get(Registration, rid).minutes_present for name, rid in ids.items()
            }

        assert set(live_site.query(minutes).values()) == {None}
        check_page(page, watch, "fr", "fr attendance preview")
        screenshot_at(page, "presence-import-preview-1366", 1366)
        check_narrow_screen(page, "fr attendance preview")
        screenshot_at(page, "presence-import-preview-320", 320)

        page.get_by_role("button", name="Importer ces présences").click()
        page.wait_for_url(re.compile(rf"/admin/events/{event_id}/presence(#presences)?$"))
        expect(page.locator(".flash")).to_have_text(
            re.compile(r"^3 présences importées, 0 lignes? écartées?\.$")
        )
        table = page.get_by_role("table", name="Présence des personnes inscrites")
        for name, expected in [
            ("Élodie Lefèvre", "75"),
            ("Jean-Éric Dupont", "85"),
            ("Claire Petit", "80"),
            ("Nina Absente", "—"),
        ]:
            row = table.locator("tbody tr").filter(has=page.get_by_role("rowheader", name=name))
            expect(row.locator("td").first).to_have_text(expected)
        expect(page.locator(".counts-list li").nth(1)).to_have_text("3 présentes")
        expect(page.get_by_role("img", name="Minutes de présence")).to_be_visible()
        assert live_site.query(minutes) == {
            "Élodie Lefèvre": 75,
            "Jean-Éric Dupont": 85,
            "Claire Petit": 80,
            "Nina Absente": None,
        }
        check_page(page, watch, "fr", "fr admin presence after the import")
        assert watch.server_errors == [] and watch.console_errors == []
    finally:
        context.close()


def test_minutes_corrected_from_the_keyboard(browser, live_site):
    """Karim Ouali's 21 minutes become 30: still present, still under the attestation's 45."""
    event_id = past_webinar_id(live_site)

    def karim() -> Registration:
        return db.session.scalars(
            select(Registration).where(
                Registration.event_id == event_id, Registration.full_name == "Karim Ouali"
            )
        ).one()

    karim_id = live_site.query(lambda: karim().id)
    context, page, watch = opened(browser, live_site)
    try:
        page.goto(live_site.path(f"/admin/events/{event_id}/presence"))
        field_id = f"minutes-{karim_id}"
        for _ in range(150):
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement.id") == field_id:
                break
        else:
            raise AssertionError("Karim Ouali's minutes cannot be reached with the Tab key")
        field = page.get_by_label("Minutes de présence de Karim Ouali")
        expect(field).to_be_focused()
        page.keyboard.press("ControlOrMeta+A")
        page.keyboard.type("30")
        expect(field).to_have_value("30")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(rf"/admin/events/{event_id}/presence(#presences)?$"))
        expect(page.locator(".flash")).to_have_text("Présence de Karim Ouali : 30 minutes.")
        expect(page.get_by_label("Minutes de présence de Karim Ouali")).to_have_value("30")
        assert live_site.query(lambda: karim().minutes_present) == 30
        assert watch.server_errors == [] and watch.console_errors == []
    finally:
        context.close()


def test_the_preview_at_320_px_lets_the_keyboard_scroll_its_tables(
    browser, live_site, import_event
):
    context, page, watch = opened(browser, live_site)
    try:
        page.goto(live_site.path(f"/admin/events/{import_event['event_id']}/presence/import"))
        upload(page, "zoom_fr.csv")  # a preview saves nothing: the import test is unaffected
        page.set_viewport_size({"width": 320, "height": 900})
        found = serious(axe(page, "fr attendance preview at 320 px"))
        assert found == [], found
        assert watch.server_errors == []
    finally:
        context.close()
