"""The one mail after an event: thanks to those who attended, the replay to those who could not.

It reuses the follow-up fan-out (eventapp.kits.followups): an organiser asks for it once the replay
is published (`Event.aftermath_requested_at`), and a worker claims the event with an atomic
`UPDATE ... SET aftermath_queued_at WHERE aftermath_queued_at IS NULL` in the transaction that
queues the mails, skipping rows another worker holds on PostgreSQL; every mail has the dedupe key
`registration:<id>:aftermath`, which the outbox never inserts twice. So each person gets one
mail, whichever version, however many workers run.

Recipients are streamed by batches from one query per version, and their survey links minted
and stored by batches, so 100,000 registrants never sit in memory at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import Select, and_, func, not_, or_, select, update

from eventapp import mailkeys
from eventapp.aftermath.services import materials_of
from eventapp.aftermath.uploads import kind_label
from eventapp.attestations.services import code_of, issue_due
from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.outbox.render import RenderedMail, render_mail
from eventapp.outbox.services import Recipient, enqueue_many
from eventapp.registrations.models import (
    Registration,
    RegistrationStatus,
    RegistrationToken,
    TokenPurpose,
)
from eventapp.site.services import absolute_url
from eventapp.surveys.services import survey_open
from eventapp.tokens import TokenRows, new_token

log = logging.getLogger(__name__)

THANKS = "event_thanks"  # to those who attended
MISSED = "event_missed"  # to those who registered and could not come (waiting list included)
KIND = "event_aftermath"
_SURVEY_MARK = "SURVEYTOKEN"
_ATTESTATION_MARK = "ATTESTATIONCODE"


def attended_condition() -> Any:
    """The SQL condition "was there", from the best presence the app has: minutes measured in
    the room, imported or marked by an organiser; failing those, a click on the join link."""
    return and_(
        Registration.status == RegistrationStatus.CONFIRMED,
        or_(
            # Never NULL: the "missed" version is the negation, and NOT NULL selects nobody.
            func.coalesce(Registration.minutes_present, -1) > 0,
            and_(Registration.minutes_present.is_(None), Registration.first_joined_at.is_not(None)),
        ),
    )


def audience_query(event_id: int, attended: bool) -> Select[Any]:
    """Select (id, email, name, locale) of the registrations that get one version of the mail.

    Still registered (seat or waiting list) and not erased: a cancelled or forgotten person gets
    nothing.
    """
    condition = attended_condition()
    return (
        select(Registration.id, Registration.email, Registration.full_name, Registration.locale)
        .where(
            Registration.event_id == event_id,
            Registration.status.in_((RegistrationStatus.CONFIRMED, RegistrationStatus.WAITLISTED)),
            Registration.erased_at.is_(None),
            Registration.email_key.is_not(None),
            condition if attended else not_(condition),
        )
        .order_by(Registration.id)
    )


def audience_counts(event: Event) -> dict[str, int]:
    """Count who would get each version: {"attended": n, "missed": n}."""
    counts = {}
    for name, attended in (("attended", True), ("missed", False)):
        query = audience_query(event.id, attended).order_by(None).subquery()
        counts[name] = db.session.scalar(select(func.count()).select_from(query)) or 0
    return counts


def aftermath_context(event: Event) -> dict[str, Any]:
    """Return what both versions of the mail need, the same for every recipient."""
    materials = [
        {
            "title": material.title,
            "url": absolute_url(
                "aftermath.material",
                slug=event.slug,
                material_id=material.id,
                filename=material.download_name,
            ),
            "kind": kind_label(material.file_name),
            "size": material.file_size,
            "alternative_url": (
                absolute_url(
                    "aftermath.material_alternative",
                    slug=event.slug,
                    material_id=material.id,
                    filename=material.alternative_download_name,
                )
                if material.alternative_file_name
                else None
            ),
        }
        for material in materials_of(event)
    ]
    return {
        "event": event,
        "event_url": absolute_url("events.detail", slug=event.slug),
        "replay_url": event.replay_url,
        "transcript_url": (
            absolute_url("aftermath.transcript", slug=event.slug, filename=transcript_name(event))
            if event.transcript_file_name
            else None
        ),
        "materials": materials,
    }


def transcript_name(event: Event) -> str:
    """Return the transcript's download name: "transcription-<slug>.vtt"."""
    name = event.transcript_file_name or ""
    return f"transcription-{event.slug}{name[name.rfind('.') :] if '.' in name else ''}"


