"""An event's registrations in the back office: list, counts, chart, CSV, cancel, promote, mail."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

from sqlalchemy import select

from eventapp.extensions import db
from eventapp.outbox.models import OutboxStatus
from eventapp.registrations.models import Registration, RegistrationStatus
from tests.admin_helpers import (  # noqa: F401 - cheap_hashing is an autouse fixture
    Poster,
    audit_actions,
    cheap_hashing,
    outbox,
    register,
    signed_in,
)
from tests.factories import make_event
from tests.helpers import text

SVG = "{http://www.w3.org/2000/svg}"
LATER = datetime(2031, 2, 6, 12, 30, tzinfo=UTC)


def plain(response) -> str:
    """The page's words without tags, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", text(response)).split())


def test_the_list_searches_filters_and_pages(client):
    event = make_event()
    for number in range(55):
        organisation = "Ville de Lille" if number == 7 else ""
        register(event, f"Personne {number:02d}", organisation=organisation)
    register(event, "Zoé Durand", email="zoe@example.org")
    signed_in(client)
    url = f"/admin/events/{event.id}/registrations"
    first = text(client.get(url))
    assert "56 inscriptions" in first
    assert "Personne 00" in first and "Personne 49" in first and "Personne 50" not in first
    assert "Page 1 sur 2" in first
    second = text(client.get(url + "?page=2"))
    assert "Personne 50" in second and "Zoé Durand" in second and "Personne 00" not in second
    found = text(client.get(url + "?q=lille"))
    assert "1 inscription correspondant" in found and "Personne 07" in found
    assert "Zoé" in text(client.get(url + "?q=ZOE@EXAMPLE"))
    assert "0 inscription" in text(client.get(url + "?q=%25"))  # % is a character, not a wildcard


def test_counts_and_status_filter(client):
    event = make_event(capacity=2)
    camille = register(event, "Camille Martin")
    register(event, "Alex Durand")
    waiting = register(event, "Dominique Petit")
    late = register(event, "Sacha Leroy")
    camille.first_joined_at = event.starts_at
    late.status, late.cancelled_at = RegistrationStatus.CANCELLED, event.starts_at
    db.session.commit()
    signed_in(client)
    url = f"/admin/events/{event.id}/registrations"
    page = plain(client.get(url))
    assert "2 confirmées sur 2 places" in page
    assert "1 en liste d'attente" in page
    assert "1 annulée" in page
    assert "1 personne connectée" in page
    only_waiting = text(client.get(url + "?status=waitlisted"))
    assert "1 inscription correspondant" in only_waiting and waiting.full_name in only_waiting
    assert "Alex Durand" not in only_waiting


def test_the_chart_is_server_rendered_accessible_svg(client):
    event = make_event(starts_at=LATER)
    start = datetime(2031, 1, 10, 9, 0, tzinfo=UTC)
    for offset, people in ((0, 3), (2, 1)):
        for _ in range(people):
            register(event, "Quelqu'un", now=start + timedelta(days=offset))
    signed_in(client)
    html = client.get(f"/admin/events/{event.id}/registrations").get_data(as_text=True)
    svg_text = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    svg = ElementTree.fromstring(svg_text)
    assert svg.get("role") == "img"
    labelled = svg.get("aria-labelledby").split()
    assert svg.find(f"{SVG}title").get("id") == labelled[0]
    assert "4 inscriptions" in svg.find(f"{SVG}desc").text
    bars = svg.findall(f"{SVG}rect")
    assert len(bars) == 3  # 10, 11 (none) and 12 January
    heights = [float(bar.get("height")) for bar in bars]
    assert heights[1] == 0 and heights[0] == 3 * heights[2]
    assert "<script" not in svg_text and "http" not in svg_text.replace(
        "http://www.w3.org/2000/svg", ""
    )
    # The same figures as a table, for those who do not see the chart.
    assert re.search(r"<th scope=\"row\">[^<]*10[^<]*</th><td>3</td>", html)


