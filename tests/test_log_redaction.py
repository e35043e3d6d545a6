"""Access logs never carry the secrets of personal links (security finding 11)."""

from __future__ import annotations

import logging

from eventapp.site.logredact import RedactSecrets

SECRET = "q6b0Yy9kGkTn1m2p3r4s5t6u7v8w9x0yZaBcDeFgHiJ"


def werkzeug_record(path: str) -> logging.LogRecord:
    """A record shaped as werkzeug's development server logs a request."""
    return logging.LogRecord(
        "werkzeug", logging.INFO, __file__, 1, '%s - - [%s] "%s" %s %s',
        ("127.0.0.1", "03/Dec/2026 09:00:00", f"GET {path} HTTP/1.1", "200", "-"), None,
    )  # fmt: skip


def gunicorn_record(path: str) -> logging.LogRecord:
    """A record shaped as gunicorn's access log writes one: a dict of its atoms."""
    atoms = {"h": "127.0.0.1", "r": f"GET {path} HTTP/1.1", "U": path.split("?")[0], "s": "200"}
    record = logging.LogRecord(
        "gunicorn.access", logging.INFO, __file__, 1, '%(h)s "%(r)s" %(s)s', (), None
    )
    record.args = atoms  # gunicorn passes the dict itself as the only argument
    return record


def test_secret_path_segments_are_redacted_from_both_access_logs():
    paths = [
        f"/r/{SECRET}",
        f"/r/{SECRET}/invite.ics",
        f"/j/{SECRET}",
        f"/subscribe/confirm/{SECRET}",
        f"/unsubscribe/{SECRET}?x=1",
    ]
    redact = RedactSecrets()
    for path in paths:
        for record in (werkzeug_record(path), gunicorn_record(path)):
            assert redact.filter(record) is True  # the line is kept, only rewritten
            line = record.getMessage()
            assert SECRET not in line, line
            assert "[redacted]" in line


def test_other_paths_are_logged_as_they_are():
    record = werkzeug_record("/events/lancement-kit-regionaless")
    RedactSecrets().filter(record)
    assert "/events/lancement-kit-regionaless" in record.getMessage()


def test_the_app_installs_the_filter_on_the_access_loggers(app):
    for name in ("werkzeug", "gunicorn.access"):
        assert any(isinstance(f, RedactSecrets) for f in logging.getLogger(name).filters)
