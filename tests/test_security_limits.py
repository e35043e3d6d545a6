"""Limits a security review asked for: ids out of range, and other inputs sized to hurt."""

from __future__ import annotations

import io
import subprocess
import sys

import pytest
from PIL import Image
from sqlalchemy import select

from eventapp.extensions import db
from eventapp.speakers.models import Speaker
from tests.admin_helpers import Poster, count, login, make_user, signed_in
from tests.factories import make_event
from tests.helpers import text
from tests.kit_helpers import make_kit

HUGE = "99999999999999999999"  # past any integer column, SQLite's 64 bits included
PAST_INTEGER = str(2**31)  # past PostgreSQL's INTEGER


@pytest.mark.parametrize("number", [HUGE, PAST_INTEGER])
def test_an_out_of_range_id_in_a_public_url_is_not_found(app, client, number):
    kit = make_kit(make_event(), published=True)
    assert client.get(f"/kits/{kit.slug}").status_code == 200  # so the sheet is looked up
    assert client.get(f"/press/contacts/{number}.vcf").status_code == 404
    assert client.get(f"/kits/{kit.slug}/sheets/{number}").status_code == 404


@pytest.mark.parametrize("number", [HUGE, PAST_INTEGER])
def test_an_out_of_range_id_in_the_back_office_is_not_found(app, client, number):
    login(client, make_user())
    assert client.get(f"/admin/events/{number}").status_code == 404
    assert client.get(f"/admin/mails/{number}").status_code == 404


def huge_canvas_png(width: int, height: int) -> bytes:
    """A valid PNG of a blank canvas: a few kilobytes of file, megapixels to decode."""
    buffer = io.BytesIO()
    Image.new("1", (width, height)).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def test_a_photo_with_a_huge_canvas_is_refused_before_it_is_decoded(app, client, tmp_path):
    app.config["SPEAKER_PHOTO_FOLDER"] = str(tmp_path / "speakers")
    data = huge_canvas_png(6000, 6000)  # 36 Mpx, under Pillow's own bomb threshold
    assert len(data) < 100_000
    signed_in(client)
    form = {"name": "Mahel Coppey", "role_line": "Présidente", "photo": (io.BytesIO(data), "a.png")}
    response = Poster(client)("/admin/speakers/new", form, content_type="multipart/form-data")
    assert response.status_code == 422
    message = " ".join(text(response).replace("\u00a0", " ").replace("\u202f", " ").split())
    assert "L'image est trop grande (6 000 × 6 000 pixels)" in message
    assert "au plus 25 millions de pixels" in message
    assert count(Speaker) == 0
    assert not (tmp_path / "speakers").exists() or not any((tmp_path / "speakers").iterdir())


def test_a_picture_under_the_pixel_cap_is_still_taken(app, client, tmp_path):
    app.config["SPEAKER_PHOTO_FOLDER"] = str(tmp_path / "speakers")
    signed_in(client)
    form = {
        "name": "Mahel Coppey",
        "role_line": "Présidente",
        "photo": (io.BytesIO(huge_canvas_png(2000, 2000)), "a.png"),
    }
    response = Poster(client)("/admin/speakers/new", form, content_type="multipart/form-data")
    assert response.status_code == 303
    assert db.session.scalars(select(Speaker)).one().photo_filename


# Run in a process of its own: in the test process an earlier app has always set the limiter up.
SIGN_IN_WITHOUT_LIMITS = """
import sys
from eventapp import create_app
from eventapp.auth.services import create_user
from eventapp.extensions import db
app = create_app({"TESTING": True, "SECRET_KEY": "s", "WTF_CSRF_ENABLED": False,
                  "RATELIMIT_ENABLED": False, "SQLALCHEMY_DATABASE_URI": sys.argv[1],
                  "ARGON2_TIME_COST": 1, "ARGON2_MEMORY_KIB": 1024, "ARGON2_PARALLELISM": 1})
with app.app_context():
    db.create_all()
    create_user("orga@example.org", "a long enough passphrase", name="Orga")
    db.session.commit()
client = app.test_client()
for password in ("wrong password!", "a long enough passphrase"):
    form = {"email": "orga@example.org", "password": password}
    print(client.post("/admin/login", data=form).status_code)
"""


def test_signing_in_works_with_the_rate_limits_turned_off(tmp_path):
    database = f"sqlite:///{tmp_path / 'limits-off.sqlite3'}"
    result = subprocess.run(
        [sys.executable, "-c", SIGN_IN_WITHOUT_LIMITS, database],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.split() == ["401", "303"], result.stderr[-2000:]


def test_limits_turned_off_in_one_app_stay_on_in_the_next(tmp_path):
    from eventapp import create_app
    from tests.conftest import base_config

    database = f"sqlite:///{tmp_path / 'limits.sqlite3'}"
    create_app({**base_config(database), "RATELIMIT_ENABLED": False})
    assert create_app(base_config(database)).config["RATELIMIT_ENABLED"] is True
