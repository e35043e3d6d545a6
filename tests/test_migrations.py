"""Migrations build the schema from empty, and the models have not drifted from them."""

from datetime import timedelta

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import bindparam, create_engine, inspect, text

from eventapp import create_app
from eventapp.extensions import db
from eventapp.models import UTCDateTime, now_utc
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
            # In SQL, as the schema of 0009 has it: the model has columns of later revisions.
            starts = now_utc()
            event_id = db.session.execute(
                text(
                    "INSERT INTO events (slug, title, summary, description, kind, status,"
                    " starts_at, ends_at, timezone, venue, waitlist_enabled, connection_url,"
                    " connection_url_public, ics_sequence, created_at, updated_at)"
                    " VALUES ('e', 'E', '', '', 'online', 'published', :starts, :ends,"
                    " 'Europe/Paris', '', true, '', false, 0, :starts, :starts) RETURNING id"
                ).bindparams(
                    bindparam("starts", type_=UTCDateTime()), bindparam("ends", type_=UTCDateTime())
                ),
                {"starts": starts, "ends": starts + timedelta(hours=1)},
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


def test_0011_and_0012_keep_every_registration_and_secret_and_allow_survey_secrets(empty_database):
    # On SQLite a rebuilt events table would take every registration with it (ON DELETE CASCADE).
    app = create_app(base_config(empty_database))
    with app.app_context():
        try:
            upgrade(revision="0010")
            now = bindparam("now", type_=UTCDateTime())
            ends = bindparam("ends", type_=UTCDateTime())
            times = {"now": now_utc(), "ends": now_utc() + timedelta(hours=1)}
            event_id = db.session.execute(
                text(
                    "INSERT INTO events (slug, title, summary, description, kind, status,"
                    " starts_at, ends_at, timezone, venue, waitlist_enabled, connection_url,"
                    " connection_url_public, ics_sequence, created_at, updated_at)"
                    " VALUES ('e', 'E', '', '', 'online', 'published', :now, :ends,"
                    " 'Europe/Paris', '', true, '', false, 0, :now, :now) RETURNING id"
                ).bindparams(now, ends),
                times,
            ).scalar_one()
            registration_id = db.session.execute(
                text(
                    "INSERT INTO registrations (event_id, status, full_name, email, organisation,"
                    " category, locale, wants_followups, utm, referrer, created_at)"
                    " VALUES (:event, 'confirmed', 'Anne', 'anne@example.org', '', 'elu', 'fr',"
                    " false, '{}', '', :now) RETURNING id"
                ).bindparams(now),
                {"event": event_id, "now": times["now"]},
            ).scalar_one()
            insert_token = text(
                "INSERT INTO registration_tokens (registration_id, purpose, token_hash, created_at)"
                " VALUES (:registration, :purpose, :hash, :now)"
            ).bindparams(now)
            token = {"registration": registration_id, "now": times["now"]}
            db.session.execute(insert_token, {**token, "purpose": "manage", "hash": "a" * 64})
            db.session.commit()

            upgrade(revision="0012")  # 0011 rebuilds events on SQLite, 0012 its tokens
            counts = [
                db.session.scalar(text(f"SELECT count(*) FROM {table}"))
                for table in ("events", "registrations", "registration_tokens")
            ]
            assert counts == [1, 1, 1]
            assert db.session.scalar(text("SELECT survey_enabled FROM events")) in (True, 1)
            db.session.execute(insert_token, {**token, "purpose": "survey", "hash": "b" * 64})
            db.session.commit()

            downgrade(revision="0010")  # the survey's secret goes, the others stay
            assert db.session.scalars(text("SELECT purpose FROM registration_tokens")).all() == [
                "manage"
            ]
            assert db.session.scalar(text("SELECT count(*) FROM registrations")) == 1
        finally:
            db.session.remove()
            db.engine.dispose()
