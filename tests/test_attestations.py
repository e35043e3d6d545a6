"""Attestations of presence: issued only above the event's threshold (or by an organiser's hand),
downloaded from the attendee space and from the post-event mail, confirmed by a public page that
says nothing more, revoked, and never stored with their code in clear."""

from __future__ import annotations

import io
import re
import secrets
from datetime import timedelta

from pypdf import PdfReader
from sqlalchemy import select

from eventapp.aftermath.mails import send_requested_aftermaths
from eventapp.attestations import services
from eventapp.attestations.models import Attestation
from eventapp.extensions import db
from eventapp.i18n import format_clock
from eventapp.models import now_utc
from eventapp.outbox.models import OutboxMessage
from eventapp.registrations.models import TokenPurpose
from eventapp.registrations.services import Applicant, register_attendee
from eventapp.registrations.tokens import store_tokens
from eventapp.rooms.presence import set_minutes_by_hand
from eventapp.site.logredact import redact
from tests.admin_helpers import Poster, audit_actions, signed_in
from tests.factories import make_event
from tests.helpers import text

CODE = re.compile(r"/attestations/([A-Z2-7]{4}(?:-[A-Z2-7]{4}){7})")


def training(threshold: int | None = 45):
    """A 90-minute training webinar that ended an hour ago, attestations from 45 minutes."""
    start = now_utc().replace(microsecond=0) - timedelta(hours=2, minutes=30)
    return make_event(
        starts_at=start,
        ends_at=start + timedelta(minutes=90),
        attestation_min_minutes=threshold,
        title="Former les élu·es à l'ESS",
    )


def attendee(event, name: str, email: str, minutes: int | None):
    """Register someone before the start with their space's secret; mark their minutes."""
    registration = register_attendee(
        event, Applicant(full_name=name, email=email), event.starts_at - timedelta(days=2)
    )
    raw = secrets.token_urlsafe(32)
    store_tokens(registration, {TokenPurpose.MANAGE: raw})
    if minutes is not None:
        set_minutes_by_hand(registration, minutes, now_utc())
    db.session.commit()
    return registration, raw


def pdf_text(data: bytes) -> str:
    """The PDF's text, its lines joined (a long sentence wraps)."""
    return " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())


def test_only_those_present_long_enough_get_one_from_their_space(app, client):
    event = training()
    _camille, camille_space = attendee(event, "Camille Lefèvre", "camille@example.org", 60)
    _driss, driss_space = attendee(event, "Driss Haddad", "driss@example.org", 30)

    assert "Votre attestation de présence" in text(client.get(f"/r/{camille_space}"))
    assert "Votre attestation de présence" not in text(client.get(f"/r/{driss_space}"))
    download = client.get(f"/r/{camille_space}/attestation.pdf")
    assert client.get(f"/r/{driss_space}/attestation.pdf").status_code == 404

    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert download.headers["Cache-Control"] == "no-store"
    content = pdf_text(download.data)
    assert "Camille Lefèvre" in content and "Former les élu·es à l'ESS" in content
    assert "1 h" in content  # 60 minutes present
    code = CODE.search(content).group(1)
    attestation = db.session.scalars(select(Attestation)).one()
    assert code not in str([getattr(attestation, c.key) for c in Attestation.__table__.columns])
    assert client.get(f"/r/{camille_space}/attestation.pdf").data  # the same one, again
    assert len(db.session.scalars(select(Attestation)).all()) == 1


def test_the_verification_page_confirms_and_says_nothing_more(app, client):
    event = training()
    camille, _space = attendee(event, "Camille Lefèvre", "camille@example.org", 60)
    attestation = services.issue(camille, now_utc())
    db.session.commit()
    code = services.code_of(attestation)

    page = client.get(f"/attestations/{code}")

    assert page.status_code == 200 and page.headers["Referrer-Policy"] == "no-referrer"
    body = text(page)
    assert "Cette attestation est valable" in body
    assert "Camille Lefèvre" in body and event.title in body and "1 h" in body
    assert "camille@example.org" not in body
    assert client.get(f"/attestations/{code.lower().replace('-', '')}").status_code == 200
    unknown = client.get("/attestations/AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA-AAAA")
    assert unknown.status_code == 404 and "Attestation introuvable" in text(unknown)
    assert client.get("/attestations/nope").status_code == 404
    assert redact(f"GET /attestations/{code} HTTP/1.1") == "GET /attestations/[redacted] HTTP/1.1"


