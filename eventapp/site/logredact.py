"""Secrets in link paths (/r/<token>, /j/<token>, kit confirm and unsubscribe links) never reach
the access logs: a filter on werkzeug's and gunicorn's access loggers redacts them."""

from __future__ import annotations

import logging
import re
from typing import Any

# Each path whose segment after it is a secret; keep in step with the routes that take <token>.
SECRET_PATH = re.compile(
    r"(/(?:r|j|s)/|/subscribe/confirm/|/unsubscribe/|/rooms/\d+/ended/|/attestations/)"
    r"[^/?#\s\"']+"
)
REDACTED = r"\1[redacted]"
ACCESS_LOGGERS = ("werkzeug", "gunicorn.access")


def redact(text: str) -> str:
    """Replace every secret path segment of a text by "[redacted]"."""
    return SECRET_PATH.sub(REDACTED, text)


def _redacted(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactSecrets(logging.Filter):
    """Rewrite a log record's message and arguments without secret path segments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, dict):  # gunicorn's access log: a dict of atoms
            record.args = {key: _redacted(value) for key, value in record.args.items()}
        elif isinstance(record.args, tuple):  # werkzeug's: the request line among the args
            record.args = tuple(_redacted(value) for value in record.args)
        return True


def redact_access_logs() -> None:
    """Install the filter on the access loggers, once per process."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
