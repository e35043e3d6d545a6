"""Helpers for the back-office tests: accounts, signing in, posting forms with their CSRF token."""

from __future__ import annotations

import itertools
import re

import pytest
from sqlalchemy import event as sql_event
from sqlalchemy import func, select

from eventapp.audit.models import AuditLog
from eventapp.auth.models import User, UserRole
from eventapp.auth.services import create_user
from eventapp.extensions import db

PASSWORD = "un mot de passe assez long"
_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def cheap_hashing(app):
    """Real argon2id at a small cost, since these tests sign in all the time (see the test of the
    production cost in test_admin_access)."""
    app.config.update(ARGON2_TIME_COST=1, ARGON2_MEMORY_KIB=1024, ARGON2_PARALLELISM=1)


def make_user(role: UserRole = UserRole.ADMIN, email: str | None = None, **fields) -> User:
    """Add an account (admin unless told otherwise) with PASSWORD, and commit."""
    email = email or f"organiser{next(_numbers)}@example.org"
    user = create_user(email, fields.pop("password", PASSWORD), role=role, **fields)
    db.session.commit()
    return user


def login(client, user: User | str, password: str = PASSWORD, ip: str = "127.0.0.1", **data):
    """Sign in through the form like a browser, from a client address; return the response."""
    email = user if isinstance(user, str) else user.email
    environ = {"REMOTE_ADDR": ip}
    token = csrf_from(client.get("/admin/login", environ_base=environ))
    return client.post(
        "/admin/login",
        data={"email": email, "password": password, "csrf_token": token, **data},
        environ_base=environ,
    )


def csrf_from(response) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.get_data(as_text=True))
    assert match, "no CSRF token on the page"
    return match.group(1)


def signed_in(client, role: UserRole = UserRole.ADMIN) -> User:
    """Add an account and sign the client in with it."""
    user = make_user(role)
    response = login(client, user)
    assert response.status_code == 303, response.get_data(as_text=True)
    return user


class Poster:
    """Post forms as the signed-in client, with the session's CSRF token."""

    def __init__(self, client):
        self.client = client
        self.token = csrf_from(client.get("/admin/password"))

    def __call__(self, url: str, data: dict | None = None, **kwargs):
        return self.client.post(url, data={"csrf_token": self.token, **(data or {})}, **kwargs)


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


class QueryCounter:
    """Count the SQL statements run while the block is open."""

    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    def __enter__(self):
        sql_event.listen(self.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        sql_event.remove(self.engine, "before_cursor_execute", self._record)

    @property
    def count(self) -> int:
        return len(self.statements)


def register(event, name: str, email: str | None = None, now=None, **fields):
    """Register someone through the real service (mails queued), and commit."""
    from eventapp.registrations.services import Applicant, register_attendee

    email = email or f"{name.split()[0].lower()}{next(_numbers)}@example.org"
    registration = register_attendee(event, Applicant(full_name=name, email=email, **fields), now)
    db.session.commit()
    return registration


def outbox(kind: str | None = None) -> list:
    from eventapp.outbox.models import OutboxMessage

    stmt = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind is not None:
        stmt = stmt.where(OutboxMessage.kind == kind)
    return list(db.session.scalars(stmt))
