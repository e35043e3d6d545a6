"""Where an event stands on every public surface (seats, full, live, ended, cancelled, not open,
closed) and the moments of a registrant: the page after the form, cancelling, the personal space."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from eventapp.events.models import EventStatus, Offer, Phase
from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.registrations import services
from eventapp.registrations.models import Registration, RegistrationStatus, TokenPurpose
from eventapp.registrations.tokens import mint_tokens, store_tokens
from tests.factories import make_event
from tests.helpers import csrf_token

MANAGE = re.compile(r"https://events\.test/(r/[A-Za-z0-9_-]{43,})")


def page(client, url, lang="fr"):
    response = client.get(url, headers={"Accept-Language": lang})
    return response, response.get_data(as_text=True).replace("\u00a0", " ").replace("\u202f", " ")


def register(client, slug, email, lang="fr"):
    url = f"/events/{slug}/register"
    data = {
        "csrf_token": csrf_token(client, url),
        "full_name": "Camille Martin",
        "email": email,
        "category": "elu",
    }
    return client.post(url, data=data, headers={"Accept-Language": lang})


def applicant(email):
    return services.Applicant(full_name="Dominique", email=email, category="elu")


def test_the_state_comes_from_the_clock_and_the_seats(app):
    now = now_utc()
    event = make_event(capacity=2, starts_at=now + timedelta(hours=1))
    assert event.phase(now) == Phase.UPCOMING
    assert event.phase(now + timedelta(hours=1, minutes=5)) == Phase.LIVE
    assert event.phase(now + timedelta(days=1)) == Phase.ENDED
    assert event.availability(1, now).seats_left == 1
    assert event.availability(1, now).offer == Offer.REGISTER
    assert event.availability(3, now).seats_left == 0  # more confirmed than seats: still 0
    assert event.availability(2, now).offer == Offer.WAITLIST
    event.waitlist_enabled = False
    assert event.availability(2, now).offer == Offer.FULL
    assert event.availability(0, now + timedelta(days=1)).offer == Offer.NONE
    assert event.next_public_change(now) == event.starts_at  # the live badge appears then
    event.status = EventStatus.CANCELLED
    assert event.phase(now) == Phase.CANCELLED
    assert event.next_public_change(now) is None


@pytest.mark.parametrize("lang, left, one_left", [
    ("fr", "2 places restantes", "1 place restante"),
    ("en", "2 seats left", "1 seat left"),
])  # fmt: skip
def test_seats_left_follow_registrations_through_the_page_cache(client, lang, left, one_left):
    make_event(slug="places", capacity=2)
    assert left in page(client, "/events/places", lang)[1]
    assert left in page(client, "/", lang)[1]
    register(client, "places", "a@example.org", lang)
    # The kept copy of the page knows the seats moved, though no content changed.
    assert one_left in page(client, "/events/places", lang)[1]
    assert one_left in page(client, "/events", lang)[1]


def test_a_full_event_offers_its_waiting_list_before_anyone_submits(client):
    event = make_event(slug="complet", capacity=1)
    services.register_attendee(event, applicant("first@example.org"))
    db.session.commit()
    _, html = page(client, "/events/complet")
    assert "Complet : inscrivez-vous sur la liste d'attente" in html
    assert "M'inscrire sur la liste d'attente" in html
    _, form = page(client, "/events/complet/register")
    assert "Complet : inscrivez-vous sur la liste d'attente" in form
    assert "<button type=\"submit\">M'inscrire sur la liste d'attente</button>" in form
    assert "Complet : liste d'attente ouverte" in page(client, "/")[1]
    _, english = page(client, "/events/complet", "en")
    assert "Join the waiting list" in english


def test_the_page_after_the_form_says_what_this_submission_got(client, smtp_server):
    make_event(slug="deux", capacity=1)
    seat = register(client, "deux", "a@example.org")
    assert seat.headers["Location"].endswith("?outcome=confirmed")
    _, html = page(client, seat.headers["Location"])
    assert "Votre place est réservée" in html
    assert "La salle ouvre le" in html
    assert "Ajouter à Google Agenda" in html
    waiting = register(client, "deux", "b@example.org")
    assert waiting.headers["Location"].endswith("?outcome=waitlisted")
    _, html = page(client, waiting.headers["Location"])
    assert "Vous êtes sur la liste d'attente" in html
    assert "Votre place est réservée" not in html
    assert "Ajouter à Google Agenda" not in html  # no seat, nothing to put in a calendar yet
    # The address that already holds the seat is told what any new address is told now.
    again = register(client, "deux", "a@example.org")
    assert (
        again.headers["Location"] == register(client, "deux", "c@example.org").headers["Location"]
    )
    _, english = page(client, waiting.headers["Location"], "en")
    assert "You are on the waiting list" in english


def test_live_ended_cancelled_not_open_and_closed_are_said_with_their_dates(client):
    now = now_utc().replace(microsecond=0)
    make_event(slug="direct", starts_at=now - timedelta(minutes=5))
    make_event(slug="passe", starts_at=now - timedelta(days=3), capacity=10)
    make_event(slug="annule", status=EventStatus.CANCELLED)
    make_event(slug="bientot", registration_opens_at=now + timedelta(days=1))
    make_event(slug="clos", registration_closes_at=now - timedelta(hours=1))
    _, live = page(client, "/events/direct")
    assert "En direct" in live
    assert "L'événement a commencé : inscrivez-vous" in live
    assert "Je m'inscris" in live
    _, ended = page(client, "/events/passe")
    assert "Cet événement a eu lieu le" in ended
    assert "Je m'inscris" not in ended and "places restantes" not in ended
    _, cancelled = page(client, "/events/annule")
    assert "Cet événement est annulé" in cancelled and "Je m'inscris" not in cancelled
    _, soon = page(client, "/events/bientot")
    assert "Les inscriptions ouvriront le" in soon and " à " in soon
    assert "Je m'inscris" not in soon
    _, closed = page(client, "/events/clos", "en")
    assert "Registration closed on" in closed
    _, home = page(client, "/")
    upcoming, past = home.split('id="passes"')
    assert "En direct" in upcoming and "/events/direct" in upcoming
    assert "/events/passe" in past and "/events/passe" not in upcoming


def manage_path(registration) -> str:
    """Give a registration a fresh personal space link, as a mail would, and return its path."""
    raws = mint_tokens()
    store_tokens(registration, raws)
    db.session.commit()
    return f"/r/{raws[TokenPurpose.MANAGE]}"


def test_cancelling_asks_first_then_offers_to_register_again(client):
    event = make_event(slug="annuler", capacity=5)
    registration = services.register_attendee(event, applicant("a@example.org"))
    db.session.commit()
    space = manage_path(registration)
    _, html = page(client, space)
    assert f'href="{space}/cancel"' in html
    assert 'action="' + space + '/cancel"' not in html  # no one-click cancel from the space
    _, confirm = page(client, f"{space}/cancel")
    assert "Annuler mon inscription ?" in confirm
    assert "Non, garder mon inscription" in confirm
    assert db.session.get(Registration, registration.id).status == RegistrationStatus.CONFIRMED
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', confirm).group(1)
    done = client.post(f"{space}/cancel", data={"csrf_token": token})
    assert done.status_code == 303
    db.session.expire_all()
    assert db.session.get(Registration, registration.id).status == RegistrationStatus.CANCELLED
    _, after = page(client, space)
    assert "Votre inscription est annulée" in after
    assert "M'inscrire à nouveau" in after and 'href="/events/annuler/register"' in after
    # Cancelled already: the confirmation step leads back to the space.
    assert client.get(f"{space}/cancel").status_code == 303
    again = register(client, "annuler", "a@example.org")
    assert again.headers["Location"].endswith("?outcome=confirmed")
    statuses = db.session.scalars(
        select(Registration.status).where(Registration.event_id == event.id)
    ).all()
    assert sorted(statuses) == ["cancelled", "confirmed"]


def test_the_space_shows_the_room_when_it_opens_and_attendance_after(client):
    now = now_utc().replace(microsecond=0)
    event = make_event(slug="salle", starts_at=now + timedelta(hours=3))
    registration = services.register_attendee(event, applicant("a@example.org"))
    db.session.commit()
    space = manage_path(registration)
    _, before = page(client, space)
    assert "La salle ouvrira le" in before and "Rejoindre la salle maintenant" not in before
    event.starts_at = now - timedelta(minutes=10)
    event.ends_at = now + timedelta(minutes=50)
    db.session.commit()
    _, live = page(client, space)
    assert "En direct" in live and "Rejoindre la salle maintenant" in live
    registration = db.session.get(Registration, registration.id)
    services.record_join(registration, now)
    event.starts_at, event.ends_at = now - timedelta(days=2), now - timedelta(days=2, hours=-1)
    db.session.commit()
    _, after = page(client, space)
    assert "Vous avez participé à cet événement" in after
    assert "Rejoindre" not in after and "Annuler mon inscription" not in after


def test_the_first_mail_already_lets_one_stop_the_follow_ups(app, client, smtp_server, runner):
    make_event(slug="suivi")
    url = "/events/suivi/register"
    data = {"csrf_token": csrf_token(client, url), "full_name": "A", "email": "a@example.org",
            "category": "elu", "wants_followups": "y"}  # fmt: skip
    client.post(url, data=data)
    assert runner.invoke(args=["outbox", "send"]).exit_code == 0
    (mail,) = smtp_server.messages
    body = mail.get_body(("plain",)).get_content()
    assert "Pour ne plus les recevoir" in body
    after = body.split("Pour ne plus les recevoir")[1]
    assert MANAGE.search(after) and "#suivi" in after
