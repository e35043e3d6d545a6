"""Writing and reading the audit log; add and flush, never commit."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import Any

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import Select, func, select

from eventapp.audit.models import AuditLog
from eventapp.extensions import db
from eventapp.models import now_utc


def _json_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    if isinstance(value, Mapping):
        return {str(key): _json_value(item) for key, item in value.items()}
    return value


def snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """Return the values of some attributes, ready to be compared and stored as JSON."""
    return {name: _json_value(getattr(obj, name)) for name in fields}


def changed(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Return {field: [old, new]} for the fields whose value differs."""
    return {name: [before[name], after[name]] for name in before if before[name] != after.get(name)}


def record(
    action: str,
    target: Any = None,
    *,
    label: str | None = None,
    details: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> AuditLog:
    """Add an audit entry for a change made by the signed-in organiser; add and flush."""
    user = current_user if has_request_context() and current_user.is_authenticated else None
    if target is not None and getattr(target, "id", None) is None:
        db.session.flush()  # a new row gets its id
    entry_details = _json_value(dict(details or {}))
    if label is not None:
        entry_details["label"] = label
    entry = AuditLog(
        at=now or now_utc(),
        user_id=user.id if user is not None else None,
        user_email=user.email if user is not None else "",
        action=action,
        target_type=_target_type(target),
        target_id=getattr(target, "id", None),
        details=entry_details,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def _target_type(target: Any) -> str:
    if target is None:
        return ""
    return str(getattr(target, "__tablename__", type(target).__name__.lower()))


def audit_entries(action_prefix: str = "") -> Select[tuple[AuditLog]]:
    """Select the audit entries, newest first, optionally those of one area ("event.")."""
    stmt = select(AuditLog).order_by(AuditLog.at.desc(), AuditLog.id.desc())
    if action_prefix:
        stmt = stmt.where(func.substr(AuditLog.action, 1, len(action_prefix)) == action_prefix)
    return stmt
