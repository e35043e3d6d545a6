"""After an event: the replay and materials an organiser publishes, and the one mail each
registrant gets (thanks or "you could not come"), exactly once."""

from __future__ import annotations

import io
import threading
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import select

from eventapp.aftermath.mails import MISSED, THANKS, audience_counts, send_requested_aftermaths
from eventapp.aftermath.models import EventMaterial
from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.registrations.models import Registration, RegistrationStatus
from eventapp.registrations.services import (
    cancel_registration,
    erase_registration,
    record_join,
)
from tests.admin_helpers import Poster, audit_actions, outbox, register, signed_in
from tests.factories import make_event
from tests.helpers import text
from tests.kit_helpers import sample_pdf

REPLAY = "https://videos.example.org/w/lancement-du-kit"


@pytest.fixture
def folder(app, tmp_path):
    """Keep this test's event files in a folder of its own."""
    path = tmp_path / "event-files"
    app.config["EVENT_UPLOAD_FOLDER"] = str(path)  # absolute: wins over the instance folder
    return path


def ended_event(**fields):
    """An event that ended an hour ago, with room for two."""
    starts_at = now_utc().replace(microsecond=0) - timedelta(hours=2)
    return make_event(**{"starts_at": starts_at, "capacity": 2, **fields})


def pptx() -> bytes:
    """A ZIP archive, as every Office Open XML file is; always the same bytes (a fixed date)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("[Content_Types].xml", (2026, 1, 1, 0, 0, 0)), "<Types/>")
    return buffer.getvalue()


def people(event):
    """Register four people before the start: two seats, two on the waiting list; the first
    joins the room, the third cancels."""
    before = event.starts_at - timedelta(days=1)
    came = register(event, "Alice Martin", "alice@example.org", now=before)
    missed = register(event, "Bruno Petit", "bruno@example.org", now=before)
    waiting = register(event, "Chloé Durand", "chloe@example.org", now=before)
    gone = register(event, "Driss Haddad", "driss@example.org", now=before)
    record_join(came, event.starts_at + timedelta(minutes=2))
    cancel_registration(gone, before)
    db.session.commit()
    return came, missed, waiting, gone


def publish(client, event, **data):
    post = Poster(client)
    return post(
        f"/admin/events/{event.id}/aftermath/replay",
        {"replay_url": REPLAY, **data},
        content_type="multipart/form-data",
    )


def add_material(client, event, title: str, file, **data):
    post = Poster(client)
    return post(
        f"/admin/events/{event.id}/aftermath/materials",
        {"title": title, "file": file, **data},
        content_type="multipart/form-data",
    )


def fetch(client, url: str):
    """Get a file and close the response (a sent file stays open until then)."""
    response = client.get(url)
    response.body = response.get_data()
    response.close()
    return response


def aftermath_mails():
    return outbox("event_aftermath")


# --- replay and materials ----------------------------------------------------------------------


def test_a_published_replay_shows_on_the_event_page_and_leads_to_the_mail(app, client, folder):
    event = ended_event()
    signed_in(client)
    response = publish(
        client,
        event,
        transcript=(io.BytesIO(b"WEBVTT\n\n00:00.000 --> 00:02.000\nBonjour\n"), "sous-titres.vtt"),
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/admin/events/{event.id}/aftermath/mail")
    page = text(client.get(f"/events/{event.slug}"))
    assert REPLAY in page and "Voir le replay" in page and "Lire la transcription" in page
    transcript = fetch(client, f"/events/{event.slug}/replay/transcription-{event.slug}.vtt")
    assert transcript.status_code == 200
    assert transcript.headers["Content-Type"] == "text/vtt; charset=utf-8"  # one charset
    assert transcript.body.startswith(b"WEBVTT")
    assert "event.replay" in audit_actions()


def test_no_replay_before_the_event_has_ended(app, client, folder):
    event = make_event()
    signed_in(client)
    response = publish(client, event)
    assert response.status_code == 422
    assert "pas terminé" in text(response)
    db.session.refresh(event)
    assert event.replay_url == "" and event.replay_published_at is None


def test_a_replay_address_must_be_a_web_address(app, client, folder):
    event = ended_event()
    signed_in(client)
    response = publish(client, event, replay_url="javascript:alert(1)")
    assert response.status_code == 422
    assert "https://" in text(response)
    db.session.refresh(event)
    assert not event.has_replay


def test_a_material_that_is_not_accessible_needs_its_alternative(app, client, folder):
    event = ended_event()
    signed_in(client)
    response = add_material(client, event, "Diaporama", (io.BytesIO(pptx()), "diapos.pptx"))
    assert response.status_code == 422
    assert "version accessible" in text(response)
    assert db.session.scalars(select(EventMaterial)).all() == []
    assert not folder.exists() or list(folder.iterdir()) == []


def test_a_material_with_its_alternative_is_listed_and_downloaded(app, client, folder):
    event = ended_event()
    signed_in(client)
    response = add_material(
        client,
        event,
        "Diaporama du lancement",
        (io.BytesIO(pptx()), "diapos.pptx"),
        alternative=(io.BytesIO(sample_pdf("Diaporama")), "diapos.pdf"),
    )
    assert response.status_code == 303, text(response)
    material = db.session.scalars(select(EventMaterial)).one()
    assert material.file_name.endswith(".pptx") and material.alternative_file_name.endswith(".pdf")
    assert len(list(folder.iterdir())) == 2
    page = text(client.get(f"/events/{event.slug}"))
    assert "Diaporama du lancement" in page and "Version accessible" in page
    assert "PowerPoint" in page
    download = fetch(
        client, f"/events/{event.slug}/materials/{material.id}/diaporama-du-lancement.pptx"
    )
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    assert "diaporama-du-lancement.pptx" in download.headers["Content-Disposition"]
    assert download.body == pptx()
    alternative = fetch(client, f"/events/{event.slug}/materials/{material.id}/accessible/x.pdf")
    assert alternative.status_code == 200
    assert alternative.headers["Content-Type"] == "application/pdf"


def test_a_file_whose_content_is_not_its_kind_is_refused(app, client, folder):
    event = ended_event()
    signed_in(client)
    response = add_material(
        client, event, "Faux PDF", (io.BytesIO(b"MZ\x90\x00 not a pdf"), "faux.pdf"), accessible="y"
    )
    assert response.status_code == 422
    assert "PDF" in text(response)
    assert db.session.scalars(select(EventMaterial)).all() == []
    assert not folder.exists() or list(folder.iterdir()) == []


def test_an_unknown_kind_of_file_is_refused_with_the_list_of_formats(app, client, folder):
    event = ended_event()
    signed_in(client)
    response = add_material(
        client,
        event,
        "Page",
        (io.BytesIO(b"<script>alert(1)</script>"), "page.html"),
        accessible="y",
    )
    assert response.status_code == 422
    assert "Formats acceptés" in text(response)
    assert db.session.scalars(select(EventMaterial)).all() == []


def test_a_removed_material_takes_its_files_with_it(app, client, folder):
    event = ended_event()
    signed_in(client)
    add_material(
        client, event, "Compte rendu", (io.BytesIO(sample_pdf("CR")), "cr.pdf"), accessible="y"
    )
    material = db.session.scalars(select(EventMaterial)).one()
    url = f"/events/{event.slug}/materials/{material.id}/compte-rendu.pdf"
    assert fetch(client, url).status_code == 200
    response = Poster(client)(f"/admin/events/{event.id}/aftermath/materials/{material.id}/delete")
    assert response.status_code == 303
    assert db.session.scalars(select(EventMaterial)).all() == []
    assert list(folder.iterdir()) == []
    assert fetch(client, url).status_code == 404
    assert "Compte rendu" not in text(client.get(f"/events/{event.slug}"))


def test_a_material_is_found_only_through_its_own_event(app, client, folder):
    event, other = ended_event(), ended_event()
    signed_in(client)
    add_material(client, event, "Notes", (io.BytesIO(b"Des notes"), "notes.txt"), accessible="y")
    material = db.session.scalars(select(EventMaterial)).one()
    assert fetch(client, f"/events/{other.slug}/materials/{material.id}/n.txt").status_code == 404
    notes = fetch(client, f"/events/{event.slug}/materials/{material.id}/n.txt")
    assert notes.status_code == 200
    assert notes.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_the_back_office_forms_need_their_csrf_token(app, client, folder):
    event = ended_event()
    signed_in(client)
    response = client.post(
        f"/admin/events/{event.id}/aftermath/replay", data={"replay_url": REPLAY}
    )
    assert response.status_code == 400
    db.session.refresh(event)
    assert not event.has_replay


def test_the_registrant_space_shows_the_replay_after_the_event(app, client, folder):
    from eventapp.registrations.tokens import mint_tokens, store_tokens

    event = ended_event(replay_url=REPLAY, replay_published_at=now_utc())
    came, *_ = people(event)
    raws = mint_tokens()
    store_tokens(came, raws)
    db.session.commit()
    page = text(client.get(f"/r/{next(iter(raws.values()))}"))
    assert "Revoir l'événement" in page and REPLAY in page


# --- the post-event mail -----------------------------------------------------------------------


def test_the_mail_waits_for_a_replay_and_a_confirmation(app, client, folder):
    event = ended_event()
    people(event)
    signed_in(client)
    post = Poster(client)
    post(f"/admin/events/{event.id}/aftermath/mail")
    db.session.refresh(event)
    assert event.aftermath_requested_at is None  # no replay yet: nothing asked
    publish(client, event)
    preview = client.get(f"/admin/events/{event.id}/aftermath/mail")
    page = text(preview)
    assert "Merci d'avoir participé" in page and "Le replay est en ligne" in page
    assert "Envoyer le mail aux 3 personnes" in page  # one attended, two missed, one cancelled
    assert aftermath_mails() == []  # a preview queues nothing
    assert post(f"/admin/events/{event.id}/aftermath/mail").status_code == 303
    db.session.refresh(event)
    first = event.aftermath_requested_at
    assert first is not None
    post(f"/admin/events/{event.id}/aftermath/mail")  # a second click asks nothing more
    db.session.refresh(event)
    assert event.aftermath_requested_at == first
    assert "déjà été envoyé" in text(client.get(f"/admin/events/{event.id}/aftermath/mail"))


def request_mail(event):
    event.replay_url = REPLAY
    event.replay_published_at = now_utc()
    event.aftermath_requested_at = now_utc()
    db.session.commit()


def test_each_registrant_gets_the_version_that_fits_and_the_cancelled_none(app):
    event = ended_event()
    came, missed, waiting, gone = people(event)
    assert audience_counts(event) == {"attended": 1, "missed": 2}
    request_mail(event)
    assert send_requested_aftermaths(now_utc()) == 3
    db.session.commit()
    mails = {mail.to_address: mail for mail in aftermath_mails()}
    assert set(mails) == {"alice@example.org", "bruno@example.org", "chloe@example.org"}
    assert "Merci d'avoir participé" in mails["alice@example.org"].subject
    for address in ("bruno@example.org", "chloe@example.org"):
        assert "Le replay est en ligne" in mails[address].subject
        assert "n'avez pas pu assister" in mails[address].text_body
    assert all(REPLAY in mail.text_body for mail in mails.values())
    assert mails["alice@example.org"].registration_id == came.id


def test_the_mail_goes_once_however_often_the_job_runs(app):
    event = ended_event()
    people(event)
    request_mail(event)
    assert send_requested_aftermaths(now_utc()) == 3
    db.session.commit()
    assert send_requested_aftermaths(now_utc()) == 0
    db.session.commit()
    event.aftermath_queued_at = None  # even a claim lost somehow finds the keys taken
    db.session.commit()
    assert send_requested_aftermaths(now_utc()) == 0
    db.session.commit()
    assert len(aftermath_mails()) == 3


def test_two_workers_at_once_send_each_person_one_mail(app):
    event = ended_event(capacity=None)
    before = event.starts_at - timedelta(days=1)
    for index in range(30):
        registration = register(event, f"Person {index}", f"p{index}@example.org", now=before)
        if index % 3 == 0:
            record_join(registration, event.starts_at)
    db.session.commit()
    request_mail(event)
    barrier = threading.Barrier(2)
    results: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        with app.app_context():
            try:
                barrier.wait()
                results.append(send_requested_aftermaths(now_utc()))
                db.session.commit()
            except BaseException as error:  # reported below
                db.session.rollback()
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    db.session.expire_all()
    assert sum(results) == 30
    mails = aftermath_mails()
    assert len({mail.to_address for mail in mails}) == len(mails) == 30
    assert sum("Merci" in mail.subject for mail in mails) == 10


def test_an_erased_registration_gets_nothing_and_a_later_cancel_withdraws_the_mail(app):
    event = ended_event()
    came, missed, waiting, _gone = people(event)
    erase_registration(waiting)
    db.session.commit()
    request_mail(event)
    assert send_requested_aftermaths(now_utc()) == 2
    db.session.commit()
    cancel_registration(missed)
    db.session.commit()
    pending = {mail.to_address for mail in aftermath_mails() if mail.status == "pending"}
    assert pending == {"alice@example.org"}
    assert db.session.get(Registration, missed.id).status == RegistrationStatus.CANCELLED


def test_the_mail_lists_the_materials_and_reaches_the_relay(app, runner, smtp_server, folder):
    event = ended_event()
    people(event)
    from eventapp.aftermath import services

    services.add_material(
        event, "Diaporama", (io.BytesIO(sample_pdf("D")), "d.pdf"), True, None, now_utc()
    )
    db.session.commit()
    request_mail(event)
    send_requested_aftermaths(now_utc())
    db.session.commit()
    result = runner.invoke(args=["outbox", "send"])
    assert result.exit_code == 0, result.output
    subjects = ("Merci d'avoir participé", "Le replay est en ligne")
    received = [m for m in smtp_server.messages if m["Subject"].startswith(subjects)]
    assert len(received) == 3
    bodies = [m.get_body(preferencelist=("plain",)).get_content() for m in received]
    assert all(
        "Diaporama (PDF" in body and f"/events/{event.slug}/materials/" in body for body in bodies
    )
    assert sorted(m["Subject"].startswith("Merci") for m in received) == [False, False, True]


@pytest.mark.parametrize("template", [THANKS, MISSED])
def test_both_versions_have_an_english_translation(app, template):
    from eventapp.aftermath.mails import preview_aftermath

    event = ended_event(replay_url=REPLAY, replay_published_at=now_utc())
    mail = preview_aftermath(event, attended=template == THANKS, locale="en")
    assert REPLAY in mail.text and "Bonjour" not in mail.text
    assert mail.subject.startswith(
        "Thank you for attending" if template == THANKS else "The replay is online"
    )


def test_the_thanks_carry_a_personal_survey_link_that_opens_the_survey(app, client):
    import re

    event = ended_event()
    people(event)
    request_mail(event)
    send_requested_aftermaths(now_utc())
    db.session.commit()
    mails = {mail.to_address: mail for mail in aftermath_mails()}
    found = re.findall(r"https?://[^\s]+/s/([\w-]+)", mails["alice@example.org"].text_body)
    assert len(found) == 1 and len(found[0]) >= 43  # 256 random bits
    assert "/s/" not in mails["bruno@example.org"].text_body  # no survey for those not there
    page = client.get(f"/s/{found[0]}")
    assert page.status_code == 200 and event.title in text(page)


def test_no_survey_link_once_the_survey_is_turned_off(app):
    event = ended_event(survey_enabled=False)
    people(event)
    request_mail(event)
    send_requested_aftermaths(now_utc())
    db.session.commit()
    assert all("/s/" not in mail.text_body for mail in aftermath_mails())
