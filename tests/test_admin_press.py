"""The press room in the back office: releases under embargo, files, contacts, inquiries."""

from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import select

from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.press.models import (
    InquiryStatus,
    PressAttachment,
    PressContact,
    PressInquiry,
    PressRelease,
)
from tests.admin_helpers import (  # noqa: F401 - cheap_hashing is an autouse fixture
    Poster,
    audit_actions,
    cheap_hashing,
    count,
    signed_in,
)
from tests.factories import make_event
from tests.helpers import text

PARIS = ZoneInfo("Europe/Paris")
RELEASE = {
    "title": "Le RTES lance le kit RégionalESS",
    "slug": "",
    "summary": "Vingt fiches pour les régions.",
    "body": "## Un kit\n\nDes fiches.",
    "dateline_place": "Lille",
    "dateline_date": "2021-02-22",
    "event_id": "0",
    "published_at": "",
    "image_alt": "",
}


@pytest.fixture
def files(app, tmp_path):
    app.config["PRESS_UPLOAD_FOLDER"] = str(tmp_path / "press")
    return tmp_path / "press"


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 60)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_release_is_a_draft_then_under_embargo_then_public(client, files):
    event = make_event()
    signed_in(client)
    post = Poster(client)
    response = post("/admin/press/releases/new", {**RELEASE, "event_id": str(event.id)})
    assert response.status_code == 303
    release = db.session.scalars(select(PressRelease)).one()
    assert release.slug == "le-rtes-lance-le-kit-regionaless"
    assert release.published_at is None and release.event_id == event.id
    assert release.dateline_date == date(2021, 2, 22)
    assert client.get(f"/press/{release.slug}").status_code == 404
    embargo = (now_utc() + timedelta(days=2)).astimezone(PARIS)
    form = {**RELEASE, "slug": release.slug, "published_at": embargo.strftime("%Y-%m-%dT%H:%M")}
    assert post(f"/admin/press/releases/{release.id}", form).status_code == 303
    db.session.refresh(release)
    assert release.published_at > now_utc()
    assert client.get(f"/press/{release.slug}").status_code == 404  # under embargo
    assert "Sous embargo" in text(client.get("/admin/press/"))
    past = (now_utc() - timedelta(hours=1)).astimezone(PARIS)
    post(
        f"/admin/press/releases/{release.id}",
        {**form, "published_at": past.strftime("%Y-%m-%dT%H:%M")},
    )
    assert client.get(f"/press/{release.slug}").status_code == 200
    assert audit_actions() == [
        "press_release.create",
        "press_release.update",
        "press_release.update",
    ]


def test_a_reserved_or_taken_slug_is_refused(client):
    signed_in(client)
    response = Poster(client)("/admin/press/releases/new", {**RELEASE, "slug": "contact"})
    assert response.status_code == 422
    assert count(PressRelease) == 0


