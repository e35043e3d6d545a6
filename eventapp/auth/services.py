"""Organiser accounts: password hashing, sign-in checks, and the changes admins make."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from sqlalchemy import delete, func, select

from eventapp.auth.models import LoginSession, User, UserRole
from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.text import email_key
from eventapp.tokens import hash_token, new_token

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


@cache
def _hasher_for(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def _hasher() -> PasswordHasher:
    """Return argon2id with the configured cost (ARGON2_*; RFC 9106 "low memory" by default)."""
    config = current_app.config
    return _hasher_for(
        config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_KIB"], config["ARGON2_PARALLELISM"]
    )


class AccountError(ValueError):
    """A change the rules refuse; the message is shown to the organiser."""


class EmailTaken(AccountError):
    pass


class LastAdmin(AccountError):
    pass


def hash_password(password: str) -> str:
    """Return the argon2id hash of a password."""
    return _hasher().hash(password)


def _decoy_hash() -> str:
    # Checked when the address is unknown, so that a wrong address takes as long as a wrong
    # password and the response time does not reveal which accounts exist.
    return _decoy_for(_hasher())


@cache
def _decoy_for(hasher: PasswordHasher) -> str:
    return hasher.hash("not a password of anyone")


def check_password(user: User | None, password: str) -> bool:
    """Tell whether the password is the user's; upgrade the hash when the parameters changed."""
    stored = user.password_hash if user is not None else _decoy_hash()
    try:
        _hasher().verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    if user is None:
        return False
    if _hasher().check_needs_rehash(stored):
        user.password_hash = hash_password(password)
    return True


def find_user(email: str) -> User | None:
    return db.session.scalars(select(User).where(User.email == email_key(email))).first()


def authenticate(email: str, password: str, now: datetime | None = None) -> User | None:
    """Return the active account these credentials open, and note the sign-in; else None."""
    user = find_user(email)
    if not check_password(user, password) or user is None or not user.active:
        return None
    user.last_login_at = now or now_utc()
    db.session.flush()
    return user


def load_session_user(
    session_id: str, login_token: str | None, now: datetime | None = None
) -> User | None:
    """Return the user a session cookie names, unless its sessions were ended since: signed out
    (its login session deleted), past its absolute lifetime, or all ended at once."""
    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()) or not login_token:
        return None
    lifetime = timedelta(hours=current_app.config["ADMIN_SESSION_MAX_HOURS"])
    # One statement: the account and its open login session together (every /admin request).
    user = db.session.scalars(
        select(User)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(
            User.id == int(user_id),
            LoginSession.token_hash == hash_token(login_token[:200]),
            LoginSession.created_at > (now or now_utc()) - lifetime,
        )
    ).first()
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def open_login_session(user: User, now: datetime | None = None) -> str:
    """Record a sign-in and return the secret that names it in the session cookie; forget the
    user's sign-ins past their lifetime."""
    now = now or now_utc()
    lifetime = timedelta(hours=current_app.config["ADMIN_SESSION_MAX_HOURS"])
    db.session.execute(
        delete(LoginSession).where(
            LoginSession.user_id == user.id, LoginSession.created_at <= now - lifetime
        )
    )
    raw, hashed = new_token()
    db.session.add(LoginSession(user_id=user.id, token_hash=hashed, created_at=now))
    db.session.flush()
    return raw


def close_login_session(login_token: str | None) -> None:
    """Forget a sign-in: the session cookie that names it opens nothing any more."""
    if login_token:
        db.session.execute(
            delete(LoginSession).where(LoginSession.token_hash == hash_token(login_token[:200]))
        )


def create_user(
    email: str,
    password: str,
    *,
    name: str = "",
    role: UserRole = UserRole.EDITOR,
    now: datetime | None = None,
) -> User:
    """Add an account; add and flush, never commit."""
    if find_user(email) is not None:
        raise EmailTaken(email)
    user = User(
        email=email_key(email),
        name=name.strip(),
        password_hash=hash_password(password),
        role=role,
        active=True,
        created_at=now or now_utc(),
    )
    db.session.add(user)
    db.session.flush()
    return user


def set_password(user: User, password: str) -> None:
    """Replace the password and sign out every session of the account."""
    user.password_hash = hash_password(password)
    user.session_version += 1
    db.session.flush()


def active_admin_count() -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.role == UserRole.ADMIN, User.active.is_(True))
    )


def update_user(user: User, *, name: str, role: UserRole, active: bool) -> None:
    """Change an account's name, role and state; the last active admin stays one."""
    losing_admin = (
        user.role == UserRole.ADMIN and user.active and (role != UserRole.ADMIN or not active)
    )
    if losing_admin and active_admin_count() <= 1:
        raise LastAdmin(user.email)
    if user.active and not active:
        user.session_version += 1  # a deactivated account is signed out everywhere now
    user.name = name.strip()
    user.role = role
    user.active = active
    db.session.flush()


def all_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.email)))


def user_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User))
