"""Fixtures: an app per test on SQLite or on a throwaway PostgreSQL server, client, runner."""

from __future__ import annotations

import os
import shutil

import pytest
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from eventapp import create_app
from eventapp.extensions import db
from tests.pgserver import PostgresServer, find_pg_bin
from tests.smtp import SmtpServer, use_smtp_server

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


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
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
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
