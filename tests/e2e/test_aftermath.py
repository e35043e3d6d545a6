"""After the webinar, clicked through in Chromium: the organiser publishes the replay and the
slides, previews the mail and sends it; each registrant gets the version that fits, in French
or in English, and finds the replay on the event page and in their space."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from eventapp.aftermath.mails import send_requested_aftermaths
from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.kits.placeholder import placeholder_pdf
from eventapp.models import now_utc
from eventapp.registrations.services import Applicant, record_join, register_attendee
from tests.e2e.conftest import PageWatch, axe, log_in, new_context, screenshot, serious
from tests.factories import make_event

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SLUG = "e2e-apres"
REPLAY = "https://videos.example.org/w/e2e-apres"


@pytest.fixture(scope="module")
def ended(live_site):
    """A webinar that ended an hour ago: one person came, one (in English) could not."""

    def build():
        starts_at = now_utc().replace(microsecond=0) - timedelta(hours=2)
        event = make_event(slug=SLUG, title="Webinaire terminé", starts_at=starts_at)
        before = starts_at - timedelta(days=1)
        came = register_attendee(
            event, Applicant(full_name="Inès Roux", email="ines@example.org"), before
        )
        register_attendee(
            event,
            Applicant(full_name="Liam Carter", email="liam@example.org", locale="en"),
            before,
        )
        record_join(came, starts_at + timedelta(minutes=1))
        db.session.commit()
        return event.id

    return live_site.query(build)


@pytest.fixture
def organiser(browser, live_site):
    context = new_context(browser, live_site, "fr", bypass_csp=True)
    page = context.new_page()
    watch = PageWatch()
    watch.attach(page)
    log_in(page, live_site)
    yield page, watch
    context.close()
    assert watch.server_errors == []


def test_the_organiser_publishes_the_replay_and_each_registrant_gets_one_mail(
    live_site, ended, organiser, browser
):
    page, _watch = organiser
    page.goto(live_site.path(f"/admin/events/{ended}"))
    page.get_by_role("link", name="Après l'événement : replay, documents, mail").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Après l'événement")
    # A material first: slides that are not accessible need their alternative.
    page.get_by_label("Titre", exact=True).fill("Diaporama")
    page.get_by_label("Fichier", exact=True).set_input_files(
        {"name": "diapos.pdf", "mimeType": "application/pdf", "buffer": placeholder_pdf(["D"])}
    )
    page.get_by_role("button", name="Ajouter le document").click()
    expect(page.locator(".field-error").first).to_contain_text("version accessible")
    page.get_by_label("Fichier", exact=True).set_input_files(
        {"name": "diapos.pdf", "mimeType": "application/pdf", "buffer": placeholder_pdf(["D"])}
    )
    page.get_by_label(re.compile("^Version accessible")).set_input_files(
        {"name": "diapos.txt", "mimeType": "text/plain", "buffer": b"Le texte des diapos"}
    )
    page.get_by_role("button", name="Ajouter le document").click()
    expect(page.get_by_role("status")).to_contain_text("Document « Diaporama » ajouté.")
    # Then the replay: publishing it leads to the mail's preview.
    page.get_by_label("Adresse du replay").fill(REPLAY)
    page.get_by_role("button", name="Publier le replay").click()
    expect(page).to_have_url(re.compile(rf"/admin/events/{ended}/aftermath/mail$"))
    expect(page.get_by_role("heading", name=re.compile("se sont connectées"))).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("pas pu venir"))).to_be_visible()
    assert serious(axe(page, "admin-aftermath-mail")) == []
    screenshot(page, "aftermath-01-preview")
    page.get_by_role("button", name="Envoyer le mail aux 2 personnes").click()
    expect(page.get_by_role("status")).to_contain_text("2 mails partiront dans la minute")

    def run_job() -> int:
        queued = send_requested_aftermaths(now_utc())
        db.session.commit()
        return queued

    assert live_site.query(run_job) == 2
    assert live_site.query(run_job) == 0  # once, however often the worker runs
    live_site.deliver()
    thanks = live_site.mail_to("ines@example.org", "Merci d'avoir participé")
    missed = live_site.mail_to("liam@example.org", "The replay is online")
    for mail in (thanks, missed):
        assert REPLAY in mail.get_body(preferencelist=("plain",)).get_content()

    # The person who could not come follows the mail to the event page, in English.
    visitor = new_context(browser, live_site, "en", bypass_csp=True)
    public = visitor.new_page()
    assert f"/events/{SLUG}\r\n" in missed.get_body(preferencelist=("plain",)).get_content()
    public.goto(live_site.path(f"/events/{SLUG}"))
    expect(public.get_by_role("link", name=re.compile("^Watch the replay"))).to_have_attribute(
        "href", REPLAY
    )
    expect(public.get_by_role("link", name="Diaporama", exact=True)).to_be_visible()
    public.set_viewport_size({"width": 320, "height": 800})
    assert public.evaluate("() => document.documentElement.scrollWidth") <= 320
    screenshot(public, "aftermath-02-event-page-320-en")
    assert serious(axe(public, "event-after-replay-en")) == []
    with public.expect_download() as download:
        public.get_by_role("link", name=re.compile("^Accessible version")).click()
    assert download.value.suggested_filename == "diaporama-accessible.txt"
    visitor.close()


def test_an_event_not_over_offers_no_replay_form(live_site, organiser):
    page, _watch = organiser
    upcoming = live_site.query(
        lambda: db.session.scalars(select(Event.id).where(Event.ends_at > now_utc())).first()
    )
    page.goto(live_site.path(f"/admin/events/{upcoming}/aftermath"))
    expect(page.get_by_text("L'événement n'est pas terminé")).to_be_visible()
    expect(page.get_by_label("Adresse du replay")).to_have_count(0)
