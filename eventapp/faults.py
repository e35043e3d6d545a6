"""Infrastructure faults: tell a database outage from a bug, and log an outage once when it
starts and once when it ends, whoever meets it (a web process, the worker)."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import exc

log = logging.getLogger(__name__)

# SQLite says "locked" or "busy" when another connection holds the write lock for longer than the
# busy timeout, and names a file it cannot open or a full disk; other SQLite errors are bugs.
_SQLITE_FAULTS = ("locked", "busy", "unable to open", "disk", "full", "readonly")


def is_database_outage(error: BaseException) -> bool:
    """Tell a fault of the database server or file (retry later) from a fault of the code (a bug)."""
    if isinstance(error, exc.TimeoutError):  # no pooled connection came free in time
        return True
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated or isinstance(error, exc.InterfaceError):
        return True
    if not isinstance(error, exc.OperationalError):
        return False
    if type(error.orig).__module__.startswith("sqlite3"):
        message = str(error.orig).lower()
        return any(fault in message for fault in _SQLITE_FAULTS)
    # PostgreSQL (psycopg): connection failures, shutdowns, too many clients, lock timeouts.
    return True


def is_locked(error: BaseException) -> bool:
    """Tell a database that answers but refuses writes (SQLite locked) from one that is gone."""
    return "locked" in str(getattr(error, "orig", error)).lower()


def one_line(error: BaseException) -> str:
    """The driver's message on one line, without SQLAlchemy's statement and parameters."""
    message = str(getattr(error, "orig", None) or error) or type(error).__name__
    return " ".join(message.split())[:300]


class OutageLog:
    """Log a fault once when it starts and once when it ends, with the count refused in between.

    One per process: each gunicorn worker says it once. Thread-safe: the threads of a process
    share it.
    """

    def __init__(
        self,
        part: str,
        logger: logging.Logger = log,
        meanwhile: str = "answering 503 until it is back",
        counted: tuple[str, str] = ("request refused", "requests refused"),
    ) -> None:
        self.part = part
        self.logger = logger
        self.meanwhile = meanwhile
        self.counted = counted
        self._lock = threading.Lock()
        self.down_since: float | None = None
        self.locked = False
        self.refused = 0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def refused_one(self, error: BaseException) -> None:
        """Count one refusal; the first of an outage writes the line an operator acts on."""
        with self._lock:
            self.refused += 1
            if self.down_since is not None:
                return
            self.down_since = time.monotonic()
            self.locked = is_locked(error)
        self.logger.error("%s unavailable, %s: %s", self.part, self.meanwhile, one_line(error))

    def back(self, *, wrote: bool = True) -> None:
        """Say the part works again, unless it was only locked and nothing was written yet."""
        if self.down_since is None:  # the usual case: no lock taken
            return
        with self._lock:
            if self.down_since is None or (self.locked and not wrote):
                return
            seconds = time.monotonic() - self.down_since
            refused, self.refused, self.down_since = self.refused, 0, None
        # Counted from the first refusal: a lock or an outage may have begun a timeout earlier.
        self.logger.warning(
            "%s back %.0f s after the first refusal; %d %s meanwhile",
            self.part,
            seconds,
            refused,
            self.counted[refused != 1],
        )
