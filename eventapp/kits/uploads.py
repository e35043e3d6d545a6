"""Sheet PDFs, checked by their content and kept in the instance folder under names we generate.

The uploaded file's own name is never used: not to store the file (a random name), not to serve
it (looked up by the sheet), not to name the download (the sheet's number and title).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import BinaryIO, NamedTuple

from flask import current_app
from flask_babel import lazy_gettext as _l

from eventapp.kits.models import Sheet
from eventapp.uploads import UploadFolder, UploadRejected, check_size, random_name

PDF_SIGNATURE = b"%PDF-"
PDF_END = b"%%EOF"
# Readers accept the end marker anywhere in the last kilobyte (trailing blank lines, padding).
PDF_END_WINDOW = 1024
# Random names for uploads; fixed "demo-" names for the demo's placeholders (written once).
STORED_NAME = re.compile(r"^(?:[0-9a-f]{32}|demo-[a-z0-9-]{1,60})\.pdf$")
FILES = UploadFolder("KIT_UPLOAD_FOLDER", STORED_NAME, "sheet file")


class StoredFile(NamedTuple):
    name: str
    size: int


def upload_folder() -> Path:
    """Return the folder of sheet files (KIT_UPLOAD_FOLDER, relative to the instance folder)."""
    return FILES.folder()


def stored_path(name: str) -> Path:
    """Return where a generated name lives; refuse anything that is not one of ours."""
    return FILES.path(name)


def check_pdf(data: bytes, limit: int) -> None:
    """Refuse what is empty, larger than `limit` bytes, or not a PDF by its content."""
    check_size(data, limit)
    if not data.startswith(PDF_SIGNATURE) or PDF_END not in data[-PDF_END_WINDOW:]:
        raise UploadRejected(_l("Ce fichier n'est pas un PDF complet."))


def read_pdf(stream: BinaryIO, limit: int | None = None) -> bytes:
    """Read at most one byte past the limit, and check that what came is a PDF."""
    limit = limit or current_app.config["KIT_MAX_PDF_BYTES"]
    data = stream.read(limit + 1)
    check_pdf(data, limit)
    return data


def write_file(data: bytes, name: str | None = None) -> StoredFile:
    """Write bytes under a new random name (or a fixed demo name), atomically."""
    return StoredFile(FILES.write(data, name or random_name(".pdf")), len(data))


def attach_pdf(sheet: Sheet, stream: BinaryIO, *, accessible: bool = False) -> str | None:
    """Store a PDF as the sheet's file (or its accessible version); add, never commit.

    Return the name of the file it replaces, for the caller to pass to remove_file before its
    commit.
    """
    stored = write_file(read_pdf(stream))
    if accessible:
        previous = sheet.accessible_file_name
        sheet.accessible_file_name, sheet.accessible_file_size = stored
    else:
        previous = sheet.file_name
        sheet.file_name, sheet.file_size = stored
    return previous


def remove_file(name: str | None) -> None:
    """Delete a stored file that nothing will point to once the current transaction commits."""
    FILES.delete(name)
