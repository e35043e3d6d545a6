"""Migrations build the schema from empty, and the models have not drifted from them."""

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from eventapp import create_app
from eventapp.extensions import db
from tests.conftest import base_config


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
    server = request.getfixturevalue("postgres_server")
    admin = create_engine(server.url("postgres"), isolation_level="AUTOCOMMIT")
    name = f"migrations_{tmp_path.name[-20:].replace('-', '_').lower()}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.url(name)


def test_migrations_apply_from_empty_and_match_the_models(empty_database):
    app = create_app(base_config(empty_database))
    with app.app_context():
        try:
            upgrade()
            tables = set(inspect(db.engine).get_table_names())
            assert {"events", "speakers", "event_speakers", "organisation"} <= tables
            # `db check` exits non-zero when the models and the migrations differ.
            result = app.test_cli_runner().invoke(args=["db", "check"])
            assert result.exit_code == 0, result.output
            downgrade(revision="base")
            assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        finally:
            db.engine.dispose()
