"""The satisfaction survey in Chromium: axe-core, a rating chosen and sent from the keyboard,
320 px without sideways scrolling, and the organiser's page with its chart."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.registrations.models import TokenPurpose
from eventapp.registrations.services import Applicant, register_attendee
from eventapp.registrations.tokens import store_tokens
from eventapp.surveys import services
from eventapp.surveys.models import SurveyAnswer
from tests.e2e.conftest import PageWatch, log_in, new_context, screenshot
from tests.e2e.test_accessibility import check_narrow_screen, check_page
from tests.factories import make_event

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SLUG = "e2e-questionnaire"


@pytest.fixture(scope="module")
def links(live_site) -> dict[str, object]:
    """An event that ended yesterday, three registrants each with a survey secret, two answers."""

    def seed() -> dict[str, object]:
        now = now_utc().replace(microsecond=0)
        event = make_event(slug=SLUG, title="Webinaire terminé", starts_at=now - timedelta(days=1))
        raws = []
        for number in range(3):
            registration = register_attendee(
                event,
                Applicant(full_name=f"Personne {number}", email=f"p{number}@example.org"),
                event.starts_at - timedelta(days=2),
            )
            raw = secrets.token_urlsafe(32)
            store_tokens(registration, {TokenPurpose.SURVEY: raw})
            raws.append(raw)
            if number:
                text = "Les exemples concrets" if number == 1 else '=HYPERLINK("x")'
                services.save_answer(
                    registration, services.AnswerData(rating=3 + number, most_useful=text), now
                )
        db.session.commit()
        return {"event_id": event.id, "surveys": [f"/s/{raw}" for raw in raws]}

    return live_site.query(seed)


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_the_survey_page_passes_axe_and_reflows_at_320_px(browser, live_site, links, locale):
    context = new_context(browser, live_site, locale, bypass_csp=True)
    page = context.new_page()
    watch = PageWatch()
    watch.attach(page)
    try:
        for url in (links["surveys"][1], links["surveys"][1] + "/thanks"):
            response = page.goto(live_site.path(url))
            assert response is not None and response.status == 200
            check_page(page, watch, locale, f"{locale} survey {url[:10]}")
            check_narrow_screen(page, f"{locale} survey {url[:10]}")
        # Sent empty: the error summary, and the page still passes.
        page.goto(live_site.path(links["surveys"][1]))
        page.evaluate(
            "() => document.querySelectorAll('[name=rating]').forEach(r => r.checked = false)"
        )
        page.locator("#survey-form button[type=submit]").click()
        expect(page.locator("#error-summary")).to_be_visible()
        check_page(page, watch, locale, f"{locale} survey with errors")
        check_narrow_screen(page, f"{locale} survey with errors")
    finally:
        context.close()


def test_a_rating_chosen_and_sent_from_the_keyboard(browser, live_site, links):
    context = new_context(browser, live_site, "fr")
    page = context.new_page()
    watch = PageWatch()
    watch.attach(page)
    try:
        url = links["surveys"][0]
        page.goto(live_site.path(url))
        expect(page.get_by_role("heading", level=1)).to_contain_text("Votre avis")
        # Tab until the keyboard reaches the rating, as a keyboard user would.
        for _ in range(40):
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement.name") == "rating":
                break
        else:
            raise AssertionError("the rating cannot be reached with the Tab key")
        page.keyboard.press("Space")  # the first choice: 1
        for _ in range(3):
            page.keyboard.press("ArrowDown")  # the arrows move along the group: 4
        expect(page.get_by_label("4 – Satisfait·e")).to_be_checked()
        page.keyboard.press("Tab")
        expect(page.get_by_label("Qu'est-ce qui vous a été le plus utile ?")).to_be_focused()
        page.keyboard.type("Les témoignages des élues")
        for _ in range(3):
            page.keyboard.press("Tab")
        expect(page.get_by_role("button", name="Envoyer ma réponse")).to_be_focused()
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/thanks$"))
        expect(page.locator("main")).to_contain_text("Votre réponse est enregistrée.")
        screenshot(page, "survey-thanks")

        def answer():
            return db.session.scalars(
                select(SurveyAnswer).where(SurveyAnswer.most_useful == "Les témoignages des élues")
            ).one()

        saved = live_site.query(lambda: (answer().rating, answer().event_id))
        assert saved == (4, links["event_id"])
        assert watch.server_errors == [] and watch.console_errors == []
    finally:
        context.close()


def test_the_organisers_page_with_its_chart_passes_axe(browser, live_site, links):
    context = new_context(browser, live_site, "fr", bypass_csp=True)
    page = context.new_page()
    watch = PageWatch()
    watch.attach(page)
    try:
        log_in(page, live_site)
        page.goto(live_site.path(f"/admin/events/{links['event_id']}/survey"))
        chart = page.get_by_role("img", name="Répartition des notes")
        expect(chart).to_be_visible()
        expect(page.locator("table caption")).to_contain_text("Réponses à")
        check_page(page, watch, "fr", "admin survey")
        screenshot(page, "admin-survey")
    finally:
        context.close()