def test_the_csv_opens_in_french_excel(client):
    event = make_event(timezone="Europe/Paris", starts_at=LATER)
    registered_at = datetime(2031, 1, 10, 12, 5, tzinfo=UTC)  # 13:05 in Paris
    register(
        event,
        "Camille Martin",
        email="camille@example.org",
        organisation="Ville de Lille",
        category="elu",
        wants_followups=True,
        now=registered_at,
    )
    register(event, '=HYPERLINK("http://evil")', email="evil@example.org", now=registered_at)
    signed_in(client)
    response = client.get(f"/admin/events/{event.id}/registrations.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert f"inscriptions-{event.slug}-" in response.headers["Content-Disposition"]
    body = response.data
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == [
        "Nom",
        "Adresse mail",
        "Structure",
        "Catégorie",
        "Statut",
        "Inscription",
        "Confirmation",
        "Annulation",
        "Première connexion",
        "Minutes de présence",
        "Suivi des fiches",
        "Langue",
    ]
    assert rows[1] == [
        "Camille Martin",
        "camille@example.org",
        "Ville de Lille",
        "Élu·e",
        "Confirmée",
        "10/01/2031 13:05",
        "10/01/2031 13:05",
        "",
        "",
        "",  # no presence measured
        "Oui",
        "fr",
    ]
    assert rows[2][0] == '\'=HYPERLINK("http://evil")'  # a formula stays text
    assert b"\r\n" in body
    assert "registration.export" in audit_actions()


def test_the_csv_follows_the_search(client):
    event = make_event()
    register(event, "Camille Martin")
    register(event, "Alex Durand")
    signed_in(client)
    body = client.get(f"/admin/events/{event.id}/registrations.csv?q=alex").data.decode("utf-8-sig")
    assert "Alex Durand" in body and "Camille" not in body


def test_cancel_a_registration_asks_first_then_promotes_the_next(client):
    event = make_event(capacity=1)
    camille = register(event, "Camille Martin")
    alex = register(event, "Alex Durand")
    signed_in(client)
    post = Poster(client)
    assert "Annuler l'inscription de Camille Martin" in text(
        client.get(f"/admin/registrations/{camille.id}/cancel")
    )
    response = post(f"/admin/registrations/{camille.id}/cancel")
    assert response.status_code == 303
    db.session.refresh(camille)
    db.session.refresh(alex)
    assert camille.status == RegistrationStatus.CANCELLED
    assert alex.status == RegistrationStatus.CONFIRMED
    assert [m.to_address for m in outbox("registration_cancelled")] == [camille.email]
    again = post(f"/admin/registrations/{camille.id}/cancel")
    assert "déjà annulée" in text(client.get(again.headers["Location"]))
    assert audit_actions() == ["registration.cancel"]


def test_promote_someone_from_the_waiting_list_when_a_seat_is_free(client):
    event = make_event(capacity=1)
    register(event, "Camille Martin")
    first, second = register(event, "Alex Durand"), register(event, "Dominique Petit")
    signed_in(client)
    post = Poster(client)
    full = post(f"/admin/registrations/{second.id}/promote")
    assert "L'événement est complet" in text(client.get(full.headers["Location"]))
    db.session.refresh(second)
    assert second.status == RegistrationStatus.WAITLISTED
    event.capacity = 3
    db.session.commit()
    post(f"/admin/registrations/{second.id}/promote")  # out of order: the organiser chooses
    db.session.refresh(second)
    db.session.refresh(first)
    assert second.status == RegistrationStatus.CONFIRMED and second.confirmed_at is not None
    assert first.status == RegistrationStatus.WAITLISTED
    assert [m.to_address for m in outbox("registration_promoted")] == [second.email]
    assert audit_actions() == ["registration.promote"]


def test_mail_one_registrant_preview_first_and_a_double_submit_sends_once(client):
    event = make_event()
    camille = register(event, "Camille Martin")
    before = len(outbox())
    signed_in(client)
    post = Poster(client)
    url = f"/admin/registrations/{camille.id}/message"
    message = {"subject": "Votre lien", "body": "Voici le programme.\n\n<b>À jeudi</b> !"}
    preview = post(url, message)
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert "Aperçu avant envoi" in html
    assert "Bonjour Camille Martin," in text(preview)
    assert len(outbox()) == before  # the preview sends nothing
    frame = re.search(r'<iframe[^>]*sandbox=""[^>]*srcdoc="([^"]*)"', html)
    assert frame and "<b>" not in frame.group(1)  # the mail's HTML is inert, escaped text here
    send_id = re.search(r'name="send_id"[^>]*value="([0-9a-f]{32})"', html).group(1)
    confirm = {**message, "send_id": send_id, "confirmed": "1"}
    assert post(url, confirm).status_code == 303
    assert post(url, confirm).status_code == 303  # the same send, posted twice
    [mail] = outbox("organiser_message")
    assert mail.to_address == camille.email and mail.subject == "Votre lien"
    assert "Voici le programme." in mail.text_body
    assert "&lt;b&gt;À jeudi&lt;/b&gt;" in mail.html_body
    assert mail.dedupe_key == f"registration:{camille.id}:message:{send_id}"
    assert audit_actions() == ["registration.message"]


def test_mail_every_confirmed_registrant_through_the_outbox(client):
    event = make_event(capacity=2)
    confirmed = [register(event, "Camille Martin"), register(event, "Alex Durand")]
    register(event, "Dominique Petit")  # waiting: not written to
    signed_in(client)
    post = Poster(client)
    url = f"/admin/events/{event.id}/message"
    preview = post(url, {"subject": "Changement de salle", "body": "Nouvelle salle."})
    assert "Envoyer aux 2 personnes" in text(preview)
    send_id = re.search(
        r'name="send_id"[^>]*value="([0-9a-f]{32})"', preview.get_data(as_text=True)
    ).group(1)
    confirm = {
        "subject": "Changement de salle",
        "body": "Nouvelle salle.",
        "send_id": send_id,
        "confirmed": "1",
    }
    assert post(url, confirm).status_code == 303
    assert post(url, confirm).status_code == 303
    mails = outbox("organiser_message")
    assert sorted(m.to_address for m in mails) == sorted(r.email for r in confirmed)
    assert {m.status for m in mails} == {OutboxStatus.PENDING}
    assert any("Bonjour Alex Durand," in m.text_body for m in mails)
    entry = [a for a in audit_actions() if a == "event.message"]
    assert entry == ["event.message"]


def test_an_empty_message_is_refused(client):
    event = make_event()
    camille = register(event, "Camille Martin")
    signed_in(client)
    response = Poster(client)(
        f"/admin/registrations/{camille.id}/message", {"subject": "", "body": ""}
    )
    assert response.status_code == 422
    assert outbox("organiser_message") == []


def test_erased_registrations_show_no_personal_data(client):
    from eventapp.registrations.services import erase_registration

    event = make_event()
    camille = register(event, "Camille Martin")
    erase_registration(camille)
    db.session.commit()
    signed_in(client)
    page = text(client.get(f"/admin/events/{event.id}/registrations"))
    assert "(données effacées)" in page and "Camille" not in page
    assert client.get(f"/admin/registrations/{camille.id}/message").status_code == 404
    assert db.session.scalars(select(Registration)).one().email == ""
