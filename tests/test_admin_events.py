"""Events in the back office: create, edit (new invites), publish, cancel, duplicate, delete,
and the speakers of an event (attach, reorder without JavaScript, detach)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar
from sqlalchemy import select

from eventapp.audit.models import AuditLog
from eventapp.events.models import Event, EventStatus
from eventapp.extensions import db
from eventapp.registrations.models import RegistrationStatus
from eventapp.speakers.models import EventSpeaker
from tests.admin_helpers import (  # noqa: F401 - cheap_hashing is an autouse fixture
    Poster,
    audit_actions,
    cheap_hashing,
    count,
    outbox,
    register,
    signed_in,
)
from tests.factories import add_speaker, make_event, make_speaker
from tests.helpers import text

FORM = {
    "title": "Webinaire ESS et mobilité",
    "slug": "",
    "summary": "Trente minutes sur la mobilité durable.",
    "description": "Un **webinaire**.",
    "kind": "online",
    "timezone": "Europe/Paris",
    "starts_at": "2031-03-06T13:30",
    "ends_at": "2031-03-06T14:00",
    "venue": "",
    "capacity": "100",
    "waitlist_enabled": "y",
    "registration_opens_at": "",
    "registration_closes_at": "2031-03-06T12:00",
    "connection_url": "https://visio.example.org/mobilite",
    "reminder_offsets": ["1440", "60"],
}


HALF_HOUR = timedelta(minutes=30)


def local(moment: datetime, event: Event) -> str:
    return moment.astimezone(event.tz).strftime("%Y-%m-%dT%H:%M")


def form_of(event: Event, **changes) -> dict:
    """The edit form as the browser would send it back, with some fields changed."""
    tz = event.tz
    values = {
        **FORM,
        "title": event.title,
        "slug": event.slug,
        "summary": event.summary,
        "starts_at": event.starts_at.astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
        "ends_at": event.ends_at.astimezone(tz).strftime("%Y-%m-%dT%H:%M"),
        "capacity": "" if event.capacity is None else str(event.capacity),
        "registration_closes_at": "",
        "connection_url": event.connection_url,
        "reminder_offsets": [str(m) for m in event.reminder_offsets],
    }
    values.update(changes)
    return values


def test_create_an_event_as_a_draft_with_its_settings(client):
    signed_in(client)
    post = Poster(client)
    response = post("/admin/events/new", FORM)
    assert response.status_code == 303
    event = db.session.scalars(select(Event)).one()
    assert response.headers["Location"] == f"/admin/events/{event.id}"
    assert event.status == EventStatus.DRAFT
    assert event.slug == "webinaire-ess-et-mobilite"
    # 13:30 in Paris in March (winter time) is 12:30 UTC.
    assert event.starts_at == datetime(2031, 3, 6, 12, 30, tzinfo=UTC)
    assert event.registration_closes_at == datetime(2031, 3, 6, 11, 0, tzinfo=UTC)
    assert event.capacity == 100 and event.waitlist_enabled
    assert event.reminder_offsets == [1440, 60]
    assert event.connection_url_public is False
    entry = db.session.scalars(select(AuditLog)).one()
    assert (entry.action, entry.target_type, entry.target_id) == (
        "event.create",
        "events",
        event.id,
    )
    assert entry.user_email.endswith("@example.org") and entry.at is not None
    # A draft is not public.
    assert client.get(f"/events/{event.slug}").status_code == 404


def test_bad_input_says_why_and_writes_nothing(client):
    signed_in(client)
    post = Poster(client)
    cases = [
        {"ends_at": "2031-03-06T13:00"},  # before the start
        {"title": ""},
        {"connection_url": "javascript:alert(1)"},
        {"capacity": "-3"},
        {"slug": "Pas Un Slug"},
        {"starts_at": "2031-03-30T02:30", "ends_at": "2031-03-30T03:30"},  # skipped at DST
        {"registration_opens_at": "2031-03-05T10:00", "registration_closes_at": "2031-03-01T10:00"},
    ]
    for change in cases:
        response = post("/admin/events/new", {**FORM, **change})
        assert response.status_code == 422, change
        assert "Le formulaire contient des erreurs" in text(response)
    assert count(Event) == 0
    assert audit_actions() == []


def test_the_slug_of_another_event_is_refused(client):
    make_event(slug="pris")
    signed_in(client)
    response = Poster(client)("/admin/events/new", {**FORM, "slug": "pris"})
    assert response.status_code == 422
    assert "Un autre événement utilise déjà cette adresse." in text(response)
    assert count(Event) == 1


def test_publish_a_draft(client):
    event = make_event(status=EventStatus.DRAFT)
    signed_in(client)
    response = Poster(client)(f"/admin/events/{event.id}/publish")
    assert response.status_code == 303
    db.session.refresh(event)
    assert event.status == EventStatus.PUBLISHED
    assert client.get(f"/events/{event.slug}").status_code == 200
    assert audit_actions() == ["event.publish"]


def test_edit_without_a_change_of_time_or_link_sends_nothing(client):
    event = make_event(capacity=10)
    register(event, "Camille Martin")
    queued = len(outbox())
    signed_in(client)
    response = Poster(client)(
        f"/admin/events/{event.id}/edit", form_of(event, title="Nouveau titre")
    )
    assert response.status_code == 303
    db.session.refresh(event)
    assert event.title == "Nouveau titre"
    assert event.ics_sequence == 0
    assert len(outbox()) == queued
    entry = db.session.scalars(select(AuditLog)).one()
    assert entry.details["changed"]["title"][1] == "Nouveau titre"


def test_a_new_time_sends_each_confirmed_person_the_new_invite_once(client):
    event = make_event(capacity=2)
    confirmed = [register(event, "Camille Martin"), register(event, "Alex Durand")]
    waiting = register(event, "Dominique Petit")
    assert waiting.status == RegistrationStatus.WAITLISTED
    signed_in(client)
    post = Poster(client)
    later = (event.starts_at + timedelta(hours=2)).replace(second=0)
    form = form_of(event, starts_at=local(later, event), ends_at=local(later + HALF_HOUR, event))
    response = post(f"/admin/events/{event.id}/edit", form)
    assert response.status_code == 303
    db.session.refresh(event)
    assert event.starts_at == later and event.ics_sequence == 1
    updates = outbox("event_updated")
    assert sorted(m.to_address for m in updates) == sorted(r.email for r in confirmed)
    invite = Calendar.from_ical(updates[0].calendar)
    vevent = invite.walk("VEVENT")[0]
    assert vevent["SEQUENCE"] == 1
    assert vevent.decoded("DTSTART").astimezone(UTC) == later
    # The same form sent again changes nothing more and mails nobody again.
    assert post(f"/admin/events/{event.id}/edit", form).status_code == 303
    assert len(outbox("event_updated")) == 2
    details = db.session.scalars(select(AuditLog).order_by(AuditLog.id)).first().details
    assert details["invites"] == 2


def test_a_new_connection_link_also_sends_the_new_invite(client):
    event = make_event()
    register(event, "Camille Martin")
    signed_in(client)
    Poster(client)(
        f"/admin/events/{event.id}/edit",
        form_of(event, connection_url="https://visio.example.org/nouvelle-salle"),
    )
    assert len(outbox("event_updated")) == 1


def test_more_seats_take_people_off_the_waiting_list(client):
    event = make_event(capacity=1)
    register(event, "Camille Martin")
    waiting = register(event, "Alex Durand")
    signed_in(client)
    response = Poster(client)(f"/admin/events/{event.id}/edit", form_of(event, capacity="2"))
    assert response.status_code == 303
    db.session.refresh(waiting)
    assert waiting.status == RegistrationStatus.CONFIRMED
    assert [m.to_address for m in outbox("registration_promoted")] == [waiting.email]


def test_cancel_asks_first_then_sends_the_cancel_invites(client):
    event = make_event()
    person = register(event, "Camille Martin")
    signed_in(client)
    page = client.get(f"/admin/events/{event.id}/cancel")
    assert page.status_code == 200
    assert "1 personne confirmée sera prévenue" in text(page)
    db.session.refresh(event)
    assert event.status == EventStatus.PUBLISHED  # the page alone changes nothing
    response = Poster(client)(f"/admin/events/{event.id}/cancel")
    assert response.status_code == 303
    db.session.refresh(event)
    assert event.status == EventStatus.CANCELLED
    [mail] = outbox("event_cancelled")
    assert mail.to_address == person.email
    assert mail.calendar_method == "CANCEL"
    assert Calendar.from_ical(mail.calendar).walk("VEVENT")[0]["STATUS"] == "CANCELLED"
    assert "event.cancel" in audit_actions()


def test_duplicate_copies_settings_and_speakers_as_a_draft(client):
    event = make_event(capacity=50, reminder_offsets=[1440])
    first, second = make_speaker(name="Mahel Coppey"), make_speaker(name="Pascal Duforestel")
    add_speaker(event, first, position=0)
    add_speaker(event, second, position=1)
    register(event, "Camille Martin")
    signed_in(client)
    response = Poster(client)(f"/admin/events/{event.id}/duplicate")
    assert response.status_code == 303
    copy = db.session.scalars(select(Event).where(Event.id != event.id)).one()
    assert response.headers["Location"] == f"/admin/events/{copy.id}/edit"
    assert copy.status == EventStatus.DRAFT and copy.slug == f"{event.slug}-copie"
    assert copy.capacity == 50 and copy.reminder_offsets == [1440]
    assert [link.speaker.name for link in copy.speaker_links] == [
        "Mahel Coppey",
        "Pascal Duforestel",
    ]
    assert copy.ics_sequence == 0
    assert audit_actions() == ["event.duplicate"]


def test_delete_a_draft_but_never_an_event_with_registrations(client):
    draft = make_event(status=EventStatus.DRAFT)
    public = make_event()
    register(public, "Camille Martin")
    draft_id, public_id = draft.id, public.id
    signed_in(client)
    post = Poster(client)
    assert client.get(f"/admin/events/{draft_id}/delete").status_code == 200
    assert post(f"/admin/events/{draft_id}/delete").status_code == 303
    db.session.expunge_all()
    assert db.session.get(Event, draft_id) is None
    refused = post(f"/admin/events/{public_id}/delete")
    assert refused.status_code == 409
    assert db.session.get(Event, public_id) is not None
    assert audit_actions() == ["event.delete"]


def test_speakers_are_attached_reordered_with_buttons_and_detached(client):
    event = make_event()
    names = ["Mahel Coppey", "Pascal Duforestel", "Catherine Zuber"]
    speakers = [make_speaker(name=name) for name in names]
    signed_in(client)
    post = Poster(client)
    for speaker in speakers:
        response = post(
            f"/admin/events/{event.id}/speakers", {"speaker_id": str(speaker.id), "role": "speaker"}
        )
        assert response.status_code == 303

    def order() -> list[str]:
        links = db.session.scalars(
            select(EventSpeaker)
            .where(EventSpeaker.event_id == event.id)
            .order_by(EventSpeaker.position)
        )
        return [link.speaker.name for link in links]

    def link_of(name: str) -> EventSpeaker:
        return next(
            link for link in db.session.scalars(select(EventSpeaker)) if link.speaker.name == name
        )

    assert order() == names
    base = f"/admin/events/{event.id}/speakers"
    # Each button is a plain form: no script is needed to reorder.
    page = client.get(f"/admin/events/{event.id}").get_data(as_text=True)
    zuber = link_of("Catherine Zuber").id
    assert f'action="/admin/events/{event.id}/speakers/{zuber}/move"' in page
    assert "<script>" not in page  # the drag handle is an external file only
    assert (
        post(
            f"/admin/events/{event.id}/speakers/{link_of('Catherine Zuber').id}/move",
            {"direction": "up"},
        ).status_code
        == 303
    )
    assert order() == ["Mahel Coppey", "Catherine Zuber", "Pascal Duforestel"]
    post(f"{base}/{link_of('Mahel Coppey').id}/move", {"direction": "down"})
    assert order() == ["Catherine Zuber", "Mahel Coppey", "Pascal Duforestel"]
    # The first cannot go further up.
    post(f"{base}/{link_of('Catherine Zuber').id}/move", {"direction": "up"})
    assert order() == ["Catherine Zuber", "Mahel Coppey", "Pascal Duforestel"]
    # The public page follows the order.
    public = text(client.get(f"/events/{event.slug}"))
    positions = [
        public.index(name) for name in ("Catherine Zuber", "Mahel Coppey", "Pascal Duforestel")
    ]
    assert positions == sorted(positions)
    # The whole order at once (the drag-and-drop script's form).
    ids = [link_of(n).id for n in ("Pascal Duforestel", "Mahel Coppey", "Catherine Zuber")]
    assert (
        post(
            f"/admin/events/{event.id}/speakers/order", {"order": ",".join(map(str, ids))}
        ).status_code
        == 303
    )
    assert order() == ["Pascal Duforestel", "Mahel Coppey", "Catherine Zuber"]
    # An order that is not exactly the event's speakers is refused.
    post(f"/admin/events/{event.id}/speakers/order", {"order": str(ids[0])})
    assert order() == ["Pascal Duforestel", "Mahel Coppey", "Catherine Zuber"]
    # Change a role, then detach: the others close up.
    post(f"{base}/{link_of('Mahel Coppey').id}/role", {"role": "moderator"})
    assert link_of("Mahel Coppey").role == "moderator"
    assert post(f"{base}/{link_of('Pascal Duforestel').id}/detach").status_code == 303
    assert order() == ["Mahel Coppey", "Catherine Zuber"]
    assert sorted(link.position for link in db.session.scalars(select(EventSpeaker))) == [0, 1]
    assert audit_actions() == [
        "event.speaker_attach",
        "event.speaker_attach",
        "event.speaker_attach",
        "event.speaker_move",
        "event.speaker_move",
        "event.speaker_reorder",
        "event.speaker_role",
        "event.speaker_detach",
    ]


def test_a_speaker_already_on_the_event_is_not_added_twice(client):
    event = make_event()
    speaker = make_speaker()
    add_speaker(event, speaker)
    signed_in(client)
    Poster(client)(
        f"/admin/events/{event.id}/speakers", {"speaker_id": str(speaker.id), "role": "host"}
    )
    assert count(EventSpeaker) == 1


def test_the_event_page_shows_what_matters(client):
    event = make_event(capacity=10, connection_url="https://visio.example.org/salle")
    register(event, "Camille Martin")
    signed_in(client)
    page = text(client.get(f"/admin/events/{event.id}"))
    assert "1 / 10 places (10 %)" in page
    assert "https://visio.example.org/salle" in page
    assert "la veille (24 heures avant)" in page


def test_an_empty_slug_is_made_from_the_title_with_its_ligatures_spelt_out(client):
    signed_in(client)
    form = {**FORM, "title": "L'ESS au cœur des territoires, Straße", "slug": ""}
    response = Poster(client)("/admin/events/new", form)
    assert response.status_code == 303
    event = db.session.scalars(select(Event)).one()
    assert event.slug == "l-ess-au-coeur-des-territoires-strasse"