def test_an_organiser_issues_by_hand_and_revokes(app, client):
    event = training()
    driss, driss_space = attendee(event, "Driss Haddad", "driss@example.org", 30)
    signed_in(client)
    post = Poster(client)

    assert post(f"/admin/events/{event.id}/attestations/{driss.id}/issue").status_code == 303
    attestation = services.attestation_of(driss)
    assert attestation.issued_by_hand and attestation.minutes == 30
    code = services.code_of(attestation)
    assert client.get(f"/r/{driss_space}/attestation.pdf").status_code == 200

    assert post(f"/admin/events/{event.id}/attestations/{driss.id}/revoke").status_code == 303
    assert "a été révoquée le" in text(client.get(f"/attestations/{code}"))
    assert client.get(f"/attestations/{code}/attestation.pdf").status_code == 404
    assert client.get(f"/r/{driss_space}/attestation.pdf").status_code == 404
    assert {"attestation.issue", "attestation.revoke"} <= set(audit_actions())


def test_the_settings_and_the_minutes_by_hand_in_the_back_office(app, client):
    event = training(threshold=None)
    driss, _ = attendee(event, "Driss Haddad", "driss@example.org", None)
    signed_in(client)
    post = Poster(client)

    refused = post(f"/admin/events/{event.id}/attestations/settings", {"enabled": "y"})
    assert refused.status_code == 422
    assert "Indiquez la présence minimale" in text(refused)
    saved = post(
        f"/admin/events/{event.id}/attestations/settings", {"enabled": "y", "min_minutes": "40"}
    )
    assert (
        saved.status_code == 303
        and db.session.get(type(event), event.id).attestation_min_minutes == 40
    )
    marked = post(f"/admin/events/{event.id}/presence/{driss.id}/minutes", {"minutes": "75"})
    assert marked.status_code == 303
    db.session.expire_all()
    assert driss.minutes_present == 75 and services.eligible(driss)
    page = text(client.get(f"/admin/events/{event.id}/presence"))
    assert "1 présente" in page and "Driss Haddad" in page
    # Marked by hand: from the start, for the minutes given (75 of a 90-minute webinar).
    with app.test_request_context():
        start = format_clock(event.starts_at.astimezone(event.tz))
    assert f"{start} – ".replace("\u00a0", " ").replace("\u202f", " ") in page


def test_the_thanks_mail_links_the_attestation_of_those_who_earned_it(app):
    event = training()
    attendee(event, "Camille Lefèvre", "camille@example.org", 60)
    attendee(event, "Driss Haddad", "driss@example.org", 30)
    event.replay_url = "https://peertube.example.org/w/replay"
    event.replay_published_at = event.aftermath_requested_at = now_utc()
    db.session.commit()

    send_requested_aftermaths(now_utc())
    db.session.commit()

    mails = {m.to_address: m for m in db.session.scalars(select(OutboxMessage))}
    found = CODE.search(mails["camille@example.org"].text_body)
    assert found and "/attestation.pdf" in mails["camille@example.org"].text_body
    assert services.find_by_code(found.group(1)).full_name == "Camille Lefèvre"
    assert "/attestations/" not in mails["driss@example.org"].text_body


def test_an_erased_person_leaves_no_attestation_to_verify(app, client):
    from eventapp.registrations.services import erase_registration

    event = training()
    camille, _space = attendee(event, "Camille Lefèvre", "camille@example.org", 60)
    code = services.code_of(services.issue(camille, now_utc()))
    db.session.commit()
    erase_registration(camille, now_utc())
    db.session.commit()
    assert client.get(f"/attestations/{code}").status_code == 404


def test_the_thanks_mail_leaves_a_revoked_attestation_revoked(app):
    event = training()
    camille, _ = attendee(event, "Camille Lefèvre", "camille@example.org", 60)
    attestation = services.issue(camille, now_utc())
    services.revoke(attestation, now_utc())
    event.replay_url = "https://peertube.example.org/w/replay"
    event.replay_published_at = event.aftermath_requested_at = now_utc()
    db.session.commit()
    send_requested_aftermaths(now_utc())
    db.session.commit()
    assert services.attestation_of(camille).revoked_at is not None
    thanks = db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "event_aftermath")
    )
    assert "/attestations/" not in thanks.one().text_body
