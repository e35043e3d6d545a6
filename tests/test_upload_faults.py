"""An upload folder full or read-only: the back-office form says so, and nothing is half written
(no row naming a missing file, no file without its row).

The faults are real: a tmpfs mounted over the folder, tiny or read-only. Mounting needs root
(CI runs as root); elsewhere these tests skip.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from eventapp.aftermath.models import EventMaterial
from eventapp.extensions import db
from eventapp.kits.models import Sheet
from eventapp.models import now_utc
from eventapp.speakers.models import Speaker
from tests.admin_helpers import Poster, signed_in
from tests.factories import make_event
from tests.helpers import text
from tests.kit_helpers import make_kit, sample_pdf
from tests.test_admin_speakers import jpeg_with_exif

pytestmark = pytest.mark.parametrize("database_uri", ["sqlite"], indirect=True)

NOT_STORED = (
    "Le fichier n'a pas pu être enregistré sur le serveur (espace plein ou dossier protégé en "
    "écriture) : rien n'a été modifié."
)


def mount_tmpfs(folder: Path, *options: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", ",".join(("size=64k", *options)), "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")


@pytest.fixture
def faulty_folder(app, tmp_path):
    """Give the three upload folders one real tmpfs of 64 KiB; the test makes it read-only."""
    folder = tmp_path / "uploads"
    mount_tmpfs(folder)
    for setting in ("EVENT_UPLOAD_FOLDER", "KIT_UPLOAD_FOLDER", "SPEAKER_PHOTO_FOLDER"):
        app.config[setting] = str(folder)  # absolute: wins over the instance folder
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=False)


def read_only(folder: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def files_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())  # temporary files included


def big_pdf() -> bytes:
    """A PDF larger than the 64 KiB folder (a comment pads it): the disk fills up while it is
    written."""
    pdf = sample_pdf("Fiche")
    header = pdf.index(b"\n") + 1
    return pdf[:header] + b"%" + b"x" * 100_000 + b"\n" + pdf[header:]


def test_a_sheet_pdf_on_a_full_disk_is_refused_and_leaves_no_sheet(app, client, faulty_folder):
    kit = make_kit()
    signed_in(client)
    response = Poster(client)(
        f"/admin/kits/{kit.id}/sheets/new",
        {"number": "1", "title": "Tourisme et ESS", "pdf": (io.BytesIO(big_pdf()), "fiche.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert NOT_STORED in text(response)
    assert count(Sheet) == 0
    assert files_in(faulty_folder) == []


def test_a_material_in_a_read_only_folder_is_refused_and_leaves_no_row(
    app, client, faulty_folder, caplog
):
    event = make_event(starts_at=now_utc().replace(microsecond=0) - timedelta(hours=2))
    signed_in(client)
    read_only(faulty_folder)
    caplog.set_level(logging.ERROR)
    response = Poster(client)(
        f"/admin/events/{event.id}/aftermath/materials",
        {
            "title": "Compte rendu",
            "file": (io.BytesIO(sample_pdf("Compte rendu")), "compte-rendu.pdf"),
            "accessible": "y",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert NOT_STORED in text(response)
    assert count(EventMaterial) == 0
    assert files_in(faulty_folder) == []
    assert any(
        r.getMessage().startswith(f"upload folder {faulty_folder} not writable:")
        and "Read-only file system" in r.getMessage()
        for r in caplog.records
    )


def test_a_speaker_whose_photo_cannot_be_written_is_not_created(app, client, faulty_folder):
    signed_in(client)
    read_only(faulty_folder)
    response = Poster(client)(
        "/admin/speakers/new",
        {
            "name": "Mahel Coppey",
            "role_line": "Présidente du RTES",
            "photo": (io.BytesIO(jpeg_with_exif()), "portrait.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert NOT_STORED in text(response)
    assert 'value="Mahel Coppey"' in text(response)  # what was typed is kept
    assert count(Speaker) == 0


def test_the_second_file_failing_takes_the_first_one_away_with_the_row(app, client, faulty_folder):
    event = make_event(starts_at=now_utc().replace(microsecond=0) - timedelta(hours=2))
    signed_in(client)
    response = Poster(client)(
        f"/admin/events/{event.id}/aftermath/materials",
        {
            "title": "Diaporama",
            "file": (io.BytesIO(sample_pdf("Diaporama")), "diaporama.pdf"),
            "alternative": (io.BytesIO(big_pdf()), "diaporama-accessible.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert NOT_STORED in text(response)
    assert count(EventMaterial) == 0
    assert files_in(faulty_folder) == []  # the first file, written, went with the rollback
