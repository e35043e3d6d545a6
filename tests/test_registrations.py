"""Registration: the form, capacity and waiting list, the attendee space and the join link."""

from __future__ import annotations

import html
import json
import re
import secrets
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from icalendar import Calendar
from sqlalchemy import delete, func, select

from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.outbox.models import OutboxMessage, OutboxStatus
from eventapp.registrations import mails, services
from eventapp.registrations.models import (
    Registration,
    RegistrationStatus,
    RegistrationToken,
    TokenPurpose,
)
from eventapp.registrations.tokens import store_tokens
from tests.factories import make_event
from tests.helpers import csrf_token, text

LINK = re.compile(r"https://events\.test/[rj]/[A-Za-z0-9_-]{43,}")


def register(client, event, lang="fr", **fields):
    """Fill in and send the registration form as a browser would."""
    url = f"/events/{event.slug}/register"
    data = {
        "csrf_token": csrf_token(client, url),
        "full_name": "Camille Martin",
        "email": "camille.martin@example.org",
        "organisation": "Ville de Lille",
        "category": "elu",
    }
    data.update(fields)
    data = {key: value for key, value in data.items() if value is not None}
    return client.post(url, data=data, headers={"Accept-Language": lang})


def registrations(event=None):
    stmt = select(Registration).order_by(Registration.id)
    if event is not None:
        stmt = stmt.where(Registration.event_id == event.id)
    return list(db.session.scalars(stmt))


def outbox_keys() -> list[str]:
    return sorted(db.session.scalars(select(OutboxMessage.dedupe_key)))


def deliver(runner) -> None:
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output


def links_in(message) -> dict[str, str]:
    """Return the attendee space and join links found in a received mail's text part."""
    body = message.get_body(preferencelist=("plain",)).get_content()
    found = LINK.findall(body)
    return {
        "manage": next((url for url in found if "/r/" in url), None),
        "join": next((url for url in found if "/j/" in url), None),
    }


def path(url: str) -> str:
    return url.replace("https://events.test", "")


def calendar_of(message) -> Calendar:
    for part in message.walk():
        if part.get_content_type() == "text/calendar" and not part.get_filename():
            return Calendar.from_ical(part.get_payload(decode=True))
    raise AssertionError("no calendar part")


@pytest.fixture
def event(app):
    return make_event(
        slug="lancement",
        title="Lancement du kit",
        starts_at=now_utc().replace(microsecond=0) + timedelta(minutes=20),
        capacity=1,
    )


