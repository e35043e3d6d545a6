"""Fixtures: an app per test on SQLite or on a throwaway PostgreSQL server, client, runner."""

from __future__ import annotations

import os
import shutil

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2 import BytecodeCache
from sqlalchemy import create_engine, text
from werkzeug.routing import Rule

from eventapp import create_app
from eventapp.extensions import db
from tests.pgserver import PostgresServer, find_pg_bin
from tests.smtp import SmtpServer, use_smtp_server

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


# Every test builds its own app, and two costs of a new app are the same each time: compiling
# the URL builders of ~100 rules (a test builds a handful of URLs) and compiling each template
# again. The apps of the test process share both (the e2e site too, served from a thread); the
# gunicorn hosts and workers of tests/reliability run the unmodified app in their own processes.
class LazilyBuiltRule(Rule):
    """A rule that compiles its URL builder on first use instead of when it is added."""

    def _compile_builder(self, append_unknown: bool = True):
        compile_builder = super()._compile_builder
        built = None

        def build(rule, *args, **kwargs):
            nonlocal built
            if built is None:
                built = compile_builder(append_unknown)
            return built(rule, *args, **kwargs)

        return build


class SharedBytecode(BytecodeCache):
    """Compiled templates kept in memory for every app of the test process (keyed by source
    checksum, so a changed template is compiled again)."""

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


if hasattr(Rule, "_compile_builder"):  # werkzeug's private hook: without it, no shortcut
    Flask.url_rule_class = LazilyBuiltRule
Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": SharedBytecode()}


def base_config(database_uri: str) -> dict:
    """Return the config every test app starts from."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "SITE_URL": "https://events.test",
        "SERVER_NAME": None,
    }


@pytest.fixture(scope="session")
def postgres_server():
    """Start one PostgreSQL server for the whole run, or skip (fail under CI) without one."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        message = "PostgreSQL binaries (initdb, pg_ctl) are not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI must install the postgresql package")
        pytest.skip(message)
    server = PostgresServer(bin_dir)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_database(postgres_server):
    """Create the test database once and its tables from the models."""
    admin = create_engine(postgres_server.url("postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("CREATE DATABASE eventapp_test"))
    admin.dispose()
    url = postgres_server.url("eventapp_test")
    app = create_app(base_config(url))
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """Build the schema once into a SQLite file that each test then copies (a file copy is
    ten times cheaper than create_all)."""
    path = tmp_path_factory.mktemp("schema") / "template.sqlite3"
    app = create_app(base_config(f"sqlite:///{path}"))
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return path


@pytest.fixture(params=BACKENDS)
def database_uri(request, tmp_path):
    """Give each test an empty database: a copy of the SQLite template, or truncated PostgreSQL tables."""
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url = request.getfixturevalue("postgres_database")
    yield url
    empty_postgres_tables(url)


def empty_postgres_tables(url: str) -> None:
    """Delete every row and restart every id sequence: as empty as a new database.

    DELETE, children first, takes a few milliseconds on a test's handful of rows; TRUNCATE
    takes about 30, for it makes new files for every table.
    """
    engine = create_engine(url)
    with engine.begin() as connection:
        for table in reversed(db.metadata.sorted_tables):
            connection.execute(table.delete())
        sequences = connection.scalars(
            text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")
        ).all()
        if sequences:
            restarts = ", ".join(f"setval('\"{name}\"', 1, false)" for name in sequences)
            connection.execute(text(f"SELECT {restarts}"))
    engine.dispose()


class IsolatedClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production.

    The test keeps its own context (and session) for setting up and checking; a request never
    shares its `g` or its session, so it sees only what the test committed.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        db.session.expire_all()  # let the test read what the request wrote
        return response


@pytest.fixture
def app(database_uri, tmp_path):
    """An app bound to this test's database and its own instance folder, context pushed."""
    app = create_app(base_config(database_uri), instance_path=str(tmp_path / "instance"))
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def smtp_server(request):
    """A real SMTP server on loopback (tests/smtp.py); a test's `app` sends its mail there."""
    server = SmtpServer().start()
    if "app" in request.fixturenames:
        use_smtp_server(request.getfixturevalue("app"), server)
    yield server
    server.stop()
