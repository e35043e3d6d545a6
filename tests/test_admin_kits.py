"""Kits and sheets in the back office: create, upload, schedule weekly, reschedule, preview."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from eventapp.extensions import db
from eventapp.kits.models import Kit, Sheet
from eventapp.outbox.models import OutboxMessage
from tests.admin_helpers import (  # noqa: F401 - cheap_hashing is an autouse fixture
    Poster,
    audit_actions,
    cheap_hashing,
    count,
    signed_in,
)
from tests.factories import make_event
from tests.helpers import text
from tests.kit_helpers import make_kit, make_sheet, sample_pdf


@pytest.fixture
def uploads(app, tmp_path):
    app.config["KIT_UPLOAD_FOLDER"] = str(tmp_path / "sheets")  # never the real instance folder
    return tmp_path / "sheets"


def test_create_a_kit_tied_to_an_event(client):
    event = make_event(title="Lancement")
    signed_in(client)
    response = Poster(client)(
        "/admin/kits/new",
        {
            "title": "Kit RégionalESS",
            "slug": "",
            "description": "Vingt fiches.",
            "events": [str(event.id)],
            "timezone": "Europe/Paris",
            "show_upcoming_titles": "y",
        },
    )
    assert response.status_code == 303
    kit = db.session.scalars(select(Kit)).one()
    assert kit.slug == "kit-regionaless" and not kit.published
    assert [e.id for e in kit.events] == [event.id]
    assert audit_actions() == ["kit.create"]


def test_edit_a_kit_and_publish_it(client):
    kit = make_kit(published=False)
    signed_in(client)
    response = Poster(client)(
        f"/admin/kits/{kit.id}/edit",
        {
            "title": "Nouveau titre",
            "slug": kit.slug,
            "events": [],
            "timezone": "Europe/Paris",
            "published": "y",
        },
    )
    assert response.status_code == 303
    db.session.refresh(kit)
    assert kit.published and kit.title == "Nouveau titre" and kit.events == []
    entry_changes = audit_actions()
    assert entry_changes == ["kit.update"]


def test_add_a_sheet_with_its_pdf(client, uploads):
    kit = make_kit()
    signed_in(client)
    pdf = sample_pdf("Tourisme et ESS")
    response = Poster(client)(
        f"/admin/kits/{kit.id}/sheets/new",
        {
            "number": "7",
            "title": "Tourisme et ESS",
            "summary": "Un tourisme utile.",
            "themes": "tourisme, politiques thématiques",
            "release_at": "2030-03-07T14:00",
            "pdf": (io.BytesIO(pdf), "fiche.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    sheet = db.session.scalars(select(Sheet)).one()
    assert sheet.number == 7 and sheet.themes == ["tourisme", "politiques thématiques"]
    assert sheet.release_at == datetime(2030, 3, 7, 13, 0, tzinfo=UTC)  # 14:00 in Paris
    assert (uploads / sheet.file_name).read_bytes() == pdf
    assert sheet.notified_at is None
    assert audit_actions() == ["sheet.create"]


def test_a_file_that_is_not_a_pdf_is_refused_and_nothing_is_saved(client, uploads):
    kit = make_kit()
    signed_in(client)
    response = Poster(client)(
        f"/admin/kits/{kit.id}/sheets/new",
        {
            "number": "1",
            "title": "Fiche",
            "pdf": (io.BytesIO(b"<html>pas un pdf</html>"), "f.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "n'est pas un PDF" in text(response)
    assert count(Sheet) == 0
    assert not uploads.exists() or not any(uploads.iterdir())


def test_a_sheet_number_is_unique_in_its_kit(client):
    kit = make_kit()
    make_sheet(kit, 3)
    signed_in(client)
    response = Poster(client)(
        f"/admin/kits/{kit.id}/sheets/new", {"number": "3", "title": "Doublon"}
    )
    assert response.status_code == 422
    assert count(Sheet) == 1


def test_edit_a_sheet_and_replace_its_pdf(client, uploads):
    kit = make_kit()
    sheet = make_sheet(kit, 1)
    signed_in(client)
    post = Poster(client)
    url = f"/admin/kits/{kit.id}/sheets/{sheet.id}"
    post(
        url,
        {"number": "1", "title": "Fiche", "pdf": (io.BytesIO(sample_pdf("v1")), "a.pdf")},
        content_type="multipart/form-data",
    )
    db.session.refresh(sheet)
    first = sheet.file_name
    response = post(
        url,
        {"number": "1", "title": "Titre corrigé", "pdf": (io.BytesIO(sample_pdf("v2")), "b.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    db.session.refresh(sheet)
    assert sheet.title == "Titre corrigé" and sheet.file_name != first
    assert not (uploads / first).exists() and (uploads / sheet.file_name).exists()


def test_weekly_schedule_shows_the_dates_first_then_applies_them(client):
    kit = make_kit()
    sheets = [make_sheet(kit, number, release_at=None) for number in (1, 2, 3)]
    signed_in(client)
    post = Poster(client)
    url = f"/admin/kits/{kit.id}/schedule"
    settings = {"first_release": "2030-03-25T14:00", "weekday": "3", "every_weeks": "1"}
    preview = post(url, settings)
    assert preview.status_code == 200
    assert "Calendrier proposé" in text(preview)
    db.session.refresh(sheets[0])
    assert sheets[0].release_at is None  # nothing saved yet
    response = post(url, {**settings, "confirmed": "y"})
    assert response.status_code == 303
    dates = [db.session.get(Sheet, s.id).release_at for s in sheets]
    # The first Thursday from 25 March, then weekly, 14:00 Paris: across the change to summer time
    # (31 March 2030) the wall-clock hour stays.
    assert dates == [
        datetime(2030, 3, 28, 13, 0, tzinfo=UTC),
        datetime(2030, 4, 4, 12, 0, tzinfo=UTC),
        datetime(2030, 4, 11, 12, 0, tzinfo=UTC),
    ]
    assert audit_actions() == ["kit.schedule"]


def test_reschedule_one_sheet_or_take_it_off_the_calendar(client):
    kit = make_kit()
    sheet = make_sheet(kit, 1)
    signed_in(client)
    post = Poster(client)
    url = f"/admin/kits/{kit.id}/sheets/{sheet.id}/reschedule"
    assert post(url, {"release_at": "2030-05-02T09:30"}).status_code == 303
    db.session.refresh(sheet)
    assert sheet.release_at == datetime(2030, 5, 2, 7, 30, tzinfo=UTC)
    post(url, {"release_at": ""})
    db.session.refresh(sheet)
    assert sheet.release_at is None
    assert audit_actions() == ["sheet.reschedule", "sheet.reschedule"]


def test_preview_the_follow_up_mail_without_sending_it(client):
    kit = make_kit(title="Kit RégionalESS")
    sheet = make_sheet(kit, 7, title="Tourisme et ESS")
    signed_in(client)
    response = client.get(f"/admin/kits/{kit.id}/sheets/{sheet.id}/preview")
    assert response.status_code == 200
    page = text(response)
    assert "Tourisme et ESS" in page
    assert re.search(r'<iframe[^>]*sandbox=""', page)
    assert count(OutboxMessage) == 0
    english = client.get(f"/admin/kits/{kit.id}/sheets/{sheet.id}/preview?lang=en")
    assert english.status_code == 200


def test_the_kit_page_lists_sheets_with_a_reschedule_form_each(client):
    kit = make_kit()
    for number in (1, 2):
        make_sheet(kit, number)
    signed_in(client)
    page = client.get(f"/admin/kits/{kit.id}").get_data(as_text=True)
    assert page.count('type="datetime-local"') == 2
    assert 'value="2030-03-07T14:00"' in page
