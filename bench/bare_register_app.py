"""The baseline of bench/register.py: a bare Flask endpoint that inserts one row per POST.

Serve it with `gunicorn --chdir bench 'bare_register_app:create_app()'` and the same
EVENTAPP_SQLALCHEMY_DATABASE_URI as the real app. It writes into a table of its own,
bench_bare_registrations, created at start in the same database file, through a connection tuned
like the real app's (WAL, busy timeout), and answers 303 like the registration form.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime

from flask import Flask, redirect, request, url_for
from sqlalchemy import create_engine, event, text

CREATE_TABLE = text(
    """
    CREATE TABLE IF NOT EXISTS bench_bare_registrations (
        id INTEGER PRIMARY KEY,
        event_slug VARCHAR(200) NOT NULL,
        full_name VARCHAR(200) NOT NULL,
        email VARCHAR(320) NOT NULL UNIQUE,
        organisation VARCHAR(200) NOT NULL,
        category VARCHAR(40) NOT NULL,
        created_at DATETIME NOT NULL
    )
    """
)
INSERT = text(
    "INSERT INTO bench_bare_registrations"
    " (event_slug, full_name, email, organisation, category, created_at)"
    " VALUES (:slug, :full_name, :email, :organisation, :category, :created_at)"
)


def _tune_sqlite(dbapi_connection, _record) -> None:
    """Set the pragmas eventapp.extensions sets, so both apps wait for the write lock alike."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def create_app() -> Flask:
    """Build the baseline app on the database named in EVENTAPP_SQLALCHEMY_DATABASE_URI."""
    app = Flask(__name__)
    engine = create_engine(os.environ["EVENTAPP_SQLALCHEMY_DATABASE_URI"])
    event.listen(engine, "connect", _tune_sqlite)
    with engine.begin() as connection:
        connection.execute(CREATE_TABLE)  # IF NOT EXISTS: every gunicorn worker runs this

    @app.post("/events/<slug>/register")
    def register(slug: str):
        form = request.form
        row = {
            "slug": slug,
            "full_name": form.get("full_name", ""),
            "email": form.get("email", ""),
            "organisation": form.get("organisation", ""),
            "category": form.get("category", ""),
            "created_at": datetime.now(UTC).isoformat(" "),
        }
        with engine.begin() as connection:
            connection.execute(INSERT, row)
        return redirect(url_for("done", slug=slug), code=303)

    @app.get("/events/<slug>/register/done")
    def done(slug: str):
        return "ok"

    return app