def test_attach_a_pdf_and_an_image_then_remove_them(client, files):
    release = PressRelease(
        slug="communique",
        title="Communiqué",
        dateline_date=date(2021, 2, 22),
        published_at=datetime(2021, 2, 22, 8, 0, tzinfo=UTC),
    )
    db.session.add(release)
    db.session.commit()
    signed_in(client)
    post = Poster(client)
    response = post(
        f"/admin/press/releases/{release.id}/attachments",
        {
            "title": "Dossier de presse",
            "file": (io.BytesIO(b"%PDF-1.4\n...\n%%EOF\n"), "dossier.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    attachment = db.session.scalars(select(PressAttachment)).one()
    assert (files / attachment.stored_name).exists()
    refused = post(
        f"/admin/press/releases/{release.id}/attachments",
        {
            "title": "Faux",
            "file": (io.BytesIO(b"MZ not a pdf"), "faux.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert "n'est pas un PDF" in text(client.get(refused.headers["Location"]))
    assert count(PressAttachment) == 1
    # An image needs its description.
    form = {**RELEASE, "slug": "communique", "published_at": "2021-02-22T09:00"}
    no_alt = post(
        f"/admin/press/releases/{release.id}",
        {**form, "image": (io.BytesIO(png()), "photo.png")},
        content_type="multipart/form-data",
    )
    assert no_alt.status_code == 422
    ok = post(
        f"/admin/press/releases/{release.id}",
        {
            **form,
            "image_alt": "Trois élus devant une carte",
            "image": (io.BytesIO(png()), "photo.png"),
        },
        content_type="multipart/form-data",
    )
    assert ok.status_code == 303
    db.session.refresh(release)
    assert release.image_alt == "Trois élus devant une carte" and release.image_width == 40
    image = client.get(f"/admin/press/releases/{release.id}/image")
    assert image.status_code == 200
    image.close()
    stored_name = attachment.stored_name
    post(f"/admin/press/releases/{release.id}/attachments/{attachment.id}/delete")
    assert count(PressAttachment) == 0 and not (files / stored_name).exists()


def test_delete_a_release_with_its_files(client, files):
    release = PressRelease(slug="a-supprimer", title="À supprimer", dateline_date=date(2021, 1, 1))
    db.session.add(release)
    db.session.commit()
    release_id = release.id
    signed_in(client)
    assert client.get(f"/admin/press/releases/{release_id}/delete").status_code == 200
    assert Poster(client)(f"/admin/press/releases/{release_id}/delete").status_code == 303
    assert count(PressRelease) == 0
    assert audit_actions() == ["press_release.delete"]


def test_create_edit_and_delete_a_press_contact(client):
    signed_in(client)
    post = Poster(client)
    contact = {
        "name": "Martin Besnier",
        "email": "mbesnier@rtes.fr",
        "phone": "07 81 50 06 46",
        "social_handle": "@ReseauRTES",
        "city": "Lille",
        "is_default": "y",
        "position": "0",
    }
    assert post("/admin/press/contacts/new", contact).status_code == 303
    saved = db.session.scalars(select(PressContact)).one()
    assert saved.phone == "07 81 50 06 46" and saved.is_default
    assert "Martin Besnier" in text(client.get("/press"))
    bad = post(f"/admin/press/contacts/{saved.id}", {**contact, "phone": "pas un numéro"})
    assert bad.status_code == 422
    edited = post(f"/admin/press/contacts/{saved.id}", {**contact, "role": "Contact presse"})
    assert edited.status_code == 303
    db.session.refresh(saved)
    assert saved.role == "Contact presse"
    contact_id = saved.id
    assert post(f"/admin/press/contacts/{contact_id}/delete").status_code == 303
    assert count(PressContact) == 0
    assert audit_actions() == [
        "press_contact.create",
        "press_contact.update",
        "press_contact.delete",
    ]


def test_inquiries_are_listed_and_marked_handled(client):
    inquiry = PressInquiry(
        name="Claire Dumas",
        outlet="La Voix du Nord",
        email="claire@lvdn.fr",
        subject="Interview",
        message="Bonjour,\n<b>possible</b> jeudi ?",
    )
    db.session.add(inquiry)
    db.session.commit()
    signed_in(client)
    page = client.get("/admin/press/inquiries").get_data(as_text=True)
    assert "Interview" in page and "&lt;b&gt;possible&lt;/b&gt;" in page
    post = Poster(client)
    response = post(f"/admin/press/inquiries/{inquiry.id}/handled", {"handled": "1", "back": "new"})
    assert response.status_code == 303
    db.session.refresh(inquiry)
    assert inquiry.status == InquiryStatus.HANDLED and inquiry.handled_at is not None
    assert "Interview" not in text(client.get("/admin/press/inquiries"))
    assert "Interview" in text(client.get("/admin/press/inquiries?status=handled"))
    post(f"/admin/press/inquiries/{inquiry.id}/handled", {"handled": "0"})
    db.session.refresh(inquiry)
    assert inquiry.status == InquiryStatus.NEW and inquiry.handled_at is None
    assert audit_actions() == ["press_inquiry.handled", "press_inquiry.reopen"]


def add_numbered_inquiries(count: int) -> None:
    """Store `count` inquiries, subject "Question 000" the oldest, a minute apart."""
    start = datetime(2031, 1, 1, 9, 0, tzinfo=UTC)
    for number in range(count):
        db.session.add(
            PressInquiry(
                name="Claire Dumas",
                outlet="La Voix du Nord",
                email="claire@lvdn.fr",
                subject=f"Question {number:03d}",
                message="Bonjour",
                created_at=start + timedelta(minutes=number),
            )
        )
    db.session.commit()


def subjects(page: str) -> list[str]:
    """Return the subjects of the inquiries a page lists, in order."""
    return re.findall(r"<h2>(Question \d{3})</h2>", page)


def test_inquiries_come_fifty_to_a_page(client):
    # 20,000 inquiries made a 15 MB page (security finding 7).
    add_numbered_inquiries(120)
    signed_in(client)
    first = text(client.get("/admin/press/inquiries"))
    assert "120 demandes" in first
    assert subjects(first) == [f"Question {n:03d}" for n in range(119, 69, -1)]  # newest first
    nav = re.search(r'<nav class="pagination" aria-label="Pagination">(.*?)</nav>', first, re.S)
    assert nav, "a labelled navigation landmark"
    assert '<li aria-current="page">Page 1 sur 3</li>' in nav.group(1)
    assert 'href="/admin/press/inquiries?page=2&status=new" rel="next"' in nav.group(1)
    assert 'rel="prev"' not in nav.group(1)

    third = text(client.get("/admin/press/inquiries?page=3"))
    assert subjects(third) == [f"Question {n:03d}" for n in range(19, -1, -1)]
    assert '<li aria-current="page">Page 3 sur 3</li>' in third
    assert 'href="/admin/press/inquiries?page=2&status=new" rel="prev"' in third
    assert 'rel="next"' not in third

    # A page past the end shows the last one, like the other lists of the back office.
    assert subjects(text(client.get("/admin/press/inquiries?page=99"))) == subjects(third)


def test_marking_an_inquiry_handled_returns_to_its_page(client):
    add_numbered_inquiries(120)
    signed_in(client)
    inquiry = db.session.scalar(select(PressInquiry).filter_by(subject="Question 010"))
    page = client.get("/admin/press/inquiries?page=3").get_data(as_text=True)
    assert '<input type="hidden" name="page" value="3">' in page
    response = Poster(client)(
        f"/admin/press/inquiries/{inquiry.id}/handled", {"handled": "1", "back": "new", "page": "3"}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/admin/press/inquiries?status=new&page=3"
