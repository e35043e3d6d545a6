"""Opening, answering, closing and summing up an event's survey; add and flush, never commit."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext
from sqlalchemy import delete, func, select

from eventapp.events.models import Event, Phase
from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.registrations.export import csv_stream, moment_cell, text_cell
from eventapp.registrations.models import Registration, RegistrationStatus
from eventapp.surveys.models import RATINGS, SurveyAnswer

TEXT_QUESTIONS = ("most_useful", "to_improve", "next_topics")


class SurveyError(Exception):
    """An answer the rules refuse; the view tells the person why."""


class SurveyNotOpen(SurveyError):
    pass


class NotAllowed(SurveyError):
    """The registration may not answer: cancelled, waiting, or erased."""


@dataclass(frozen=True)
class AnswerData:
    """What the survey form collected, validated and trimmed."""

    rating: int
    most_useful: str = ""
    to_improve: str = ""
    next_topics: str = ""


class SurveyState(enum.StrEnum):
    """Where an event's survey stands at one moment: derived, never a flag a job flips."""

    OPEN = "open"
    NOT_YET = "not_yet"  # the event has not ended
    CLOSED = "closed"  # the organiser closed it
    OFF = "off"  # the organiser turned it off for this event
    CANCELLED = "cancelled"  # the event was cancelled: nothing to rate


def survey_state(event: Event, now: datetime) -> SurveyState:
    """Tell whether the event's survey takes answers at `now`, and if not, why."""
    phase = event.phase(now)
    if phase == Phase.CANCELLED:
        return SurveyState.CANCELLED
    if not event.survey_enabled:
        return SurveyState.OFF
    if event.survey_closed_at is not None and event.survey_closed_at <= now:
        return SurveyState.CLOSED  # even before the end: closed early, it will not open
    if phase != Phase.ENDED:
        return SurveyState.NOT_YET
    return SurveyState.OPEN


def survey_open(event: Event, now: datetime) -> bool:
    """Tell whether the survey takes answers at `now`: on, the event over, not closed."""
    return survey_state(event, now) == SurveyState.OPEN


def may_answer(registration: Registration) -> bool:
    """Tell whether this registration has a say: confirmed, and its person not forgotten."""
    return registration.status == RegistrationStatus.CONFIRMED and registration.erased_at is None


def answer_for(registration: Registration) -> SurveyAnswer | None:
    """Return the registration's answer, or None."""
    return db.session.scalars(
        select(SurveyAnswer).where(SurveyAnswer.registration_id == registration.id)
    ).first()


def save_answer(
    registration: Registration, data: AnswerData, now: datetime | None = None
) -> SurveyAnswer:
    """Record the answer, or replace the one already given; refuse when the survey is not open."""
    now = now or now_utc()
    if not may_answer(registration):
        raise NotAllowed()
    if not survey_open(registration.event, now):
        raise SurveyNotOpen()
    if data.rating not in RATINGS:
        raise ValueError(f"rating {data.rating} is not between 1 and 5")
    answer = answer_for(registration)
    if answer is None:
        answer = SurveyAnswer(
            registration_id=registration.id, event_id=registration.event_id, created_at=now
        )
        db.session.add(answer)
    answer.rating = data.rating
    answer.most_useful = data.most_useful
    answer.to_improve = data.to_improve
    answer.next_topics = data.next_topics
    answer.updated_at = now
    db.session.flush()
    return answer


def delete_answer(registration: Registration) -> None:
    """Delete the registration's answer, if any (an erasure forgets what the person wrote)."""
    db.session.execute(
        delete(SurveyAnswer)
        .where(SurveyAnswer.registration_id == registration.id)
        .execution_options(synchronize_session="fetch")
    )


def close_survey(event: Event, now: datetime | None = None) -> bool:
    """Stop taking answers from `now`; return whether it was open to answers until then."""
    if event.survey_closed_at is not None:
        return False
    event.survey_closed_at = now or now_utc()
    db.session.flush()
    return True


def reopen_survey(event: Event) -> bool:
    """Take answers again after a close; return whether it was closed."""
    if event.survey_closed_at is None:
        return False
    event.survey_closed_at = None
    db.session.flush()
    return True


def set_enabled(event: Event, enabled: bool) -> bool:
    """Turn the event's survey on or off; return whether that changed anything."""
    if event.survey_enabled == enabled:
        return False
    event.survey_enabled = enabled
    db.session.flush()
    return True


def personal_answer(registration: Registration) -> dict[str, Any] | None:
    """Return the registration's answer for the download of its personal data, or None."""
    answer = answer_for(registration)
    if answer is None:
        return None
    return {
        "rating": answer.rating,
        **{name: getattr(answer, name) for name in TEXT_QUESTIONS},
        "created_at": answer.created_at.isoformat(),
        "updated_at": answer.updated_at.isoformat(),
    }


# --- what the organiser sees ------------------------------------------------------------------


@dataclass
class Summary:
    """An event's answers in figures: how many, the average and the count of each rating."""

    answers: int = 0
    attended: int = 0  # registrations that clicked their connection link at least once
    average: float | None = None
    distribution: dict[int, int] = field(default_factory=lambda: dict.fromkeys(RATINGS, 0))

    @property
    def most(self) -> int:
        """Return the largest count of one rating (the top of the chart's scale)."""
        return max(self.distribution.values(), default=0)


def survey_summary(event: Event) -> Summary:
    """Count the answers, average and spread their ratings, and count the attendees: two queries."""
    per_rating = db.session.execute(
        select(SurveyAnswer.rating, func.count())
        .where(SurveyAnswer.event_id == event.id)
        .group_by(SurveyAnswer.rating)
    ).all()
    attended = db.session.scalar(
        select(func.count())
        .select_from(Registration)
        .where(Registration.event_id == event.id, Registration.first_joined_at.is_not(None))
    )
    summary = Summary(attended=attended or 0)
    for rating, count in per_rating:
        summary.distribution[rating] = count
    summary.answers = sum(summary.distribution.values())
    if summary.answers:
        total = sum(rating * count for rating, count in summary.distribution.items())
        summary.average = total / summary.answers
    return summary


def text_answers(event: Event, question: str):
    """Select the answers of an event that say something to one free-text question, newest first."""
    if question not in TEXT_QUESTIONS:
        raise ValueError(question)
    column = getattr(SurveyAnswer, question)
    return (
        select(SurveyAnswer)
        .where(SurveyAnswer.event_id == event.id, column != "")
        .order_by(SurveyAnswer.updated_at.desc(), SurveyAnswer.id.desc())
    )


def csv_headers() -> list[str]:
    return [
        gettext("Note (1 à 5)"),
        gettext("Ce qui a été le plus utile"),
        gettext("Ce qu'il faudrait améliorer"),
        gettext("Sujets souhaités pour la suite"),
        gettext("Réponse donnée le"),
        gettext("Modifiée le"),
    ]


def csv_lines(event: Event) -> Iterator[str]:
    """Yield the answers as a CSV file that French Excel opens: BOM, ";", formulas kept as text.

    No name nor address: the organiser reads what was said, not who said it.
    """
    tz = event.tz
    answers = db.session.scalars(
        select(SurveyAnswer)
        .where(SurveyAnswer.event_id == event.id)
        .order_by(SurveyAnswer.created_at, SurveyAnswer.id)
    )
    rows = (
        [
            str(answer.rating),
            *(text_cell(getattr(answer, name)) for name in TEXT_QUESTIONS),
            moment_cell(answer.created_at, tz),
            moment_cell(answer.updated_at, tz),
        ]
        for answer in answers
    )
    return csv_stream(csv_headers(), rows)
