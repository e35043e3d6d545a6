"""Material and transcript files: checked by their content, stored under names we generate.

The uploaded file's own name only gives its extension, which must agree with the content; it is
never used to store the file (a random name) nor to name the download (the material's title).
"""

from __future__ import annotations

import re
from typing import BinaryIO

from flask import Response, current_app
from flask_babel import lazy_gettext as _l

from eventapp.kits.uploads import check_pdf
from eventapp.uploads import UploadFolder, UploadRejected, check_size, random_name

ZIP_SIGNATURE = b"PK\x03\x04"  # Office Open XML and OpenDocument files are ZIP archives
CONTENT_TYPES = {
    ".pdf": "application/pdf",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".txt": "text/plain",  # werkzeug adds "; charset=utf-8" to text/* types
    ".vtt": "text/vtt",
    ".srt": "application/x-subrip; charset=utf-8",
}
MATERIAL_EXTENSIONS = (".pdf", ".pptx", ".odp", ".docx", ".odt", ".xlsx", ".ods", ".txt")
TRANSCRIPT_EXTENSIONS = (".vtt", ".srt", ".txt", ".pdf", ".docx", ".odt")
# Labels for visitors: the kind of a file says which program opens it.
KIND_LABELS = {
    ".pdf": "PDF",
    ".pptx": "PowerPoint",
    ".docx": "Word",
    ".xlsx": "Excel",
    ".odp": "OpenDocument",
    ".odt": "OpenDocument",
    ".ods": "OpenDocument",
    ".txt": _l("texte"),
    ".vtt": _l("sous-titres WebVTT"),
    ".srt": _l("sous-titres SRT"),
}
STORED_NAME = re.compile(
    r"^(?:[0-9a-f]{32}|demo-[a-z0-9-]{1,60})(?:" + "|".join(map(re.escape, CONTENT_TYPES)) + r")$"
)
FILES = UploadFolder("EVENT_UPLOAD_FOLDER", STORED_NAME, "event material")


def extension(filename: str) -> str:
    """Return the lowercase extension of an uploaded file's name, dot included."""
    dot = filename.rfind(".")
    return filename[dot:].lower() if dot > 0 else ""


def check_content(data: bytes, ext: str, limit: int) -> None:
    """Refuse what is empty, too large, or whose content is not what its extension says."""
    check_size(data, limit)
    if ext == ".pdf":
        check_pdf(data, limit)
    elif ext in (".txt", ".vtt", ".srt"):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise UploadRejected(_l("Ce fichier texte n'est pas en UTF-8.")) from None
        if ext == ".vtt" and not text.startswith("WEBVTT"):
            raise UploadRejected(_l("Ce fichier n'est pas un fichier de sous-titres WebVTT."))
    elif not data.startswith(ZIP_SIGNATURE):
        raise UploadRejected(
            _l("Ce fichier n'est pas un document %(kind)s.", kind=KIND_LABELS[ext])
        )


def store(stream: BinaryIO, filename: str, allowed: tuple[str, ...]) -> tuple[str, int]:
    """Check an upload and write it under a new random name; return (name, size)."""
    ext = extension(filename)
    if ext not in allowed:
        raise UploadRejected(
            _l("Formats acceptés : %(formats)s.", formats=", ".join(e[1:] for e in allowed))
        )
    limit = current_app.config["EVENT_MAX_MATERIAL_BYTES"]
    data = stream.read(limit + 1)
    check_content(data, ext, limit)
    return FILES.write(data, random_name(ext)), len(data)


def write_file(data: bytes, name: str) -> str:
    """Write bytes under a given stored name (the demo's fixed names)."""
    return FILES.write(data, name)


def remove_file(name: str | None) -> None:
    """Delete a stored file once the current transaction commits; call it before the commit."""
    FILES.delete(name)


def send(name: str, download_name: str) -> Response:
    """Send a stored file under its download name; a PDF opens in the browser, the rest downloads."""
    ext = extension(name)
    response = FILES.send(
        name,
        download_name=download_name,
        as_attachment=ext != ".pdf",
        mimetype=CONTENT_TYPES.get(ext, "application/octet-stream"),
        max_age=3600,
    )
    return response


def kind_label(name: str) -> str:
    """Return what kind of file a stored name is, for visitors ("PDF", "PowerPoint"…)."""
    return str(KIND_LABELS.get(extension(name), extension(name)[1:].upper()))
