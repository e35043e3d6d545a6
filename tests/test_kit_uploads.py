"""Sheet files: checked by content, stored under our names, served by sheet; downloads; demo."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from eventapp.demo import LAUNCH_SLUG, load_demo
from eventapp.extensions import db
from eventapp.kits import uploads
from eventapp.kits.demo import KIT_SLUG
from eventapp.kits.models import Kit, Sheet
from eventapp.kits.placeholder import placeholder_pdf
from eventapp.models import now_utc
from tests.helpers import text
from tests.kit_helpers import make_kit, make_sheet, sample_pdf

# The start of a Windows executable, renamed .pdf by whoever uploads it.
EXE = b"MZ\x90\x00\x03\x00" + b"\x00" * 200 + b"This program cannot be run in DOS mode."


@pytest.fixture
def folder(app, tmp_path):
    """Keep this test's sheet files in a folder of its own."""
    path = tmp_path / "sheets"
    app.config["KIT_UPLOAD_FOLDER"] = str(path)  # absolute: wins over the instance folder
    return path


def fetch(client, url: str, method: str = "GET", **options):
    """Make a request and close its response (a sent file stays open until then)."""
    response = client.open(url, method=method, **options)
    response.get_data()
    response.close()
    return response


def released_sheet(**fields) -> Sheet:
    kit = make_kit()
    return make_sheet(kit, 7, now_utc() - timedelta(days=1), title="Tourisme et ESS", **fields)


def test_a_renamed_exe_is_refused_and_nothing_is_stored(app, folder):
    sheet = released_sheet()
    with pytest.raises(uploads.UploadRejected, match="pas un PDF"):
        uploads.attach_pdf(
            sheet,
            FileStorage(io.BytesIO(EXE), filename="fiche.pdf", content_type="application/pdf"),
        )
    assert sheet.file_name is None
    assert not folder.exists() or list(folder.iterdir()) == []


def test_a_pdf_without_its_end_or_an_empty_file_is_refused(app, folder):
    sheet = released_sheet()
    truncated = sample_pdf()[:-200]
    for data in (truncated, b""):
        with pytest.raises(uploads.UploadRejected):
            uploads.attach_pdf(sheet, io.BytesIO(data))
    assert sheet.file_name is None


def test_an_oversized_file_is_refused_after_reading_just_past_the_limit(app, folder):
    app.config["KIT_MAX_PDF_BYTES"] = 2000
    sheet = released_sheet()
    big = placeholder_pdf(["x" * 60] * 60)
    assert len(big) > 2000

    class CountingStream(io.BytesIO):
        read_sizes: list[int] = []

        def read(self, size=-1):
            self.read_sizes.append(size)
            return super().read(size)

    stream = CountingStream(big)
    with pytest.raises(uploads.UploadRejected, match="taille maximale"):
        uploads.attach_pdf(sheet, stream)
    assert stream.read_sizes == [2001]  # never the whole file in memory
    assert sheet.file_name is None


def test_a_path_in_the_uploaded_name_never_reaches_the_file_system(app, client, folder, tmp_path):
    sheet = released_sheet()
    upload = FileStorage(io.BytesIO(sample_pdf("n°7")), filename="../../../escaped.pdf")
    assert uploads.attach_pdf(sheet, upload) is None
    db.session.commit()
    assert uploads.STORED_NAME.match(sheet.file_name) and sheet.file_name != "escaped.pdf"
    assert [p.name for p in folder.iterdir()] == [sheet.file_name]
    assert not any(tmp_path.rglob("escaped.pdf"))
    # The name in the URL is for people: a path there is ignored, the sheet decides the file.
    url = f"/kits/{sheet.kit.slug}/sheets/7/download/..%2F..%2F..%2Fetc%2Fpasswd"
    response = fetch(client, url)
    assert response.status_code == 200 and response.data == sample_pdf("n°7")
    with pytest.raises(ValueError):
        uploads.stored_path("../" + sheet.file_name)


def test_a_download_has_the_pdf_type_a_clear_name_and_is_counted(app, client, folder):
    sheet = released_sheet()
    uploads.attach_pdf(sheet, io.BytesIO(sample_pdf()))
    db.session.commit()
    url = f"/kits/{sheet.kit.slug}/sheets/7/download/{sheet.download_name}"
    response = fetch(client, url)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    disposition = response.headers["Content-Disposition"]
    assert disposition == "attachment; filename=fiche-07-tourisme-et-ess.pdf"
    assert fetch(client, url, "HEAD").status_code == 200  # not a download
    assert fetch(client, url, headers={"Range": "bytes=100-200"}).status_code == 206  # a viewer's
    db.session.expire_all()
    assert sheet.download_count == 1
    assert "1 téléchargement" in text(client.get(f"/kits/{sheet.kit.slug}/sheets/7"))


