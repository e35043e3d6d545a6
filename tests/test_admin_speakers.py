"""Speakers in the back office, and their photos: images only, re-encoded, small, no metadata."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from eventapp.extensions import db
from eventapp.speakers.models import EventSpeaker, Speaker
from tests.admin_helpers import (  # noqa: F401 - cheap_hashing is an autouse fixture
    Poster,
    audit_actions,
    cheap_hashing,
    count,
    signed_in,
)
from tests.factories import add_speaker, make_event, make_speaker
from tests.helpers import text

GPS_IFD = 0x8825


@pytest.fixture
def photos(app, tmp_path):
    app.config["SPEAKER_PHOTO_FOLDER"] = str(tmp_path / "speakers")  # never the real instance
    return tmp_path / "speakers"


def jpeg_with_exif(size=(1600, 1200)) -> bytes:
    """A JPEG carrying what a phone puts in one: camera, author, GPS position, orientation."""
    image = Image.new("RGB", size, (200, 30, 90))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x013B] = "Secret Author"  # Artist
    exif[0x0112] = 6  # Orientation: rotate 90° to display
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (50.0, 37.0, 59.0), 3: "E", 4: (3.0, 3.0, 50.0)})
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif, comment=b"secret comment")
    return buffer.getvalue()


def upload(post, speaker_id: int | None, data: bytes, filename: str, **fields):
    url = f"/admin/speakers/{speaker_id}" if speaker_id else "/admin/speakers/new"
    form = {
        "name": "Mahel Coppey",
        "role_line": "Présidente du RTES",
        **fields,
        "photo": (io.BytesIO(data), filename),
    }
    return post(url, form, content_type="multipart/form-data")


def test_create_edit_and_delete_a_speaker(client, photos):
    event = make_event()
    signed_in(client)
    post = Poster(client)
    response = post(
        "/admin/speakers/new",
        {
            "name": "Mahel Coppey",
            "role_line": "Présidente du RTES",
            "bio": "Élue **locale**.",
            "links": "https://www.rtes.fr\r\nhttps://social.example/@mahel",
        },
    )
    assert response.status_code == 303
    speaker = db.session.scalars(select(Speaker)).one()
    assert speaker.links == ["https://www.rtes.fr", "https://social.example/@mahel"]
    assert speaker.bio == "Élue **locale**."
    response = post(
        f"/admin/speakers/{speaker.id}",
        {"name": "Mahel Coppey", "role_line": "Présidente", "links": ""},
    )
    assert response.status_code == 303
    db.session.refresh(speaker)
    assert speaker.role_line == "Présidente" and speaker.links == []
    add_speaker(event, speaker)
    speaker_id = speaker.id
    page = client.get(f"/admin/speakers/{speaker_id}/delete")
    assert "retirée de 1 événement" in text(page)
    assert post(f"/admin/speakers/{speaker_id}/delete").status_code == 303
    assert count(Speaker) == 0 and count(EventSpeaker) == 0
    assert audit_actions() == ["speaker.create", "speaker.update", "speaker.delete"]


def test_a_bad_link_is_refused_and_nothing_changes(client):
    speaker = make_speaker(name="Avant")
    signed_in(client)
    response = Poster(client)(
        f"/admin/speakers/{speaker.id}", {"name": "Après", "links": "javascript:alert(1)"}
    )
    assert response.status_code == 422
    db.session.refresh(speaker)
    assert speaker.name == "Avant"


def test_a_photo_is_resized_re_encoded_and_stripped_of_metadata(client, photos):
    original = jpeg_with_exif()
    with Image.open(io.BytesIO(original)) as check:  # the fixture really carries the metadata
        assert check.getexif()[0x013B] == "Secret Author"
        assert check.getexif().get_ifd(GPS_IFD)
    signed_in(client)
    response = upload(Poster(client), None, original, "portrait.jpg")
    assert response.status_code == 303
    speaker = db.session.scalars(select(Speaker)).one()
    assert re.fullmatch(r"[0-9a-f]{32}\.webp", speaker.photo_filename)
    stored = (photos / speaker.photo_filename).read_bytes()
    assert b"Secret Author" not in stored and b"PhoneMaker" not in stored
    assert b"secret comment" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.format == "WEBP"
        assert max(image.size) == 600
        # Orientation 6 was applied before the metadata went: the portrait stands upright.
        assert image.size == (450, 600)
        assert not image.getexif()
        assert not {"exif", "icc_profile", "xmp", "comment"} & set(image.info)

    served = client.get(f"/speakers/photos/{speaker.photo_filename}")
    assert served.status_code == 200
    assert served.mimetype == "image/webp"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.data == stored
    served.close()


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"Ceci n'est pas une image.\n", "photo.jpg"),
        (b"%PDF-1.4\n%%EOF\n", "photo.png"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>", "photo.svg"),
        (jpeg_with_exif()[:400], "tronquee.jpg"),
    ],
)
def test_anything_but_a_readable_image_is_refused(client, photos, data, filename):
    speaker = make_speaker(name="Sans photo")
    signed_in(client)
    response = upload(Poster(client), speaker.id, data, filename, name="Nouveau nom")
    assert response.status_code == 422
    assert "n'est pas une image JPEG, PNG, WebP ou GIF lisible" in text(response)
    db.session.refresh(speaker)
    assert speaker.photo_filename is None
    assert speaker.name == "Sans photo"  # the rest of the form was not saved either
    assert not photos.exists() or not any(photos.iterdir())
    assert audit_actions() == []


def test_a_photo_too_large_is_refused(app, client, photos):
    app.config["SPEAKER_PHOTO_MAX_BYTES"] = 1000
    signed_in(client)
    response = upload(Poster(client), None, jpeg_with_exif(), "grande.jpg")
    assert response.status_code == 422
    assert count(Speaker) == 0


def test_replacing_and_removing_a_photo_deletes_the_old_file(client, photos):
    signed_in(client)
    post = Poster(client)
    upload(post, None, jpeg_with_exif(), "un.jpg")
    speaker = db.session.scalars(select(Speaker)).one()
    first = speaker.photo_filename
    png = io.BytesIO()
    Image.new("RGBA", (300, 300), (0, 0, 0, 0)).save(png, format="PNG")
    upload(post, speaker.id, png.getvalue(), "deux.png")
    db.session.refresh(speaker)
    assert speaker.photo_filename != first
    assert not (photos / first).exists() and (photos / speaker.photo_filename).exists()
    second = speaker.photo_filename
    post(f"/admin/speakers/{speaker.id}", {"name": "Mahel Coppey", "remove_photo": "y"})
    db.session.refresh(speaker)
    assert speaker.photo_filename is None
    assert not (photos / second).exists()


def test_public_pages_show_the_photo_with_the_name_as_alt_text(client, photos):
    event = make_event()
    signed_in(client)
    upload(Poster(client), None, jpeg_with_exif(), "portrait.jpg")
    speaker = db.session.scalars(select(Speaker)).one()
    add_speaker(event, speaker)
    img = f'src="/speakers/photos/{speaker.photo_filename}" alt="Mahel Coppey"'
    assert img in client.get(f"/events/{event.slug}").get_data(as_text=True)
    assert img in client.get("/speakers").get_data(as_text=True)


def test_photo_names_that_are_not_ours_are_not_served(client, photos):
    for name in ("../config.py", "x.webp", "a" * 32 + ".jpg"):
        assert client.get(f"/speakers/photos/{name}").status_code == 404
