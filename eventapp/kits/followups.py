"""Follow-up mails: when a sheet's release time passes, one mail per subscriber, exactly once.

Exactly once holds in three layers. A sheet is claimed by an atomic
`UPDATE ... SET notified_at WHERE notified_at IS NULL` in the same transaction as its mails, so a
second run (or a second worker) finds nothing to claim, and a failed run rolls the claim back
with the mails; on PostgreSQL the claim first skips rows another worker holds
(FOR UPDATE SKIP LOCKED) instead of waiting for them. Last, every mail has the dedupe key
`sheet:<sheet>:<subscriber>`, which the outbox never inserts twice.

Subscribers are streamed from one set-based query and their mails and unsubscribe tokens go in
by batches, so a release to 100,000 people never holds more than a batch in memory.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Select, literal, select, union_all, update
from sqlalchemy.sql import func

from eventapp import mailkeys
from eventapp.extensions import db
from eventapp.kits.models import (
    Kit,
    KitSubscriber,
    Sheet,
    SubscriptionStatus,
    UnsubscribeToken,
    kit_events,
)
from eventapp.outbox.render import RenderedMail, render_mail
from eventapp.outbox.services import Recipient, cancel_pending, enqueue_many, message_id_domain
from eventapp.registrations.models import Registration, RegistrationStatus
from eventapp.site.services import absolute_url
from eventapp.tokens import TokenRows, new_token

log = logging.getLogger(__name__)

TEMPLATE = "kit_sheet_released"
REGISTRANT, SUBSCRIBER = 0, 1
# Registrants still in the event, seat or waiting list, who ticked the box. A cancelled
# registration ends the follow-ups with it (the attendee space no longer offers to manage them);
# the kit's own form is there for anyone who wants the sheets alone.
SUBSCRIBED_STATUSES = (RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED)
_TOKEN_MARK = "UNSUBSCRIBETOKEN"


def subscribers_query(kit_id: int, started_by: datetime) -> Select[Any]:
    """Select one row per address subscribed to the kit since `started_by` at the latest:
    (source, source id, email, name, locale).

    Registrants opted in, not erased, still registered; kit-only subscribers who confirmed.
    An address found several times (two events, or a registration and the form) gets one mail:
    its registration first, the oldest first.
    """
    registrants = (
        select(
            Registration.email_key.label("email_key"),
            literal(REGISTRANT).label("source"),
            Registration.id.label("source_id"),
            Registration.email.label("email"),
            Registration.full_name.label("name"),
            Registration.locale.label("locale"),
        )
        .join(kit_events, kit_events.c.event_id == Registration.event_id)
        .where(
            kit_events.c.kit_id == kit_id,
            Registration.wants_followups.is_(True),
            Registration.erased_at.is_(None),
            Registration.email_key.is_not(None),
            Registration.status.in_(SUBSCRIBED_STATUSES),
            Registration.followups_changed_at <= started_by,
        )
    )
    kit_only = select(
        KitSubscriber.email_key,
        literal(SUBSCRIBER),
        KitSubscriber.id,
        KitSubscriber.email,
        literal(""),
        KitSubscriber.locale,
    ).where(
        KitSubscriber.kit_id == kit_id,
        KitSubscriber.status == SubscriptionStatus.ACTIVE,
        KitSubscriber.email_key.is_not(None),
        KitSubscriber.confirmed_at <= started_by,
    )
    candidates = union_all(registrants, kit_only).subquery("candidates")
    rank = (
        func.row_number()
        .over(
            partition_by=candidates.c.email_key,
            order_by=(candidates.c.source, candidates.c.source_id),
        )
        .label("rank")
    )
    ranked = select(candidates, rank).subquery("ranked")
    return select(
        ranked.c.source, ranked.c.source_id, ranked.c.email, ranked.c.name, ranked.c.locale
    ).where(ranked.c.rank == 1)


def claim_due_sheets(now: datetime) -> list[int]:
    """Mark the sheets due at `now` and not yet announced as announced; return their ids.

    The caller's transaction holds the claim: it commits with the mails or rolls back with them.
    A kit not yet published waits: its links would lead nowhere.
    """
    due = (
        select(Sheet.id)
        .join(Kit, Kit.id == Sheet.kit_id)
        .where(Sheet.notified_at.is_(None), Sheet.released(now), Kit.published.is_(True))
        .order_by(Sheet.release_at, Sheet.id)
        # PostgreSQL; SQLite serialises writers anyway.
        .with_for_update(of=Sheet, skip_locked=True)
    )
    candidates = list(db.session.scalars(due))
    if not candidates:
        return []
    claimed = db.session.scalars(
        update(Sheet)
        .where(Sheet.id.in_(candidates), Sheet.notified_at.is_(None))
        .values(notified_at=now)
        .returning(Sheet.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(claimed)


def release_due_sheets(now: datetime) -> int:
    """Queue the follow-ups of every sheet whose release time has passed; return how many mails.

    A sheet that fell due more than KIT_FOLLOWUP_GRACE_HOURS ago (a back catalogue entered with
    past dates, a worker stopped for days) is marked announced without mail: old news is not news.
    """
    grace = timedelta(hours=current_app.config["KIT_FOLLOWUP_GRACE_HOURS"])
    queued = 0
    for sheet_id in claim_due_sheets(now):
        sheet = db.session.get(Sheet, sheet_id)
        if sheet is None or sheet.release_at is None:
            continue
        if now - sheet.release_at > grace:
            log.info(
                "sheet %s fell due at %s: too long ago to announce", sheet.id, sheet.release_at
            )
            continue
        queued += send_followups(sheet, now)
    return queued


def followup_context(sheet: Sheet) -> dict[str, Any]:
    """Return what the follow-up template needs, the same for every recipient."""
    kit = sheet.kit
    return {
        "kit": kit,
        "sheet": sheet,
        "kit_url": absolute_url("kits.detail", slug=kit.slug),
        "sheet_url": absolute_url("kits.sheet", slug=kit.slug, number=sheet.number),
        "download_url": (
            absolute_url(
                "kits.download", slug=kit.slug, number=sheet.number, filename=sheet.download_name
            )
            if sheet.file_name
            else None
        ),
    }


def list_headers(kit: Kit) -> dict[str, str]:
    """Return the headers common to a kit's follow-ups: RFC 2919 List-Id, RFC 8058 one-click."""
    return {
        "List-Id": f"<{kit.slug}.kits.{message_id_domain()}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def send_followups(sheet: Sheet, now: datetime) -> int:
    """Queue one follow-up per subscriber of the sheet's kit, with their own unsubscribe link;
    return how many were added (a subscriber who already has this one is skipped)."""
    batch_size = current_app.config["KIT_RELEASE_BATCH_SIZE"]
    languages = set(current_app.config["LANGUAGES"])
    default_locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    # Built once: a URL per recipient through the router would cost more than the rest.
    unsubscribe_base = absolute_url("kits.unsubscribe", token=_TOKEN_MARK)
    tokens = TokenRows(
        UnsubscribeToken.__table__,
        ("token_hash", "registration_id", "subscriber_id"),
        {"kit_id": sheet.kit_id, "sheet_id": sheet.id, "created_at": now},
        batch_size,
    )
    # On the connection: plain rows, without the ORM's result processing.
    rows = db.session.connection().execute(
        subscribers_query(sheet.kit_id, sheet.release_at).execution_options(yield_per=batch_size)
    )

    def recipients() -> Iterator[Recipient]:
        for partition in rows.partitions():  # a batch of rows at a time: less work per row
            for source, source_id, email, name, locale in partition:
                raw, hashed = new_token()
                if source == REGISTRANT:
                    tokens.add(hashed, source_id, None)
                else:
                    tokens.add(hashed, None, source_id)
                url = unsubscribe_base.replace(_TOKEN_MARK, raw)
                if source == REGISTRANT:
                    key = mailkeys.followup_for_registrant(sheet.id, source_id)
                    registration_id = source_id
                else:
                    key = mailkeys.followup_for_subscriber(sheet.id, source_id)
                    registration_id = None
                yield Recipient(
                    to=email,
                    dedupe_key=key,
                    registration_id=registration_id,
                    to_name=name or "",
                    locale=locale if locale in languages else default_locale,
                    context={"unsubscribe_url": url},
                    headers={"List-Unsubscribe": f"<{url}>"},
                )

    try:
        added = enqueue_many(
            TEMPLATE,
            recipients(),
            kind=TEMPLATE,
            headers=list_headers(sheet.kit),
            now=now,
            batch_size=batch_size,
            **followup_context(sheet),
        )
    finally:
        rows.close()
    tokens.flush()
    log.info("sheet %s: %d follow-ups queued", sheet.id, added)
    return added


def preview_followup(sheet: Sheet, locale: str = "fr") -> RenderedMail:
    """Render the follow-up as a subscriber would get it, for organisers to check beforehand."""
    return render_mail(
        TEMPLATE,
        locale,
        {
            **followup_context(sheet),
            "to": "",
            "to_name": "",
            "unsubscribe_url": absolute_url("kits.unsubscribe", token="exemple"),
        },
    )


def withdraw_followups(
    kit_ids: Iterable[int],
    registration_ids: Iterable[int] = (),
    subscriber_ids: Iterable[int] = (),
) -> int:
    """Cancel the pending follow-ups of these kits for these registrants and subscribers."""
    registration_ids, subscriber_ids = list(registration_ids), list(subscriber_ids)
    if not registration_ids and not subscriber_ids:
        return 0
    sheet_ids = list(db.session.scalars(select(Sheet.id).where(Sheet.kit_id.in_(list(kit_ids)))))
    keys = [
        mailkeys.followup_for_registrant(sheet_id, registration_id)
        for sheet_id in sheet_ids
        for registration_id in registration_ids
    ] + [
        mailkeys.followup_for_subscriber(sheet_id, subscriber_id)
        for sheet_id in sheet_ids
        for subscriber_id in subscriber_ids
    ]
    return cancel_pending(dedupe_keys=keys)


def drop_registration_followups(registration: Registration) -> int:
    """Withdraw a registration's pending follow-ups (call it when it opts out or is erased)."""
    kit_ids = db.session.scalars(
        select(kit_events.c.kit_id).where(kit_events.c.event_id == registration.event_id)
    ).all()
    return withdraw_followups(kit_ids, registration_ids=[registration.id])
