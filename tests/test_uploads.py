"""Stored uploads follow the database: a rolled-back file goes, a deletion waits for the commit."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy.exc import IntegrityError

from eventapp.extensions import db
from eventapp.kits import uploads as kit_uploads
from eventapp.speakers.models import Speaker
from eventapp.speakers.photos import PHOTOS, remove_photo_file, set_speaker_photo
from eventapp.uploads import random_name
from tests.admin_helpers import Poster, cheap_hashing, signed_in  # noqa: F401 - autouse fixture
from tests.factories import make_speaker
from tests.kit_helpers import make_kit, make_sheet, sample_pdf


@pytest.fixture
def photos(app) -> Path:
    """The speaker photo folder inside this test's own instance folder."""
    folder = Path(app.instance_path, app.config["SPEAKER_PHOTO_FOLDER"])
    assert folder.is_relative_to(app.instance_path)
    return folder


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 60)).save(buffer, format="PNG")
    return buffer.getvalue()


def files(folder: Path) -> list[str]:
    """Return the names in a folder, hidden temporary files included."""
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def with_photo(name: str) -> tuple[int, str]:
    """Add a speaker with a stored photo, committed; return its id and the photo's name."""
    speaker = make_speaker(name=name)
    set_speaker_photo(speaker, io.BytesIO(png()))
    found = speaker.id, speaker.photo_filename
    db.session.commit()
    return found


def test_a_random_name_has_128_bits_and_only_our_names_have_a_path(app):
    names = {random_name(".webp") for _ in range(100)}
    assert len(names) == 100
    assert all(re.fullmatch(r"[0-9a-f]{32}\.webp", name) for name in names)
    assert PHOTOS.path(next(iter(names))).parent == Path(app.instance_path, "uploads/speakers")
    for name in ("../" + "0" * 32 + ".webp", ".hidden.webp", "0" * 32 + ".png", ""):
        with pytest.raises(ValueError):
            PHOTOS.path(name)


def test_a_rolled_back_upload_leaves_no_file(app, photos):
    speaker = make_speaker(name="Sans suite")
    set_speaker_photo(speaker, io.BytesIO(png()))
    name = speaker.photo_filename
    assert files(photos) == [name]  # written at once, for the rest of the request to use
    db.session.rollback()
    assert files(photos) == []
    assert db.session.get(Speaker, speaker.id).photo_filename is None


def test_an_upload_whose_commit_fails_leaves_no_file(app, photos):
    speaker = make_speaker(name="Refusée")
    set_speaker_photo(speaker, io.BytesIO(png()))
    speaker.name = None  # NOT NULL: the commit fails in the database
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert files(photos) == []


def test_an_upload_never_committed_goes_when_the_session_is_closed(app, photos):
    # What happens to a request that fails: Flask-SQLAlchemy removes its session, no rollback.
    speaker = make_speaker(name="Erreur 500")
    set_speaker_photo(speaker, io.BytesIO(png()))
    assert len(files(photos)) == 1
    db.session.remove()
    assert files(photos) == []


def test_a_committed_upload_keeps_its_file(app, photos):
    speaker_id, name = with_photo("Gardée")
    assert files(photos) == [name]
    # Later transactions that roll back or just end do not touch a committed file.
    assert db.session.get(Speaker, speaker_id).photo_filename == name
    db.session.rollback()
    db.session.get(Speaker, speaker_id)
    db.session.remove()
    assert files(photos) == [name]
    assert PHOTOS.read(name).startswith(b"RIFF")  # the stored WebP


def test_a_rolled_back_deletion_keeps_the_file(app, photos):
    speaker_id, name = with_photo("Presque supprimée")
    speaker = db.session.get(Speaker, speaker_id)
    remove_photo_file(speaker.photo_filename)
    db.session.delete(speaker)
    db.session.flush()
    assert files(photos) == [name]  # not before the commit
    db.session.rollback()
    assert files(photos) == [name]
    assert db.session.get(Speaker, speaker_id).photo_filename == name
    db.session.commit()  # a later commit does not carry the forgotten deletion
    assert files(photos) == [name]


def test_a_committed_deletion_removes_the_file(app, photos):
    speaker_id, name = with_photo("Supprimée")
    speaker = db.session.get(Speaker, speaker_id)
    remove_photo_file(speaker.photo_filename)
    db.session.delete(speaker)
    db.session.commit()
    assert files(photos) == []
    assert db.session.get(Speaker, speaker_id) is None


def test_a_deletion_outside_a_transaction_is_immediate(app, photos):
    _, name = with_photo("Hors transaction")
    assert not db.session().in_transaction()
    remove_photo_file(name)
    assert files(photos) == []


def test_a_savepoint_rolled_back_takes_only_its_own_file(app, photos):
    kept, dropped = make_speaker(name="Avant"), make_speaker(name="Pendant")
    set_speaker_photo(kept, io.BytesIO(png()))
    kept_name = kept.photo_filename
    savepoint = db.session.begin_nested()
    set_speaker_photo(dropped, io.BytesIO(png()))
    dropped_name = dropped.photo_filename
    savepoint.rollback()
    assert files(photos) == [kept_name]
    db.session.commit()
    assert files(photos) == [kept_name] and dropped_name != kept_name


def test_a_deletion_in_a_released_savepoint_waits_for_the_real_commit(app, photos):
    speaker_id, name = with_photo("Sauvegarde")
    savepoint = db.session.begin_nested()
    remove_photo_file(name)
    db.session.get(Speaker, speaker_id).photo_filename = None
    savepoint.commit()  # RELEASE SAVEPOINT: the enclosing transaction may still roll back
    assert files(photos) == [name]
    db.session.rollback()
    assert files(photos) == [name]
    savepoint = db.session.begin_nested()
    remove_photo_file(name)
    db.session.get(Speaker, speaker_id).photo_filename = None
    savepoint.commit()
    db.session.commit()
    assert files(photos) == []


def test_rewriting_a_fixed_demo_name_then_rolling_back_keeps_the_file(app):
    stored = kit_uploads.write_file(sample_pdf("v1"), name="demo-fiche-1.pdf")
    db.session.commit()
    kit_uploads.write_file(sample_pdf("v2"), name=stored.name)
    db.session.rollback()
    # The committed rows name this file: a rollback must not take it away.
    assert kit_uploads.stored_path(stored.name).read_bytes() == sample_pdf("v2")


def test_a_refused_second_pdf_removes_the_first_and_keeps_the_committed_files(client):
    folder = Path(client.application.instance_path, client.application.config["KIT_UPLOAD_FOLDER"])
    kit = make_kit()
    sheet = make_sheet(kit, 1)
    kit_uploads.attach_pdf(sheet, io.BytesIO(sample_pdf("v1")))
    kit_uploads.attach_pdf(sheet, io.BytesIO(sample_pdf("balisé")), accessible=True)
    db.session.commit()
    before = files(folder)
    signed_in(client)
    response = Poster(client)(
        f"/admin/kits/{kit.id}/sheets/{sheet.id}",
        {
            "number": "1",
            "title": "Fiche",
            "pdf": (io.BytesIO(sample_pdf("v2")), "a.pdf"),
            "accessible_pdf": (io.BytesIO(b"<html>pas un pdf</html>"), "b.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    db.session.refresh(sheet)
    assert files(folder) == before == sorted([sheet.file_name, sheet.accessible_file_name])
