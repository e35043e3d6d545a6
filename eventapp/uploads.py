"""Uploaded files kept in the instance folder under random names, in step with the database.

A file and the row that names it must live and die together. The row only exists once its
transaction commits, so the files written during a transaction are remembered (in the session's
`info`) and deleted if that transaction rolls back or ends without a commit; a file whose row is
being deleted is only removed once that deletion is committed, so a rolled-back delete keeps it.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask import Response, abort, current_app, send_from_directory
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from eventapp.extensions import db

log = logging.getLogger(__name__)

NAME_BYTES = 16  # 128 random bits: a name can be neither guessed nor collide
_PENDING = "eventapp.uploads.pending"  # key in Session.info: [(path, doomed, transaction)]


class UploadRejected(ValueError):
    """A file refused for what it is (empty, too large, not the expected kind); the message is
    shown to the organiser."""


class UploadNotStored(UploadRejected):
    """A good file the server could not write (disk full, folder read-only or missing); the
    forms show it like a refusal, and their rollback leaves no row naming a missing file."""


def read_bounded(stream: BinaryIO, limit: int) -> bytes:
    """Read an upload, at most one byte past `limit` bytes; refuse it empty or larger."""
    data = stream.read(limit + 1)
    check_size(data, limit)
    return data


def check_size(data: bytes, limit: int) -> None:
    """Refuse an empty file, or one larger than `limit` bytes."""
    if not data:
        raise UploadRejected(_l("Le fichier est vide."))
    if len(data) > limit:
        raise UploadRejected(
            _l(
                "Le fichier dépasse la taille maximale de %(size)s Mo.",
                size=format_decimal(round(limit / 1_000_000, 1)),
            )
        )


def check_pixels(size: tuple[int, int]) -> None:
    """Refuse a picture whose canvas exceeds UPLOAD_MAX_IMAGE_PIXELS; call it before decoding
    (Pillow reads the size from the header alone)."""
    width, height = size
    limit = current_app.config["UPLOAD_MAX_IMAGE_PIXELS"]
    if width * height > limit:
        raise UploadRejected(
            _l(
                "L'image est trop grande (%(width)s × %(height)s pixels) : "
                "elle doit compter au plus %(limit)s millions de pixels.",
                width=format_decimal(width),
                height=format_decimal(height),
                limit=format_decimal(round(limit / 1_000_000, 1)),
            )
        )


def random_name(extension: str) -> str:
    """Return a new name of 32 hex digits (128 random bits) followed by `extension`."""
    return secrets.token_hex(NAME_BYTES) + extension


@dataclass(frozen=True)
class UploadFolder:
    """A named sub-folder of the instance folder whose files all have names we generated."""

    setting: str  # config key giving the sub-folder, relative to the instance folder
    names: re.Pattern[str]  # the names this folder may hold; anything else is refused
    kind: str = "file"  # for error messages to developers

    def folder(self) -> Path:
        """Return the folder (from its config key, inside the instance folder)."""
        return Path(current_app.instance_path, current_app.config[self.setting])

    def path(self, name: str) -> Path:
        """Return where a stored name lives; refuse any name we would not have generated."""
        # The pattern is the real check; a separator or leading dot is refused whatever it says.
        if not self.names.fullmatch(name) or name.startswith(".") or re.search(r"[\\/]", name):
            raise ValueError(f"not a stored {self.kind} name: {name!r}")
        return self.folder() / name

    def write(self, data: bytes, name: str) -> str:
        """Write bytes atomically under `name` (see random_name) and return the name."""
        target = self.path(name)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # A file already there (a demo's fixed name) belongs to committed rows: keep it.
            is_new = not target.exists()
            handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".upload-")
        except OSError as error:
            raise self._not_stored(error) from error
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())  # a full disk says so here, not after the commit
            os.replace(temporary, target)
        except BaseException as error:
            Path(temporary).unlink(missing_ok=True)
            if isinstance(error, OSError):
                raise self._not_stored(error) from error
            raise
        if is_new:
            _remember(target, doomed=False)
        return name

    def _not_stored(self, error: OSError) -> UploadNotStored:
        # The operator's line: which folder, and what the system said.
        log.error("upload folder %s not writable: %s", self.folder(), error)
        return UploadNotStored(
            _l(
                "Le fichier n'a pas pu être enregistré sur le serveur (espace plein ou dossier "
                "protégé en écriture) : rien n'a été modifié. Réessayez plus tard ou prévenez "
                "la personne qui administre le site."
            )
        )

    def read(self, name: str) -> bytes:
        """Return the bytes of a stored file."""
        return self.path(name).read_bytes()

    def send(self, name: str, **options) -> Response:
        """Send a stored file (404 for a name not ours or missing), never type-sniffed."""
        try:
            self.path(name)
        except ValueError:
            abort(404)
        response = send_from_directory(self.folder(), name, **options)
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response

    def delete(self, name: str | None) -> None:
        """Delete a stored file once the current transaction commits; call it before the commit."""
        if not name:
            return
        path = self.path(name)
        # Outside a transaction there is nothing left to commit. After a commit, reading an
        # expired attribute opens a new one, which may never commit: hence "before the commit".
        if db.session().in_transaction():
            _remember(path, doomed=True)
        else:
            _unlink([path])


def _remember(path: Path, doomed: bool) -> None:
    """Tie a file just written (or to delete) to the innermost transaction of the session."""
    session = db.session()
    transaction = session.get_nested_transaction() or session.get_transaction() or session.begin()
    session.info.setdefault(_PENDING, []).append((path, doomed, transaction))


def _unlink(paths: Iterable[Path]) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            # The database has already moved on: a file left behind is better than an error.
            log.warning("could not delete stored file %s", path, exc_info=True)


def _is_within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


def _discard(session: Session, ended: SessionTransaction) -> None:
    """Undo what `ended` (and the savepoints inside it) did: delete its files, keep the rest."""
    pending = session.info.get(_PENDING)
    if not pending:
        return
    kept, undone = [], []
    for entry in pending:
        (undone if _is_within(entry[2], ended) else kept).append(entry)
    session.info[_PENDING] = kept
    _unlink(path for path, doomed, _ in undone if not doomed)


@event.listens_for(db.session, "after_commit")
def _after_commit(session: Session) -> None:
    # Also fired when a savepoint is released: the enclosing transaction may still roll back.
    if session.in_nested_transaction():
        return
    pending = session.info.pop(_PENDING, [])
    _unlink(path for path, doomed, _ in pending if doomed)


@event.listens_for(db.session, "after_soft_rollback")
def _after_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    # Fired for every rollback, a savepoint's included (after_rollback skips some of those).
    _discard(session, previous_transaction)


@event.listens_for(db.session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction also ends without a rollback event when the session is closed
    # (db.session.remove() at the end of every request); a commit has already taken its files.
    if transaction.parent is None:
        _discard(session, transaction)
