"""Files of press releases, kept in the instance folder under names we generate.

A file is checked by its content, never by its name or the browser's content type: a press kit
must start with the PDF signature, an image must be a JPEG, PNG or WebP that Pillow can read.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from pathlib import Path
from typing import BinaryIO

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError

from eventapp.press.models import PressAttachment, PressRelease
from eventapp.uploads import UploadFolder, UploadRejected, check_pixels, random_name, read_bounded

PDF_SIGNATURE = b"%PDF-"
IMAGE_FORMATS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}
STORED_NAME = re.compile(r"^[0-9a-f]{32}\.(pdf|jpg|png|webp)$")
FILES = UploadFolder("PRESS_UPLOAD_FOLDER", STORED_NAME, "press file")


def upload_folder() -> Path:
    """Return the folder of press files (PRESS_UPLOAD_FOLDER, relative to the instance folder)."""
    return FILES.folder()


def stored_path(stored_name: str) -> Path:
    """Return where a generated name lives; refuse anything that is not one of ours."""
    return FILES.path(stored_name)


def remove_file(stored_name: str | None) -> None:
    """Delete a stored press file once the current transaction commits."""
    FILES.delete(stored_name)


def _write(data: bytes, extension: str) -> str:
    """Write the bytes under a new random name, atomically, and return that name."""
    return FILES.write(data, random_name(extension))


def safe_download_name(original: str, extension: str) -> str:
    """Keep the uploaded file's own name for the download, without path or control characters."""
    name = re.split(r"[\\/]", original or "")[-1]
    name = "".join(char for char in name if unicodedata.category(char)[0] != "C").strip(" .")
    stem = name[: -len(extension)] if name.lower().endswith(extension) else name
    return (stem[:120].strip() or "document") + extension


def add_pdf_attachment(
    release: PressRelease, stream: BinaryIO, title: str, original_name: str
) -> PressAttachment:
    """Store a PDF (the press kit) and attach it to the release; add, never commit."""
    data = read_bounded(stream, current_app.config["PRESS_MAX_ATTACHMENT_BYTES"])
    if not data.startswith(PDF_SIGNATURE):
        raise UploadRejected(_l("Ce fichier n'est pas un PDF."))
    attachment = PressAttachment(
        title=title,
        original_name=safe_download_name(original_name, ".pdf"),
        stored_name=_write(data, ".pdf"),
        content_type="application/pdf",
        size_bytes=len(data),
        position=len(release.attachments),
    )
    release.attachments.append(attachment)
    return attachment


def set_release_image(release: PressRelease, stream: BinaryIO, alt: str) -> None:
    """Store an image (JPEG, PNG or WebP) as the release's picture; add, never commit."""
    data = read_bounded(stream, current_app.config["PRESS_MAX_IMAGE_BYTES"])
    try:
        with warnings.catch_warnings():
            # A huge canvas in a small file is a decompression bomb: refuse it.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=list(IMAGE_FORMATS)) as image:
                image_format, (width, height) = image.format, image.size
                check_pixels(image.size)
                image.verify()
    except UploadRejected:
        raise  # already says what is wrong (a ValueError, which the next clause would swallow)
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
    ) as error:
        message = _l("Ce fichier n'est pas une image JPEG, PNG ou WebP lisible.")
        raise UploadRejected(message) from error
    release.image_filename = _write(data, IMAGE_FORMATS[image_format])
    release.image_alt = alt
    release.image_width, release.image_height = width, height
