"""What visitors, journalists and organisers do, clicked through in Chromium on the live app."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from eventapp.demo import LAUNCH_SLUG
from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.kits.models import Kit, Sheet
from eventapp.registrations.models import Registration
from eventapp.speakers.models import EventSpeaker
from tests.e2e.conftest import (
    ORGANISER_NAME,
    PageWatch,
    log_in,
    new_context,
    screenshot,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture
def watch():
    return PageWatch()


@pytest.fixture
def page(browser, live_site, watch):
    """A fresh visitor in French; the test fails on any server or console error (CSP included)."""
    context = new_context(browser, live_site, "fr")
    page = context.new_page()
    watch.attach(page)
    yield page
    context.close()
    assert watch.server_errors == []
    assert watch.console_errors == []


def register_from_home(page, live_site, name: str, email: str, *, shots: bool = False) -> None:
    """Go from the home page to the launch, fill the form by its labels, and submit."""
    page.goto(live_site.url + "/")
    if shots:
        screenshot(page, "01-home")
    page.get_by_role("link", name="Lancement du kit RégionalESS").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lancement du kit RégionalESS")
    if shots:
        screenshot(page, "02-event")
    page.get_by_role("link", name="Je m'inscris").click()
    expect(page).to_have_url(re.compile(rf"/events/{LAUNCH_SLUG}/register"))
    page.get_by_label("Prénom et nom").fill(name)
    page.get_by_label("Adresse mail").fill(email)
    page.get_by_label("Structure ou collectivité").fill("Région Hauts-de-France")
    page.get_by_label("Vous êtes").select_option(label="Élu·e")
    page.get_by_label("Envoyez-moi un mail pour chaque nouvelle fiche de ce kit").check()
    if shots:
        screenshot(page, "03-registration-form")
    # Submit from the keyboard, as many people do.
    page.get_by_label("Vous êtes").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Je m'inscris")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(
        re.compile(rf"/events/{LAUNCH_SLUG}/register/done\?outcome=confirmed$")
    )


def test_a_visitor_registers_for_the_launch_from_the_home_page(page, live_site):
    register_from_home(page, live_site, "Camille Martin", "camille@example.org", shots=True)

    expect(page.get_by_role("heading", level=1)).to_contain_text("Votre place est réservée")
    expect(page.get_by_role("status")).to_contain_text("Lancement du kit RégionalESS")
    screenshot(page, "04-registration-done")
    registration = live_site.query(
        lambda: db.session.scalars(
            select(Registration).where(Registration.email == "camille@example.org")
        ).one()
    )
    assert (registration.full_name, registration.status) == ("Camille Martin", "confirmed")
    assert registration.wants_followups is True


def test_the_visitor_adds_the_event_to_a_calendar_from_the_mail_link_then_cancels(page, live_site):
    register_from_home(page, live_site, "Dominique Petit", "dominique@example.org")
    live_site.deliver()
    mail = live_site.mail_to("dominique@example.org", "Inscription confirmée")
    space_url = live_site.link_in(mail, "/r/")

    page.goto(space_url)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Mon inscription")
    expect(page.get_by_text("Votre inscription est confirmée.")).to_be_visible()
    screenshot(page, "05-attendee-space")

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile(r"Fichier \.ics")).click()
    calendar = Calendar.from_ical(download_info.value.path().read_bytes())
    assert str(calendar["METHOD"]) == "REQUEST"
    [vevent] = calendar.walk("VEVENT")
    assert str(vevent["ATTENDEE"]).lower() == "mailto:dominique@example.org"
    assert vevent["ATTENDEE"].params["CN"] == "Dominique Petit"
    assert str(vevent["SUMMARY"]) == "Lancement du kit RégionalESS"
    starts = vevent.decoded("DTSTART").astimezone(PARIS)
    assert (starts.weekday(), starts.hour, starts.minute) == (3, 13, 30)  # a Thursday, 13:30
    # The calendar entry carries the join link only: never the attendee space's secret.
    assert "/j/" in str(vevent["URL"])
    assert "/r/" not in str(vevent["URL"]) and "/r/" not in str(vevent["DESCRIPTION"])

    page.get_by_role("link", name="Annuler mon inscription").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Annuler mon inscription ?")
    screenshot(page, "05b-cancel-confirmation")
    page.get_by_role("button", name="Oui, annuler mon inscription").click()
    expect(page.get_by_text("Votre inscription est annulée.", exact=True)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Votre inscription est annulée")
    expect(page.get_by_role("link", name="Annuler mon inscription")).to_have_count(0)
    # Seats are left: the space offers to register again, and it works.
    page.get_by_role("link", name="M'inscrire à nouveau").click()
    page.get_by_label("Prénom et nom").fill("Dominique Petit")
    page.get_by_label("Adresse mail").fill("dominique@example.org")
    page.get_by_label("Vous êtes").select_option(label="Élu·e")
    page.get_by_role("button", name="Je m'inscris").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Votre place est réservée")
    live_site.deliver()
    assert len(live_site.mails_to("dominique@example.org")) == 3  # confirmed, cancelled, again


def test_a_journalist_sends_an_inquiry_and_both_mails_arrive(page, live_site):
    page.goto(live_site.url + "/")
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Presse").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Espace presse")
    expect(page.get_by_text("Martin Besnier").first).to_be_visible()
    screenshot(page, "06-press-room")

    page.get_by_role("link", name="Écrire à l'équipe presse").last.click()
    page.get_by_label("Nom et prénom").fill("Alex Dupont")
    page.get_by_label("Média").fill("La Voix du Nord")
    page.get_by_label("Adresse mail").fill("alex.dupont@example.org")
    page.get_by_label("Téléphone").fill("06 12 34 56 78")
    page.get_by_label("Objet").fill("Interview sur le kit RégionalESS")
    page.get_by_label("Message", exact=True).fill(
        "Bonjour, pourrais-je interviewer la présidente du RTES avant le lancement ?"
    )
    screenshot(page, "07-press-inquiry-form")
    page.get_by_role("button", name="Envoyer").click()

    expect(page).to_have_url(re.compile(r"/press/contact/thanks$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Merci, votre message est envoyé")
    live_site.deliver()
    [notification] = live_site.mails_to("mbesnier@rtes.fr")
    assert "alex.dupont@example.org" in str(notification["Reply-To"])
    assert "Interview sur le kit RégionalESS" in notification.get_body(("plain",)).get_content()
    [acknowledgement] = live_site.mails_to("alex.dupont@example.org")
    assert acknowledgement["Message-ID"] != notification["Message-ID"]


def small_png() -> bytes:
    image = Image.new("RGB", (64, 48), (106, 27, 94))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_organiser_adds_a_speaker_reorders_schedules_a_sheet_and_sees_the_chart(page, live_site):
    register_from_home(page, live_site, "Sacha Leroy", "sacha@example.org")
    log_in(page, live_site)
    expect(page.get_by_role("heading", level=1)).to_have_text("Tableau de bord")
    expect(page.locator(".admin-who")).to_contain_text(ORGANISER_NAME)
    screenshot(page, "08-admin-dashboard")

    # A new speaker, with a photo.
    admin_menu = page.get_by_role("navigation", name="Espace organisateur")
    admin_menu.get_by_role("link", name="Intervenant·es").click()
    page.get_by_role("link", name="Créer un·e intervenant·e").click()
    page.get_by_label("Nom", exact=True).fill("Nadia Benali")
    page.get_by_label("Fonction").fill("Chargée de mission ESS")
    page.get_by_label("Photo", exact=True).set_input_files(
        {"name": "nadia.png", "mimeType": "image/png", "buffer": small_png()}
    )
    page.get_by_role("button", name="Enregistrer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nadia Benali")
    photo = page.get_by_role("img", name="Photo actuelle de Nadia Benali")
    expect(photo).to_be_visible()
    expect(photo).to_have_js_property("complete", True)
    assert photo.evaluate("img => img.naturalWidth") == 64  # smaller than 600 px: kept as is
    stored = page.request.get(live_site.url + photo.get_attribute("src"))
    assert stored.headers["content-type"] == "image/webp"

    # Reorder the launch's speakers with the buttons that need no script.
    admin_menu.get_by_role("link", name="Événements").click()
    page.get_by_role("link", name="Lancement du kit RégionalESS").first.click()
    speakers = page.locator("table.reorderable tbody th[scope=row]")
    expect(speakers).to_have_text(["Mahel Coppey", "Pascal Duforestel", "Catherine Zuber"])
    page.get_by_role("button", name="Descendre Mahel Coppey").click()
    expect(speakers).to_have_text(["Pascal Duforestel", "Mahel Coppey", "Catherine Zuber"])
    page.get_by_role("button", name="Monter Catherine Zuber").click()
    expect(speakers).to_have_text(["Pascal Duforestel", "Catherine Zuber", "Mahel Coppey"])

    def public_order():
        session = db.session
        event = session.scalars(select(Event).where(Event.slug == LAUNCH_SLUG)).one()
        return event.id, [
            link.speaker.name
            for link in sorted(
                session.scalars(select(EventSpeaker).where(EventSpeaker.event_id == event.id)),
                key=lambda link: link.position,
            )
        ]

    event_id, order = live_site.query(public_order)
    assert order == ["Pascal Duforestel", "Catherine Zuber", "Mahel Coppey"]
    page.goto(live_site.url + f"/events/{LAUNCH_SLUG}")
    expect(page.locator(".speaker-list h3")).to_have_text(
        ["Pascal Duforestel", "Catherine Zuber", "Mahel Coppey"]
    )

    # Schedule a sheet from the kits admin.
    page.goto(live_site.url + "/admin/")
    admin_menu.get_by_role("link", name="Kits et fiches").click()
    page.get_by_role("link", name=re.compile("RégionalESS")).first.click()

    def last_sheet():
        session = db.session
        sheet = session.scalars(
            select(Sheet).join(Kit).order_by(Sheet.number.desc()).limit(1)
        ).one()
        return sheet.id, sheet.number

    sheet_id, number = live_site.query(last_sheet)
    day = (datetime.now(PARIS) + timedelta(days=200)).replace(hour=10, minute=15)
    page.get_by_label(f"Date de parution de la fiche n°{number}", exact=True).fill(
        day.strftime("%Y-%m-%dT%H:%M")
    )
    page.locator(f"#fiche-{sheet_id}").get_by_role("button", name="Déplacer").click()
    expect(page.get_by_role("status")).to_contain_text(f"Fiche n°{number} déplacée")
    release_at = live_site.query(lambda: db.session.get(Sheet, sheet_id).release_at)
    assert release_at == day.replace(second=0, microsecond=0).astimezone(ZoneInfo("UTC"))

    # The registrations of the launch, with their chart.
    page.goto(live_site.url + f"/admin/events/{event_id}")
    page.get_by_role("link", name="Inscriptions", exact=True).click()
    chart = page.get_by_role("img", name=re.compile("Inscriptions par jour"))
    expect(chart).to_be_visible()
    assert page.locator("svg.chart-svg rect.chart-bar").count() >= 1
    expect(page.get_by_role("row", name=re.compile("Sacha Leroy"))).to_be_visible()
    screenshot(page, "09-admin-registrations")
