"""A form sent back with errors: the visitor lands on it, and can change language keeping it."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from eventapp.extensions import db
from eventapp.kits.models import KitSubscriber
from eventapp.models import now_utc
from eventapp.outbox.models import OutboxMessage
from eventapp.press.models import PressInquiry
from eventapp.registrations.models import Registration
from tests.factories import make_event
from tests.helpers import csrf_token, text
from tests.kit_helpers import make_kit, make_sheet

TYPO = "camille.martin@example"  # what a visitor types: no domain ending, refused


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def kit_with_sheets():
    kit = make_kit()
    for number in (1, 2, 3):
        make_sheet(kit, number, now_utc() - timedelta(days=7 * number))
    return kit


def send_subscription(client, kit, **fields):
    data = {"csrf_token": csrf_token(client, f"/kits/{kit.slug}"), "email": TYPO, **fields}
    return client.post(f"/kits/{kit.slug}/subscribe", data=data)


def language_button_form(html: str, code: str) -> str:
    """Return the id of the form that the header's button to `code` sends, a form of the page."""
    match = re.search(rf'<button [^>]*name="switch_language" value="{code}"[^>]*>', html)
    assert match, "no language button"
    assert 'type="submit"' in match.group(0)
    form_id = re.search(r'form="([^"]+)"', match.group(0)).group(1)
    assert f'<form id="{form_id}"' in html
    return form_id


def test_the_kit_page_links_from_its_top_to_the_subscription_form(client):
    kit = kit_with_sheets()
    html = client.get(f"/kits/{kit.slug}").get_data(as_text=True)

    link = html.index('<a href="#abonnement">Recevoir chaque fiche par mail</a>')
    target = html.index('id="abonnement"')
    assert html.count('id="abonnement"') == 1
    assert link < html.index('id="fiches-parues"')  # above the sheets, not after them
    assert target < html.index('<form id="abonnement-form"') < html.index("</section>", target)


def test_a_failed_subscription_opens_on_the_form_and_its_error_summary(client):
    kit = kit_with_sheets()
    form_page = client.get(f"/kits/{kit.slug}").get_data(as_text=True)
    # The browser keeps the action's fragment on the answer: it scrolls there, no script needed.
    action = f'action="/kits/{kit.slug}/subscribe#abonnement"'
    assert action in form_page

    response = send_subscription(client, kit)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    summary = re.search(r'<div class="error-summary"[^>]*>', html)
    assert summary and 'role="alert"' in summary.group(0)
    assert 'tabindex="-1"' in summary.group(0)
    # The summary is the first thing after the landing point's heading and text, before the form.
    assert html.index('id="abonnement"') < summary.start() < html.index(action)
    assert "Cette adresse mail n'est pas valide." in text(response)
    assert count(KitSubscriber) == 0


def test_getting_the_subscription_address_leads_to_the_form(client):
    kit = make_kit()
    response = client.get(f"/kits/{kit.slug}/subscribe")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/kits/{kit.slug}#abonnement"
    assert client.get("/kits/inconnu/subscribe").status_code == 404


def test_switching_language_after_a_subscription_error_keeps_the_address(client):
    kit = kit_with_sheets()
    token = csrf_token(client, f"/kits/{kit.slug}")
    failed = send_subscription(client, kit).get_data(as_text=True)
    assert language_button_form(failed, "en") == "abonnement-form"

    data = {"csrf_token": token, "email": TYPO, "switch_language": "en"}
    english = client.post(f"/kits/{kit.slug}/subscribe", data=data)
    html = text(english)
    assert english.status_code == 422
    assert '<html lang="en">' in html
    assert f'value="{TYPO}"' in html
    assert "The form has errors" in html and "This email address is not valid." in html
    assert "lang=en" in english.headers["Set-Cookie"]  # the next pages follow the choice
    assert '<html lang="en">' in client.get(f"/kits/{kit.slug}").get_data(as_text=True)

    # A corrected address switched back to French is shown again, not subscribed.
    data.update(email="camille.martin@example.org", switch_language="fr")
    french = client.post(f"/kits/{kit.slug}/subscribe", data=data)
    assert french.status_code == 200
    assert '<html lang="fr">' in text(french) and "error-summary" not in text(french)
    assert 'value="camille.martin@example.org"' in text(french)
    assert count(KitSubscriber) == count(OutboxMessage) == 0


def test_the_language_button_keeps_the_form_protected_and_the_tries_counted_apart(app, client):
    kit = kit_with_sheets()
    app.config["KIT_SUBSCRIBE_RATE_LIMIT"] = "1 per hour"
    unprotected = {"email": TYPO, "switch_language": "en"}
    assert client.post(f"/kits/{kit.slug}/subscribe", data=unprotected).status_code == 400

    token = csrf_token(client, f"/kits/{kit.slug}")
    switch = {"csrf_token": token, "email": TYPO, "switch_language": "en"}
    for _ in range(3):
        assert client.post(f"/kits/{kit.slug}/subscribe", data=switch).status_code == 422
    assert send_subscription(client, kit).status_code == 422  # the visitor's one try is left


def test_a_page_answering_a_get_keeps_its_language_links(client):
    kit = make_kit()
    html = client.get(f"/kits/{kit.slug}").get_data(as_text=True)
    assert 'name="switch_language"' not in html
    assert f'href="/lang/en?next=/kits/{kit.slug}"' in html


def test_switching_language_after_a_registration_error_keeps_what_was_typed(client):
    event = make_event()
    url = f"/events/{event.slug}/register"
    data = {
        "csrf_token": csrf_token(client, url),
        "full_name": "",
        "email": "camille.martin@example.org",
        "organisation": "Ville de Lille",
        "category": "elu",
        "utm_source": "lettre",
    }
    failed = client.post(url, data=data)
    assert failed.status_code == 422
    assert language_button_form(failed.get_data(as_text=True), "en") == "registration-form"

    english = client.post(url, data={**data, "switch_language": "en"})
    html = text(english)
    assert english.status_code == 422
    assert '<html lang="en">' in html and "Enter your name." in html
    assert 'value="camille.martin@example.org"' in html and 'value="Ville de Lille"' in html
    assert re.search(r'<option selected value="elu">|<option value="elu" selected>', html)
    assert 'value="lettre"' in html  # where the visitor came from is not lost either

    # Even once complete, the form sent by a language button registers no one.
    complete = client.post(url, data={**data, "full_name": "Camille", "switch_language": "fr"})
    assert complete.status_code == 200 and '<html lang="fr">' in text(complete)
    assert count(Registration) == 0


def test_switching_language_on_the_press_form_keeps_the_message_and_sends_nothing(client):
    url = "/press/contact"
    data = {
        "csrf_token": csrf_token(client, url),
        "name": "Léa Fontaine",
        "outlet": "La Voix du Nord",
        "email": "lea.fontaine@example.org",
        "subject": "Entretien",
        "message": "",
    }
    failed = client.post(url, data=data)
    assert failed.status_code == 422
    assert language_button_form(failed.get_data(as_text=True), "en") == "inquiry-form"

    complete = {**data, "message": "Pourrais-je interviewer la présidente ?"}
    english = client.post(url, data={**complete, "switch_language": "en"})
    html = text(english)
    assert english.status_code == 200 and '<html lang="en">' in html
    assert "Pourrais-je interviewer la présidente ?</textarea>" in html
    assert count(PressInquiry) == count(OutboxMessage) == 0
