"""Follow-up mail keys, and withdrawing the follow-ups not sent yet (secrets: eventapp/tokens.py).

Kept apart from subscriptions.py so that the registration side can call
drop_registration_followups (opt-out, erasure) without an import cycle.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from eventapp.extensions import db
from eventapp.kits.models import Sheet, kit_events
from eventapp.outbox.services import cancel_pending
from eventapp.registrations.models import Registration


def registrant_key(registration_id: int) -> str:
    """Name a registrant in a follow-up's dedupe key: sheet:<sheet>:r<registration>."""
    return f"r{registration_id}"


def subscriber_key(subscriber_id: int) -> str:
    """Name a kit-only subscriber in a follow-up's dedupe key: sheet:<sheet>:s<subscriber>."""
    return f"s{subscriber_id}"


def followup_key(sheet_id: int, key: str) -> str:
    return f"sheet:{sheet_id}:{key}"


def withdraw_followups(kit_ids: Iterable[int], keys: list[str]) -> int:
    """Cancel the pending follow-ups of these kits for these subscriber keys."""
    if not keys:
        return 0
    sheet_ids = list(db.session.scalars(select(Sheet.id).where(Sheet.kit_id.in_(list(kit_ids)))))
    return cancel_pending(
        dedupe_keys=(followup_key(sheet_id, key) for sheet_id in sheet_ids for key in keys)
    )


def drop_registration_followups(registration: Registration) -> int:
    """Withdraw a registration's pending follow-ups (call it when it opts out or is erased)."""
    kit_ids = db.session.scalars(
        select(kit_events.c.kit_id).where(kit_events.c.event_id == registration.event_id)
    ).all()
    return withdraw_followups(kit_ids, [registrant_key(registration.id)])
