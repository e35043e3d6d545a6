"""Speaker photos: checked by opening them, re-encoded small, without metadata; served publicly.

What an organiser uploads is never served as it came: Pillow must decode it as a JPEG, PNG,
WebP or GIF picture, which is then turned the right way up, shrunk to fit SPEAKER_PHOTO_SIZE
pixels, copied pixel by pixel into a new image (no EXIF, GPS, XMP or ICC data survives) and
stored as WebP under a random name.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path
from typing import BinaryIO

from flask import Blueprint, Response, current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError

from eventapp.speakers.models import Speaker
from eventapp.uploads import (
    UploadFolder,
    UploadRejected,
    check_pixels,
    random_name,
    read_bounded,
)

ACCEPTED_FORMATS = ["JPEG", "PNG", "WEBP", "GIF"]
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.webp$")
PHOTOS = UploadFolder("SPEAKER_PHOTO_FOLDER", STORED_NAME, "photo")
WEBP_QUALITY = 82

bp = Blueprint("speaker_photos", __name__)


def photo_folder() -> Path:
    """Return the folder of speaker photos (SPEAKER_PHOTO_FOLDER, in the instance folder)."""
    return PHOTOS.folder()


def photo_path(name: str) -> Path:
    """Return where a stored photo lives; refuse any name we did not generate."""
    return PHOTOS.path(name)


def clean_photo(data: bytes) -> bytes:
    """Decode a picture and return it re-encoded as a small WebP without any metadata."""
    size = current_app.config["SPEAKER_PHOTO_SIZE"]
    try:
        with warnings.catch_warnings():
            # A huge canvas in a small file is a decompression bomb: refuse it.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as opened:
                check_pixels(opened.size)
                opened.seek(0)  # an animated GIF gives its first frame
                opened.load()  # decode it all now: a truncated file fails here
                image = ImageOps.exif_transpose(opened)  # the right way up before EXIF goes
    except UploadRejected:
        raise  # already says what is wrong (a ValueError, which the next clause would swallow)
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
        EOFError,
    ) as error:
        raise UploadRejected(
            _l("Ce fichier n'est pas une image JPEG, PNG, WebP ou GIF lisible.")
        ) from error
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    image = image.convert("RGBA" if has_alpha else "RGB")
    image.thumbnail((size, size), Image.Resampling.LANCZOS)
    # A new image from the bare pixels: nothing of the file's metadata can follow.
    bare = Image.frombytes(image.mode, image.size, image.tobytes())
    output = io.BytesIO()
    bare.save(output, format="WEBP", quality=WEBP_QUALITY)
    return output.getvalue()


def set_speaker_photo(speaker: Speaker, stream: BinaryIO) -> str | None:
    """Store a cleaned copy of the upload as the speaker's photo; add, never commit.

    Return the name of the photo it replaces, for the caller to pass to remove_photo_file before
    its commit.
    """
    cleaned = clean_photo(read_bounded(stream, current_app.config["SPEAKER_PHOTO_MAX_BYTES"]))
    previous = speaker.photo_filename
    speaker.photo_filename = PHOTOS.write(cleaned, random_name(".webp"))
    return previous


def remove_photo_file(name: str | None) -> None:
    """Delete a stored photo that nothing will point to once the current transaction commits."""
    if name and STORED_NAME.match(name):
        PHOTOS.delete(name)


@bp.get("/speakers/photos/<name>")
def photo(name: str) -> Response:
    """Send a speaker's photo; names are random and never reused, so it may be cached for good."""
    response = PHOTOS.send(name, mimetype="image/webp", max_age=365 * 24 * 3600)
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response
