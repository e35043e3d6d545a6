"""Organiser accounts: who may enter the back office, and with which role."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from eventapp.extensions import db
from eventapp.models import now_utc, str_enum


class UserRole(enum.StrEnum):
    ADMIN = "admin"  # everything, accounts included
    EDITOR = "editor"  # everything but accounts and the audit log


class User(db.Model):
    """An organiser who signs in to /admin with an address and a password."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored folded (see services.email_key): one account per address, whatever its case.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[UserRole] = mapped_column(str_enum(UserRole, "user_role"), default=UserRole.EDITOR)
    active: Mapped[bool] = mapped_column(default=True)
    # Part of the id kept in the session cookie: raising it signs out every session at once
    # (new password, account deactivated).
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    last_login_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"

    # Flask-Login's user protocol.
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_admin(self) -> bool:
        return self.role == UserRole.ADMIN

    @property
    def display_name(self) -> str:
        return self.name or self.email


class LoginSession(db.Model):
    """One sign-in, named in the session cookie by a secret kept here only as its hash: signing
    out deletes the row, and a copy of the cookie opens nothing any more."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    def __repr__(self) -> str:
        return f"<LoginSession {self.id} of user {self.user_id}>"