def claim_requested_events(now: datetime) -> list[int]:
    """Mark the events whose post-event mail was asked for and not yet queued; return their ids.

    The caller's transaction holds the claim: it commits with the mails or rolls back with them.
    """
    candidates = list(
        db.session.scalars(
            select(Event.id)
            .where(Event.aftermath_requested_at.is_not(None), Event.aftermath_queued_at.is_(None))
            .order_by(Event.aftermath_requested_at, Event.id)
            # PostgreSQL; SQLite serialises writers anyway.
            .with_for_update(of=Event, skip_locked=True)
        )
    )
    if not candidates:
        return []
    claimed = db.session.scalars(
        update(Event)
        .where(Event.id.in_(candidates), Event.aftermath_queued_at.is_(None))
        .values(aftermath_queued_at=now)
        .returning(Event.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(claimed)


def send_requested_aftermaths(now: datetime) -> int:
    """Queue the post-event mails of every event an organiser confirmed; return how many."""
    queued = 0
    for event_id in claim_requested_events(now):
        event = db.session.get(Event, event_id)
        if event is not None:
            queued += send_aftermath(event, now)
    return queued


class SurveyLinks:
    """Mint one survey secret per registrant who attended; store the hashes by batches."""

    def __init__(self, event: Event, now: datetime, batch_size: int) -> None:
        self.rows = TokenRows(
            RegistrationToken.__table__,
            ("registration_id", "token_hash"),
            {"purpose": TokenPurpose.SURVEY.value, "created_at": now},
            batch_size,
        )
        # Built once: a URL per recipient through the router would cost more than the rest.
        self.base = absolute_url("surveys.answer", token=_SURVEY_MARK)

    def __call__(self, registration_id: int) -> str:
        raw, hashed = new_token()
        self.rows.add(registration_id, hashed)
        return self.base.replace(_SURVEY_MARK, raw)

    def flush(self) -> None:
        self.rows.flush()


def send_aftermath(event: Event, now: datetime) -> int:
    """Queue one post-event mail per registrant still registered; return how many were added."""
    batch_size = current_app.config["KIT_RELEASE_BATCH_SIZE"]
    languages = set(current_app.config["LANGUAGES"])
    default_locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    context = aftermath_context(event)
    # The thanks carry a personal survey link while the survey takes answers, and the link of
    # the attestation of presence to those who earned one (issued now).
    survey_link = SurveyLinks(event, now, batch_size) if survey_open(event, now) else None
    attestation_codes = {
        registration_id: code_of(attestation)
        for registration_id, attestation in issue_due(event, now).items()
    }
    attestation_base = absolute_url("attestations.pdf", code=_ATTESTATION_MARK)
    added = 0
    for template, attended in ((THANKS, True), (MISSED, False)):
        # On the connection: plain rows, without the ORM's result processing.
        rows = db.session.connection().execute(
            audience_query(event.id, attended).execution_options(yield_per=batch_size)
        )

        def recipients(rows=rows, attended=attended) -> Iterator[Recipient]:
            for partition in rows.partitions():
                for registration_id, email, name, locale in partition:
                    extra = {}
                    if attended and survey_link is not None:
                        extra["survey_url"] = survey_link(registration_id)
                    if attended and registration_id in attestation_codes:
                        code = attestation_codes[registration_id]
                        extra["attestation_url"] = attestation_base.replace(_ATTESTATION_MARK, code)
                    yield Recipient(
                        to=email,
                        dedupe_key=mailkeys.aftermath(registration_id),
                        registration_id=registration_id,
                        to_name=name or "",
                        locale=locale if locale in languages else default_locale,
                        context=extra,
                    )

        try:
            added += enqueue_many(
                template, recipients(), kind=KIND, now=now, batch_size=batch_size, **context
            )
        finally:
            rows.close()
        if survey_link is not None:
            survey_link.flush()
    log.info("event %s: %d post-event mails queued", event.id, added)
    return added


def preview_aftermath(event: Event, attended: bool, locale: str = "fr") -> RenderedMail:
    """Render one version of the mail as a registrant would get it, for organisers to check."""
    extra = {}
    if attended and survey_open(event, now_utc()):
        extra["survey_url"] = absolute_url("surveys.answer", token="exemple")
    if attended and event.attestation_min_minutes is not None:
        extra["attestation_url"] = absolute_url("attestations.pdf", code="EXEMPLE")
    return render_mail(
        THANKS if attended else MISSED,
        locale,
        {**aftermath_context(event), "to": "", "to_name": "", **extra},
    )
