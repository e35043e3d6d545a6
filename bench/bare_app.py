"""The baseline of bench/pages.py: a bare Flask app that renders one event row, nothing more.

Serve it with `gunicorn --chdir bench 'bare_app:create_app()'` and the same
EVENTAPP_SQLALCHEMY_DATABASE_URI as the real app.
"""

from __future__ import annotations

import os

from flask import Flask, abort
from sqlalchemy import create_engine, text

PAGE = """<!doctype html>
<html lang="fr">
<head><meta charset="utf-8"><title>{{ event.title }}</title></head>
<body><main><h1>{{ event.title }}</h1><p>{{ event.summary }}</p></main></body>
</html>
"""

EVENT_BY_SLUG = text("SELECT title, summary FROM events WHERE slug = :slug")


def create_app() -> Flask:
    """Build the baseline app on the database named in EVENTAPP_SQLALCHEMY_DATABASE_URI."""
    app = Flask(__name__)
    engine = create_engine(os.environ["EVENTAPP_SQLALCHEMY_DATABASE_URI"])
    page = app.jinja_env.from_string(PAGE)  # compiled once, like a cached template file

    @app.get("/events/<slug>")
    def event(slug: str):
        with engine.connect() as connection:
            row = connection.execute(EVENT_BY_SLUG, {"slug": slug}).first()
        if row is None:
            abort(404)
        return page.render(event=row)

    return app