def test_a_sheet_not_yet_released_cannot_be_downloaded(app, client, folder):
    kit = make_kit()
    sheet = make_sheet(kit, 1, now_utc() + timedelta(hours=1))
    uploads.attach_pdf(sheet, io.BytesIO(sample_pdf()))
    db.session.commit()
    url = f"/kits/{kit.slug}/sheets/1/download/{sheet.download_name}"
    assert client.get(url).status_code == 404
    assert client.get(f"/kits/{kit.slug}/sheets/1/accessible/x.pdf").status_code == 404


def test_concurrent_downloads_lose_no_count(app, folder):
    sheet = released_sheet()
    uploads.attach_pdf(sheet, io.BytesIO(sample_pdf()))
    db.session.commit()
    url = f"/kits/{sheet.kit.slug}/sheets/7/download/{sheet.download_name}"
    statuses: list[int] = []

    def download_many() -> None:
        with app.app_context():  # the test client's own bookkeeping needs one
            client = app.test_client()
            for _ in range(10):
                statuses.append(fetch(client, url).status_code)
            db.session.remove()

    threads = [threading.Thread(target=download_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert statuses == [200] * 40
    db.session.expire_all()
    assert db.session.get(Sheet, sheet.id).download_count == 40


def test_an_accessible_version_is_offered_on_the_sheet_page(app, client, folder):
    sheet = released_sheet(accessible_body="## En bref\n\nLe tourisme **autrement**.")
    uploads.attach_pdf(sheet, io.BytesIO(sample_pdf("balisé")), accessible=True)
    db.session.commit()
    page = text(client.get(f"/kits/{sheet.kit.slug}/sheets/7"))
    assert "<strong>autrement</strong>" in page and "Version accessible (PDF balisé)" in page
    response = fetch(
        client, f"/kits/{sheet.kit.slug}/sheets/7/accessible/{sheet.accessible_download_name}"
    )
    assert response.data == sample_pdf("balisé")


def test_a_request_over_the_size_limit_gets_the_413_page(app, client):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    kit = make_kit()
    response = client.post(
        f"/kits/{kit.slug}/subscribe",
        data={"email": "a@example.org", "file": (io.BytesIO(b"%PDF-" + b"0" * 5000), "big.pdf")},
    )
    assert response.status_code == 413
    assert "Fichier trop volumineux" in text(response)


def test_the_upload_command_stores_a_pdf_and_refuses_anything_else(app, runner, folder, tmp_path):
    sheet = released_sheet()
    good, bad = tmp_path / "fiche.pdf", tmp_path / "setup.pdf"
    good.write_bytes(sample_pdf())
    bad.write_bytes(EXE)
    refused = runner.invoke(args=["kits", "upload", sheet.kit.slug, "7", str(bad)])
    assert refused.exit_code != 0 and "pas un PDF" in refused.output
    stored = runner.invoke(args=["kits", "upload", sheet.kit.slug, "7", str(good)])
    assert stored.exit_code == 0, stored.output
    db.session.expire_all()
    assert (folder / sheet.file_name).read_bytes() == sample_pdf()


def test_the_demo_kit_has_the_known_titles_none_out_before_its_launch_and_loads_once(
    app, client, folder
):
    now = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)  # a Saturday: the launch is Thursday 26
    for _ in range(2):
        load_demo(now=now)
        db.session.commit()
    kit = db.session.scalars(select(Kit).where(Kit.slug == KIT_SLUG)).one()
    titles = {sheet.number: sheet.title for sheet in kit.sheets}
    assert len(titles) == 20
    assert titles[7] == "Tourisme et ESS" and titles[11] == "Commande publique responsable"
    assert titles[16] == "Mobilité durable & ESS" and titles[19] == "Tiers-lieux & ESS"
    assert db.session.scalar(select(func.count()).select_from(Sheet)) == 20
    # The launch announces the sheets: none is out before it, n°1 comes out as it ends.
    assert [s.number for s in kit.sheets if s.is_released(now)] == []
    launch = next(event for event in kit.events if event.slug == LAUNCH_SLUG)
    assert kit.sheets[0].release_at == launch.ends_at
    # Every Thursday at the end of the launch webinar (14:00 Paris).
    assert all(s.release_at.weekday() == 3 for s in kit.sheets)
    assert all(s.notified_at is None for s in kit.sheets)
    for sheet in kit.sheets:
        data = (folder / sheet.file_name).read_bytes()
        uploads.check_pdf(data, 100_000)


def test_the_demo_as_published_keeps_the_2021_calendar(app, folder):
    load_demo(as_published=True)
    db.session.commit()
    kit = db.session.scalars(select(Kit).where(Kit.slug == KIT_SLUG)).one()
    assert kit.sheets[0].release_at == datetime(2021, 2, 25, 13, 0, tzinfo=UTC)
    assert kit.sheets[6].release_at == datetime(2021, 4, 8, 12, 0, tzinfo=UTC)  # summer time