def test_the_whole_journey_with_mail_received_over_smtp(app, client, runner, smtp_server, event):
    response = register(client, event, wants_followups="y", utm_source="newsletter")
    assert response.status_code == 303
    assert response.headers["Location"] == "/events/lancement/register/done?outcome=confirmed"
    assert "Votre place est réservée" in text(client.get(response.headers["Location"]))

    (camille,) = registrations()
    assert camille.status == RegistrationStatus.CONFIRMED
    assert camille.wants_followups is True
    assert camille.utm == {"utm_source": "newsletter"}

    deliver(runner)
    (confirmation,) = smtp_server.messages
    assert confirmation["To"] == "Camille Martin <camille.martin@example.org>"
    assert "Inscription confirmée" in confirmation["Subject"]
    links = links_in(confirmation)
    assert links["manage"] and links["join"]
    invite = calendar_of(confirmation)
    assert invite["METHOD"] == "REQUEST"
    vevent = invite.walk("VEVENT")[0]
    assert "camille.martin@example.org" in str(vevent["ATTENDEE"])
    assert links["join"] in vevent.to_ical().decode().replace("\r\n ", "")
    assert event.connection_url not in confirmation.as_string()

    space = client.get(path(links["manage"]))
    assert space.status_code == 200
    assert "Votre inscription est confirmée." in text(space)
    assert space.headers["Referrer-Policy"] == "no-referrer"

    # The event starts in 20 minutes: inside the 30-minute window, the link opens the room. A
    # browser's click, moments after the mail (no mail-scanner window in this test).
    app.config["JOIN_SCANNER_WINDOW_SECONDS"] = 0
    joined = client.get(path(links["join"]), headers={"User-Agent": "Mozilla/5.0 Firefox/133.0"})
    assert joined.status_code == 303
    assert joined.headers["Location"] == event.connection_url
    assert camille.first_joined_at is not None

    # Someone else registers: the event is full, so they wait.
    assert (
        register(
            client, event, full_name="Dominique Petit", email="dominique@example.org"
        ).status_code
        == 303
    )
    dominique = registrations()[1]
    assert dominique.status == RegistrationStatus.WAITLISTED

    token = csrf_token(client, path(links["manage"]))
    cancelled = client.post(path(links["manage"]) + "/cancel", data={"csrf_token": token})
    assert cancelled.status_code == 303
    db.session.refresh(camille)
    db.session.refresh(dominique)
    assert camille.status == RegistrationStatus.CANCELLED
    assert dominique.status == RegistrationStatus.CONFIRMED

    deliver(runner)
    subjects = sorted(message["Subject"] for message in smtp_server.messages)
    assert any(s.startswith("Liste d'attente") for s in subjects)
    assert any(s.startswith("Inscription annulée") for s in subjects)
    assert any(s.startswith("Une place s'est libérée") for s in subjects)
    promotion = next(m for m in smtp_server.messages if m["Subject"].startswith("Une place"))
    assert links_in(promotion)["join"]
    assert calendar_of(promotion)["METHOD"] == "REQUEST"
    cancellation = next(
        m for m in smtp_server.messages if m["Subject"].startswith("Inscription annulée")
    )
    assert calendar_of(cancellation)["METHOD"] == "CANCEL"

    # The cancelled registrant's join link no longer opens the room.
    refused = client.get(path(links["join"]))
    assert refused.status_code == 403
    assert event.connection_url not in text(refused)


def test_registering_twice_changes_nothing_and_sends_the_links_again(
    app, client, runner, smtp_server, event
):
    first = register(client, event)
    links_sent_earlier(minutes=16)
    again = register(client, event, email="CAMILLE.MARTIN@example.org", full_name="Autre nom")
    assert first.status_code == again.status_code == 303
    # The one seat is taken: the second post is told what any new address is told now.
    assert first.headers["Location"].endswith("?outcome=confirmed")
    assert again.headers["Location"].endswith("?outcome=waitlisted")
    (registration,) = registrations()
    assert registration.full_name == "Camille Martin"
    deliver(runner)
    assert len(smtp_server.messages) == 2
    resent = smtp_server.messages[1]
    assert resent["Subject"].startswith("Vos liens")
    assert links_in(resent)["join"]
    # Both the first and the second set of links work.
    for message in smtp_server.messages:
        assert client.get(path(links_in(message)["manage"])).status_code == 200


def links_sent_earlier(minutes: int) -> None:
    """Move every registration's last links mail this far back, as if time had passed."""
    for registration in registrations():
        registration.links_sent_at = now_utc() - timedelta(minutes=minutes)
    db.session.commit()


def token_count() -> int:
    return db.session.scalar(select(func.count()).select_from(RegistrationToken))


def outbox_links() -> list[dict[str, str]]:
    """Return the personal links of each queued mail, oldest first."""
    bodies = db.session.scalars(select(OutboxMessage.text_body).order_by(OutboxMessage.id))
    kinds = {"manage": "/r/", "join": "/j/"}
    return [
        {
            kind: next((u for u in LINK.findall(body) if part in u), None)
            for kind, part in kinds.items()
        }
        for body in bodies
    ]


