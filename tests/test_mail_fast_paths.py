"""The fast paths of mail store exactly what the slow ones would, and notice every change.

A registration mail is filled in from a pattern rendered once per template, locale and content of
the event and organisation; an invite reuses the serialised part that is the same for everyone;
a fan-out inserts its rows through the driver. Changes below are made with plain UPDATEs, as
another process would make them, and without touching updated_at: the caches must notice the
content itself.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select, text, update

from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.ics import invites as ics
from eventapp.outbox.models import OutboxMessage
from eventapp.outbox.render import render_mail
from eventapp.outbox.services import Recipient, enqueue, enqueue_many
from eventapp.registrations import mails, services
from eventapp.site.models import Organisation
from eventapp.site.services import current_organisation
from tests.factories import make_event
from tests.helpers import csrf_token

MONDAY = datetime(2030, 3, 25, 12, 30, tzinfo=UTC)
WEDNESDAY = datetime(2030, 3, 27, 15, 0, tzinfo=UTC)
LINK = re.compile(r"https://events\.test/[rj]/[A-Za-z0-9_-]{43,}")


def register(client, event: Event, email: str) -> None:
    url = f"/events/{event.slug}/register"
    data = {
        "csrf_token": csrf_token(client, url),
        "full_name": "Camille Martin",
        "email": email,
        "category": "elu",
    }
    assert client.post(url, data=data).status_code == 303


def mail_to(email: str) -> OutboxMessage:
    return db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_address == email)).one()


def invite_of(message: OutboxMessage):
    (vevent,) = Calendar.from_ical(message.calendar).walk("VEVENT")
    return vevent


def change(model, row_id: int, **values) -> None:
    """Change a row as another process would: a plain UPDATE, updated_at left as it was."""
    db.session.execute(update(model).where(model.id == row_id).values(**values))
    db.session.commit()
    db.session.expire_all()


def test_the_next_confirmation_shows_the_new_title_and_time(app, client):
    event = make_event(
        title="Webinaire du lundi", starts_at=MONDAY, ends_at=MONDAY + timedelta(hours=1)
    )
    updated_at = event.updated_at
    register(client, event, "first@example.org")
    first = mail_to("first@example.org")
    assert "Webinaire du lundi" in first.subject and "lundi 25 mars 2030" in first.text_body
    assert invite_of(first)["SUMMARY"] == "Webinaire du lundi"

    change(
        Event,
        event.id,
        title="Webinaire du mercredi",
        starts_at=WEDNESDAY,
        ends_at=WEDNESDAY + timedelta(hours=1),
        updated_at=updated_at,
    )
    register(client, event, "second@example.org")

    second = mail_to("second@example.org")
    assert "Webinaire du mercredi" in second.subject
    assert "mercredi 27 mars 2030" in second.text_body and "lundi" not in second.text_body
    assert "Webinaire du mercredi" in second.html_body and "du lundi" not in second.html_body
    vevent = invite_of(second)
    assert vevent["SUMMARY"] == "Webinaire du mercredi"
    assert vevent["DTSTART"].dt == WEDNESDAY
    assert "Camille Martin" in second.text_body and second.text_body != first.text_body


def test_the_next_mail_and_invite_show_the_organisation_as_it_is_now(app, client):
    db.session.add(Organisation(name="Réseau d'avant", short_name="Avant", address="Lille"))
    db.session.commit()
    organisation_id = db.session.scalars(select(Organisation.id)).one()
    event = make_event()
    register(client, event, "first@example.org")
    first = mail_to("first@example.org")
    assert "Réseau d'avant" in first.text_body
    assert invite_of(first)["ORGANIZER"].params["CN"] == "Réseau d'avant"

    change(
        Organisation, organisation_id, name="Réseau d'après", short_name="Après", address="Roubaix"
    )
    register(client, event, "second@example.org")

    second = mail_to("second@example.org")
    assert "Réseau d'après" in second.text_body and "Roubaix" in second.text_body
    assert "avant" not in second.text_body and "Lille" not in second.html_body
    assert ">Après</p>" in second.html_body
    assert invite_of(second)["ORGANIZER"].params["CN"] == "Réseau d'après"


TEMPLATES = [
    "registration_confirmed",
    "registration_promoted",
    "registration_waitlisted",
    "registration_links",
    "registration_reminder",
    "registration_cancelled",
    "event_updated",
    "event_cancelled",
]


@pytest.mark.parametrize("locale", ["fr", "en"])
def test_a_mail_filled_in_from_its_pattern_reads_as_if_rendered_whole(app, locale):
    event = make_event(title="Économie sociale & solidaire <2030>")
    name = 'Zoé & <Cie> O\'Neil "Z"'
    applicant = services.Applicant(full_name=name, email="zoe@example.org", locale=locale)
    registration = services.register_attendee(event, applicant)
    db.session.commit()
    links = {"manage_url": "https://events.test/r/m?a=1&b=2", "join_url": "https://events.test/j/j"}
    for template in TEMPLATES:
        for given in (links, {"manage_url": links["manage_url"]}, {}):
            whole = render_mail(
                template,
                locale,
                {"to": registration.email, "to_name": name, "registration": registration,
                 "event": event, **given},
            )  # fmt: skip
            assert mails.render(registration, template, given) == whole, (template, given)


def test_the_confirmation_row_is_the_filled_pattern(app):
    event = make_event()
    applicant = services.Applicant(full_name="Camille Martin", email="camille@example.org")
    registration = services.register_attendee(event, applicant)
    db.session.commit()
    message = mail_to("camille@example.org")
    found = set(LINK.findall(message.text_body))
    (manage,) = (url for url in found if "/r/" in url)
    (join,) = (url for url in found if "/j/" in url)
    expected = mails.render(registration, "registration_confirmed",
                            {"manage_url": manage, "join_url": join})  # fmt: skip
    assert (message.subject, message.text_body, message.html_body) == expected


def test_the_invite_follows_the_event_whatever_its_updated_at(app):
    event = make_event(title="Avant", starts_at=MONDAY, ends_at=MONDAY + timedelta(hours=1))

    def invite():
        data = ics.request_invite(
            event,
            attendee_email="anne@example.org",
            attendee_name="Anne",
            join_url="https://events.test/j/x",
            site_url="https://events.test",
            organisation=current_organisation(),
            organiser_email="contact@events.test",
        )
        (vevent,) = Calendar.from_ical(data).walk("VEVENT")
        return vevent

    assert (invite()["SUMMARY"], invite()["SEQUENCE"]) == ("Avant", 0)
    change(Event, event.id, title="Après", updated_at=event.updated_at)
    assert (invite()["SUMMARY"], invite()["DTSTART"].dt) == ("Après", MONDAY)
    change(
        Event,
        event.id,
        starts_at=WEDNESDAY,
        ends_at=WEDNESDAY + timedelta(hours=1),
        ics_sequence=1,
        updated_at=event.updated_at,
    )
    after = invite()
    assert (after["SUMMARY"], after["SEQUENCE"]) == ("Après", 1)
    assert after["DTSTART"].dt == WEDNESDAY and after["DTEND"].dt == WEDNESDAY + timedelta(hours=1)
    assert after["ATTENDEE"] == "mailto:anne@example.org"


def test_the_caches_stay_bounded(app):
    event = make_event()
    registration = services.register_attendee(
        event, services.Applicant(full_name="Anne", email="anne@example.org")
    )
    db.session.commit()
    for number in range(mails._PATTERNS_MAX + 3):
        event.title = f"Titre {number}"  # a new content each time, never flushed
        mails.render(registration, "registration_waitlisted", {"manage_url": "https://x.test/r/1"})
        mails.invite(registration, "https://x.test/j/1")
    assert 0 < len(mails._PATTERNS) <= mails._PATTERNS_MAX
    assert 0 < len(ics._FRAMES) <= ics._FRAMES_MAX
    db.session.rollback()


def test_a_fanned_out_mail_is_stored_as_a_single_one_would_be(app):
    now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)  # no microseconds: the stored text keeps them
    enqueue("message", "one@example.org", "one", now=now, subject="S", body="B")
    enqueue_many(
        "message", [Recipient("many@example.org", "many")], kind="message", now=now,
        subject="S", body="B",
    )  # fmt: skip
    db.session.commit()
    rows = db.session.execute(
        text(
            "SELECT dedupe_key, CAST(due_at AS TEXT), CAST(created_at AS TEXT),"
            " CAST(attachments AS TEXT), CAST(headers AS TEXT), status, attempts"
            " FROM outbox_messages ORDER BY dedupe_key"
        )
    ).all()
    many, one = rows
    assert many[1:] == one[1:]
    assert db.session.scalars(select(OutboxMessage.attachments)).all() == [[], []]
