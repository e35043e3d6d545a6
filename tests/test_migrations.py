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


def test_mails_queued_before_0010_learn_their_registration_from_their_key(empty_database):
    app = create_app(base_config(empty_database))
    with app.app_context():
        try:
            upgrade(revision="0009")
            # In SQL: the models describe the latest schema, not the one of revision 0009.
            event_id = db.session.execute(
                text(
                    "INSERT INTO events (slug, title, summary, description, kind, status,"
                    " starts_at, ends_at, timezone, venue, waitlist_enabled, connection_url,"
                    " connection_url_public, reminder_offsets, ics_sequence, created_at,"
                    " updated_at) VALUES ('avant', 'Avant', '', '', 'online', 'published',"
                    " '2030-01-01 10:00:00', '2030-01-01 11:00:00', 'Europe/Paris', '', true,"
                    " '', false, '[]', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id"
                )
            ).scalar_one()
            registration_id = db.session.execute(
                text(
                    "INSERT INTO registrations (event_id, status, full_name, email, organisation,"
                    " category, locale, wants_followups, utm, referrer, created_at)"
                    " VALUES (:event, 'confirmed', 'Anne', 'anne@example.org', '', 'elu', 'fr',"
                    " true, '{}', '', CURRENT_TIMESTAMP) RETURNING id"
                ),
                {"event": event_id},
            ).scalar_one()
            keys = [
                f"registration:{registration_id}:confirmation",
                f"sheet:3:r{registration_id}",
                f"sheet:3:s{registration_id}",  # a kit-only subscriber: no registration
                f"registration:{registration_id + 1}:confirmation",  # no such registration
                f"press-inquiry:{registration_id}:ack",
            ]
            for number, key in enumerate(keys):
                db.session.execute(
                    text(
                        "INSERT INTO outbox_messages (kind, dedupe_key, to_address, to_name,"
                        " locale, subject, text_body, html_body, attachments, headers, status,"
                        " attempts, due_at, message_id, created_at) VALUES ('k', :key,"
                        " 'a@example.org', '', 'fr', 's', 't', 'h', '[]', '{}', 'sent', 1,"
                        " CURRENT_TIMESTAMP, :mid, CURRENT_TIMESTAMP)"
                    ),
                    {"key": key, "mid": f"<{number}@test>"},
                )
            db.session.commit()
            upgrade()
            found = dict(
                db.session.execute(
                    text("SELECT dedupe_key, registration_id FROM outbox_messages")
                ).all()
            )
            assert [found[key] for key in keys] == [
                registration_id,
                registration_id,
                None,
                None,
                None,
            ]
        finally:
            db.session.remove()
            db.engine.dispose()