def test_re_posting_someones_address_mails_their_links_at_most_every_15_minutes(app, client, event):
    first = register(client, event)
    tokens = token_count()
    assert outbox_keys() == ["registration:1:confirmation"]
    # Within the window, re-posting the address mails nothing and mints nothing...
    replies = [register(client, event) for _ in range(3)]
    assert outbox_keys() == ["registration:1:confirmation"]
    assert token_count() == tokens
    # ...and the answer is the one anyone gets, registered or not (the seat is taken now).
    newcomer = register(client, event, email="newcomer@example.org")
    assert first.headers["Location"].endswith("?outcome=confirmed")
    for reply in [*replies, newcomer]:
        assert (reply.status_code, reply.headers["Location"]) == (303, newcomer.headers["Location"])
        assert reply.get_data() == newcomer.get_data()
    # Once the window has passed, the links are mailed again, once.
    links_sent_earlier(minutes=app.config["REGISTRATION_LINKS_RESEND_MINUTES"] + 1)
    register(client, event)
    register(client, event)
    keys = outbox_keys()
    assert len([key for key in keys if key.startswith("registration:1:links:")]) == 1


def test_join_links_stop_working_some_time_after_the_event(app, client, event):
    register(client, event)
    (links,) = outbox_links()
    validity = timedelta(days=app.config.get("JOIN_LINK_VALID_DAYS_AFTER_END", 30))

    def ended(ago: timedelta) -> None:
        event.ends_at = now_utc() - ago
        event.starts_at = event.ends_at - timedelta(hours=1)
        db.session.commit()

    ended(validity - timedelta(days=1))
    assert client.get(path(links["join"])).headers["Location"] == event.connection_url
    ended(validity + timedelta(minutes=1))
    expired = client.get(path(links["join"]))
    assert expired.status_code == 404
    assert event.connection_url not in text(expired)
    assert client.get(path(links["manage"]) + "/join").status_code == 404
    # The attendee space lives on: the person keeps their data rights.
    assert client.get(path(links["manage"])).status_code == 200


def test_only_the_newest_secrets_of_a_registration_stay_alive(app, client, event):
    app.config["REGISTRATION_LIVE_LINKS_MAX"] = 3
    register(client, event)
    (registration,) = registrations()
    for number in range(1, 5):
        mails.send_links_again(registration, now_utc() + timedelta(hours=number))
        db.session.commit()
    mailed = outbox_links()
    assert len(mailed) == 5
    for purpose in (TokenPurpose.MANAGE, TokenPurpose.JOIN):  # what these mails carry
        alive = select(func.count()).where(RegistrationToken.purpose == purpose)
        assert db.session.scalar(alive) == 3
    for links in mailed[:2]:  # the confirmation and the first resend: revoked
        assert client.get(path(links["manage"])).status_code == 404
        assert client.get(path(links["join"])).status_code == 404
    for links in mailed[2:]:
        assert client.get(path(links["manage"])).status_code == 200
        assert client.get(path(links["join"])).headers["Location"] == event.connection_url


def test_capacity_without_waiting_list_refuses_clearly(app, client, event):
    event.waitlist_enabled = False
    db.session.commit()
    form_before = client.get("/events/lancement/register")
    register(client, event)
    # Full: the event page and the form say so before anyone types, and offer no form.
    assert "il n'y a plus de place" in text(client.get("/events/lancement"))
    response = client.get("/events/lancement/register")
    assert "il n'y a plus de place" in text(response)
    assert 'name="csrf_token"' not in text(response)
    # Someone who opened the form before the last seat went is told so, clearly.
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', text(form_before)).group(1)
    late = client.post(
        "/events/lancement/register",
        data={"csrf_token": token, "full_name": "B", "email": "b@example.org", "category": "elu"},
    )
    assert late.status_code == 409
    assert "L'événement est complet : il n'y a plus de place." in text(late)
    assert len(registrations()) == 1


def test_registration_is_refused_outside_its_window(app, client):
    now = now_utc()
    later = make_event(slug="later", registration_opens_at=now + timedelta(days=1))
    over = make_event(slug="over", starts_at=now - timedelta(hours=2))
    assert "Les inscriptions ouvriront le" in text(client.get("/events/later/register"))
    for event in (later, over):
        response = client.post(
            f"/events/{event.slug}/register",
            data={"full_name": "X", "email": "x@example.org", "category": "elu"},
        )
        assert response.status_code in (400, 409)
    assert registrations() == []


