"""Who gets a kit's follow-ups: double opt-in for kit-only subscribers, one-click unsubscribe.

Secrets are at least 128 random bits, handed out once in a mail and stored only as SHA-256; the
confirmation secret and the unsubscribe secret are separate, so one never opens the other.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, select

from eventapp import mailkeys
from eventapp.extensions import db
from eventapp.kits.followups import withdraw_followups
from eventapp.kits.models import (
    Kit,
    KitSubscriber,
    SubscriptionStatus,
    UnsubscribeToken,
    kit_events,
)
from eventapp.models import now_utc
from eventapp.outbox.services import enqueue
from eventapp.registrations.models import Registration
from eventapp.registrations.services import record_followup_choice
from eventapp.site.services import absolute_url
from eventapp.text import email_key
from eventapp.tokens import hash_token, new_token

MAX_TOKEN_LENGTH = 200


# --- double opt-in ----------------------------------------------------------------------------


def _confirm_valid_for() -> timedelta:
    return timedelta(hours=current_app.config["KIT_CONFIRM_VALID_HOURS"])


def request_subscription(kit: Kit, email: str, locale: str, now: datetime | None = None) -> bool:
    """Ask for a kit-only subscription: queue the confirmation mail; return whether one was queued.

    Nothing is subscribed before the click. An address already subscribed gets no mail, and a
    pending one gets at most one mail per KIT_CONFIRM_RESEND_MINUTES, so the form cannot be
    used to flood someone's mailbox; the page shown is the same in every case.
    """
    now = now or now_utc()
    key = email_key(email)
    subscriber = db.session.scalars(
        select(KitSubscriber).where(KitSubscriber.kit_id == kit.id, KitSubscriber.email_key == key)
    ).first()
    if subscriber is not None and subscriber.status == SubscriptionStatus.ACTIVE:
        return False
    resend_after = timedelta(minutes=current_app.config["KIT_CONFIRM_RESEND_MINUTES"])
    if (
        subscriber is not None
        and subscriber.confirm_sent_at is not None
        and now - subscriber.confirm_sent_at < resend_after
    ):
        return False
    if subscriber is None:
        subscriber = KitSubscriber(kit=kit, email_key=key, created_at=now)
        db.session.add(subscriber)
    raw, hashed = new_token()
    subscriber.email = email
    subscriber.locale = locale
    subscriber.status = SubscriptionStatus.PENDING
    subscriber.confirm_token_hash = hashed
    subscriber.confirm_sent_at = now
    db.session.flush()
    message = enqueue(
        "kit_subscription_confirm",
        email,
        mailkeys.kit_subscription_confirmation(subscriber.id, now),
        locale=locale,
        kind="kit_subscription_confirm",
        now=now,
        kit=kit,
        kit_url=absolute_url("kits.detail", slug=kit.slug),
        confirm_url=absolute_url("kits.confirm", token=raw),
        valid_hours=current_app.config["KIT_CONFIRM_VALID_HOURS"],
    )
    return message is not None


def find_subscription(raw: str, now: datetime | None = None) -> KitSubscriber | None:
    """Return the subscription a confirmation secret opens, or None (unknown or expired)."""
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        return None
    subscriber = db.session.scalars(
        select(KitSubscriber).where(KitSubscriber.confirm_token_hash == hash_token(raw))
    ).first()
    if subscriber is None or subscriber.status == SubscriptionStatus.UNSUBSCRIBED:
        return None
    if subscriber.status == SubscriptionStatus.PENDING and (
        subscriber.confirm_sent_at is None
        or (now or now_utc()) - subscriber.confirm_sent_at > _confirm_valid_for()
    ):
        return None
    return subscriber


def confirm_subscription(subscriber: KitSubscriber, now: datetime | None = None) -> bool:
    """Start the subscription at `now`; return False when it had already started."""
    if subscriber.status == SubscriptionStatus.ACTIVE:
        return False
    subscriber.status = SubscriptionStatus.ACTIVE
    subscriber.confirmed_at = now or now_utc()
    db.session.flush()
    return True


def purge_unconfirmed(now: datetime | None = None) -> int:
    """Delete the subscriptions nobody confirmed in time; return how many."""
    cutoff = (now or now_utc()) - _confirm_valid_for()
    result = db.session.execute(
        delete(KitSubscriber).where(
            KitSubscriber.status == SubscriptionStatus.PENDING,
            KitSubscriber.confirm_sent_at < cutoff,
        )
    )
    return result.rowcount or 0


# --- unsubscribing ----------------------------------------------------------------------------


def find_unsubscribe_token(raw: str) -> UnsubscribeToken | None:
    """Return the unsubscribe token a secret from a follow-up mail opens, or None."""
    if not raw or len(raw) > MAX_TOKEN_LENGTH:
        return None
    return db.session.scalars(
        select(UnsubscribeToken).where(UnsubscribeToken.token_hash == hash_token(raw))
    ).first()


def token_email_key(token: UnsubscribeToken) -> str | None:
    """Return the folded address the token stands for; None once erased or forgotten."""
    if token.registration_id is not None:
        registration = db.session.get(Registration, token.registration_id)
        return registration.email_key if registration and registration.erased_at is None else None
    subscriber = db.session.get(KitSubscriber, token.subscriber_id)
    return subscriber.email_key if subscriber is not None else None


def unsubscribe(token: UnsubscribeToken, now: datetime | None = None) -> int:
    """Stop the kit's follow-ups for the address the token stands for; return mails withdrawn."""
    key = token_email_key(token)
    if key is None:
        return 0  # already gone: nothing left to stop
    return stop_followups(token.kit, key, now)


def stop_followups(kit: Kit, address_key: str, now: datetime | None = None) -> int:
    """Unsubscribe an address from a kit at once: every registration of the kit's events stops
    wanting follow-ups, a kit-only subscription ends and forgets the address, and the mails
    still waiting are withdrawn. Return how many mails were withdrawn."""
    now = now or now_utc()
    registrations = list(
        db.session.scalars(
            select(Registration)
            .join(kit_events, kit_events.c.event_id == Registration.event_id)
            .where(kit_events.c.kit_id == kit.id, Registration.email_key == address_key)
        )
    )
    subscribers = list(
        db.session.scalars(
            select(KitSubscriber).where(
                KitSubscriber.kit_id == kit.id, KitSubscriber.email_key == address_key
            )
        )
    )
    for registration in registrations:
        record_followup_choice(registration, False, now)  # the withdrawal below covers them
    for subscriber in subscribers:
        subscriber.status = SubscriptionStatus.UNSUBSCRIBED
        subscriber.unsubscribed_at = now
        subscriber.email = ""
        subscriber.email_key = None
        subscriber.confirm_token_hash = None
    db.session.flush()
    return withdraw_followups(
        [kit.id],
        registration_ids=[r.id for r in registrations],
        subscriber_ids=[s.id for s in subscribers],
    )