def test_utm_parameters_and_referrer_are_kept(app, client, event):
    url = "/events/lancement/register?utm_source=lettre&utm_campaign=kit&utm_medium=mail"
    html = client.get(url, headers={"Referer": "https://www.rtes.fr/agenda"}).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    hidden = dict(re.findall(r'name="(utm_\w+|referrer)" type="hidden" value="([^"]*)"', html))
    client.post(
        "/events/lancement/register",
        data={
            "csrf_token": token,
            "full_name": "A B",
            "email": "a@example.org",
            "category": "agent",
            **hidden,
        },
    )
    (registration,) = registrations()
    assert registration.utm == {"utm_source": "lettre", "utm_campaign": "kit", "utm_medium": "mail"}
    assert registration.referrer == "https://www.rtes.fr/agenda"
    assert registration.category == "agent"


@pytest.mark.parametrize("lang", ["fr", "en"])
@pytest.mark.parametrize(
    "fields, french, english",
    [
        ({"full_name": ""}, "Indiquez votre nom.", "Enter your name."),
        ({"email": ""}, "Indiquez votre adresse mail.", "Enter your email address."),
        (
            {"email": "pas-une-adresse"},
            "Cette adresse mail n'est pas valide.",
            "This email address is not valid.",
        ),
        (
            {"email": "jösé@example.com"},
            "Cette adresse contient des caractères accentués avant l'arobase",
            "This address has accented characters before the @ sign",
        ),
        ({"full_name": "x" * 201}, "200", "200"),
        ({"category": "pirate"}, "N'est pas un choix valide.", "Not a valid choice."),
        ({"full_name": "Eve\r\nBcc: victim@example.org"}, "une seule ligne", "single line"),
        ({"organisation": "Ville\u2028Bcc: x"}, "une seule ligne", "single line"),
        ({"full_name": "Eve\x1b[31m"}, "caractère invisible", "invisible character"),
        (
            {"website": "http://spam.example"},
            "n'a pas pu être enregistrée",
            "could not be recorded",
        ),
    ],
)
def test_bad_input_gets_a_clear_message_and_changes_nothing(
    app, client, event, lang, fields, french, english
):
    response = register(client, event, lang=lang, **fields)
    assert response.status_code == 422
    body = text(response)
    assert (french if lang == "fr" else english) in body
    assert 'class="error-summary"' in body
    assert registrations() == []
    assert outbox_keys() == []


def test_an_international_domain_is_welcome_and_mailed_in_its_ascii_form(app, client, event):
    assert register(client, event, email="anne@exämple.fr").status_code == 303
    (registration,) = registrations()
    assert registration.email == "anne@exämple.fr"
    (address,) = db.session.scalars(select(OutboxMessage.to_address))
    assert address == "anne@xn--exmple-cua.fr"


@pytest.mark.parametrize("lang, message", [("fr", "rechargez la page"), ("en", "reload the page")])
def test_a_missing_csrf_token_is_refused_without_writing(app, client, event, lang, message):
    response = client.post(
        "/events/lancement/register",
        data={"full_name": "A", "email": "a@example.org", "category": "elu"},
        headers={"Accept-Language": lang},
    )
    assert response.status_code in (400, 422)
    assert registrations() == []


@pytest.mark.parametrize(
    "url", ["/r/nope", "/j/nope", "/r/" + "a" * 43, "/j/" + "a" * 43, "/r/x/data.json"]
)
def test_unknown_tokens_get_a_clear_page(client, url):
    response = client.get(url, headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert "no longer valid" in text(response) or "Page not found" in text(response)


def test_tokens_are_random_purpose_specific_and_stored_hashed(
    app, client, runner, smtp_server, event
):
    register(client, event)
    deliver(runner)
    links = links_in(smtp_server.messages[0])
    manage_token, join_token = links["manage"].rsplit("/", 1)[1], links["join"].rsplit("/", 1)[1]
    assert len(manage_token) >= 43 and manage_token != join_token
    hashes = set(db.session.scalars(select(RegistrationToken.token_hash)))
    assert manage_token not in hashes and join_token not in hashes
    assert all(len(h) == 64 for h in hashes)
    # A join token does not open the attendee space, nor the reverse.
    assert client.get(f"/r/{join_token}").status_code == 404
    assert client.get(f"/j/{manage_token}").status_code == 404


def calendar_entries(client, confirmation) -> dict[str, str]:
    """Return, as text, what leaves the site for calendars: the invite attached to the mail, the
    one downloaded from the attendee space, and the space's Google and Outlook links."""
    space = path(links_in(confirmation)["manage"])
    hrefs = [html.unescape(h) for h in re.findall(r'href="([^"]+)"', client.get(space).text)]

    def query_of(prefix: str) -> str:
        url = next(h for h in hrefs if h.startswith(prefix))
        return " ".join(v for values in parse_qs(urlsplit(url).query).values() for v in values)

    def unfolded(data: bytes) -> str:
        return data.decode().replace("\r\n ", "")

    return {
        "attached": unfolded(calendar_of(confirmation).to_ical()),
        "downloaded": unfolded(client.get(space + "/invite.ics").data),
        "google": query_of("https://calendar.google.com/"),
        "outlook": query_of("https://outlook.live.com/"),
    }


def test_calendars_carry_the_join_secret_only_which_opens_the_room_and_nothing_else(
    app, client, runner, smtp_server, event
):
    register(client, event)
    deliver(runner)
    (confirmation,) = smtp_server.messages
    manage_token = links_in(confirmation)["manage"].rsplit("/", 1)[1]
    csrf = {"csrf_token": csrf_token(client, path(links_in(confirmation)["manage"]))}
    for where, entry in calendar_entries(client, confirmation).items():
        assert manage_token not in entry, where
        assert "/r/" not in entry, where
        (join,) = set(LINK.findall(entry))
        assert "/j/" in join, where
        join_token = join.rsplit("/", 1)[1]
        opened = client.get(path(join))
        assert opened.status_code == 303 and opened.headers["Location"] == event.connection_url
        # The join secret opens neither the attendee space nor what it can do.
        assert client.get(f"/r/{join_token}").status_code == 404
        assert client.get(f"/r/{join_token}/data.json").status_code == 404
        assert client.post(f"/r/{join_token}/cancel", data=csrf).status_code == 404
        assert (
            client.post(f"/r/{join_token}/erase", data=csrf | {"confirm": "y"}).status_code == 404
        )
    (registration,) = registrations()
    assert registration.status == RegistrationStatus.CONFIRMED
    # The manage link is still in the mail body, where it belongs.
    assert client.get(path(links_in(confirmation)["manage"])).status_code == 200


def test_an_attendee_space_from_before_join_secrets_still_gets_a_working_join_link(
    app, client, event
):
    registration = services.register_attendee(
        event, services.Applicant(full_name="Anne", email="anne@example.org")
    )
    db.session.execute(delete(RegistrationToken))  # as if minted before: a manage secret alone
    old_manage = secrets.token_urlsafe(32)
    store_tokens(registration, {TokenPurpose.MANAGE: old_manage})
    db.session.commit()
    (join,) = {url for url in LINK.findall(client.get(f"/r/{old_manage}").text) if "/j/" in url}
    assert client.get(path(join)).headers["Location"] == event.connection_url


def test_a_replayed_cancel_changes_nothing(app, client, runner, smtp_server, event):
    register(client, event)
    deliver(runner)
    manage = path(links_in(smtp_server.messages[0])["manage"])
    token = csrf_token(client, manage)
    client.post(manage + "/cancel", data={"csrf_token": token})
    keys_after_first = outbox_keys()
    replay = client.post(manage + "/cancel", data={"csrf_token": token}, follow_redirects=True)
    assert "déjà annulée" in text(replay)
    assert outbox_keys() == keys_after_first
    assert registrations()[0].status == RegistrationStatus.CANCELLED


def test_cancel_without_csrf_token_is_refused(app, client, runner, smtp_server, event):
    register(client, event)
    deliver(runner)
    manage = path(links_in(smtp_server.messages[0])["manage"])
    assert client.post(manage + "/cancel").status_code == 400
    assert registrations()[0].status == RegistrationStatus.CONFIRMED


def test_join_link_waits_before_the_window_and_refuses_the_waiting_list(
    app, client, runner, smtp_server
):
    event = make_event(slug="later", starts_at=now_utc() + timedelta(days=2), capacity=1)
    register(client, event)
    register(client, event, email="second@example.org")
    deliver(runner)
    first, second = smtp_server.messages
    waiting = client.get(path(links_in(first)["join"]))
    assert waiting.status_code == 200
    assert "pas encore ouverte" in text(waiting)
    assert event.connection_url not in text(waiting)
    assert links_in(second)["join"] is None  # the waiting list gets no connection link
    assert registrations()[0].first_joined_at is None


def test_followups_can_be_turned_on_and_off(app, client, runner, smtp_server, event):
    register(client, event)
    deliver(runner)
    manage = path(links_in(smtp_server.messages[0])["manage"])
    token = csrf_token(client, manage)
    client.post(manage + "/followups", data={"csrf_token": token, "wanted": "1"})
    assert registrations()[0].wants_followups is True
    client.post(manage + "/followups", data={"csrf_token": token, "wanted": "0"})
    assert registrations()[0].wants_followups is False


def test_download_my_data(app, client, runner, smtp_server, event):
    register(client, event)
    deliver(runner)
    manage = path(links_in(smtp_server.messages[0])["manage"])
    response = client.get(manage + "/data.json")
    assert response.mimetype == "application/json"
    data = json.loads(response.get_data(as_text=True))
    assert data["registration"]["email"] == "camille.martin@example.org"
    assert data["event"]["title"] == "Lancement du kit"
    assert data["mails"][0]["status"] == "sent"


def test_erase_my_data_anonymises_drops_pending_mail_and_kills_the_links(
    app, client, runner, smtp_server, event
):
    register(client, event)
    deliver(runner)
    links = links_in(smtp_server.messages[0])
    manage = path(links["manage"])
    register(client, event, email="waiting@example.org")  # will be promoted
    (camille, waiting) = registrations()
    token = csrf_token(client, manage)
    refused = client.post(manage + "/erase", data={"csrf_token": token})
    assert refused.status_code == 303 and registrations()[0].erased_at is None  # box not ticked
    response = client.post(manage + "/erase", data={"csrf_token": token, "confirm": "y"})
    assert response.headers["Location"] == "/r/erased"
    db.session.refresh(camille)
    assert (camille.full_name, camille.email, camille.email_key, camille.erased_at is not None) == (
        "",
        "",
        None,
        True,
    )
    assert camille.status == RegistrationStatus.CANCELLED
    db.session.refresh(waiting)
    assert waiting.status == RegistrationStatus.CONFIRMED
    pending_for_camille = db.session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.registration_id == camille.id,
            OutboxMessage.status == OutboxStatus.PENDING,
        )
    )
    assert pending_for_camille == 0
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.to_address == "camille.martin@example.org")
        )
        == 0
    )
    assert client.get(manage).status_code == 404
    assert client.get(path(links["join"])).status_code == 404


def test_registration_form_renders_in_both_languages_with_the_privacy_notice(app, client, event):
    french = text(client.get("/events/lancement/register"))
    english = text(client.get("/events/lancement/register", headers={"Accept-Language": "en"}))
    assert "Responsable du traitement" in french and "CNIL" in french
    assert "Data controller" in english
    assert 'for="full_name"' in french
    assert "Register" in english
    assert 'href="/events/lancement/register"' in text(client.get("/events/lancement"))


def test_the_registration_form_is_rate_limited(app, client, event):
    app.config["REGISTRATION_RATE_LIMIT"] = "2 per minute"
    statuses = [register(client, event, email=f"p{n}@example.org").status_code for n in range(3)]
    assert statuses[:2] == [303, 303]
    assert statuses[2] == 429
    assert len(registrations()) == 2
