"""The answers to an event's satisfaction survey, one per registration."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.registrations.models import Registration

RATINGS = (1, 2, 3, 4, 5)


class SurveyAnswer(db.Model):
    """One registrant's answer to the survey of the event they registered to."""

    __tablename__ = "survey_answers"
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="rating_1_to_5"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique: a second post changes the answer, the database refuses a second row.
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("registrations.id", ondelete="CASCADE"), unique=True
    )
    # A copy of the registration's event, so that the summary reads one table.
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    rating: Mapped[int]
    most_useful: Mapped[str] = mapped_column(Text, default="")
    to_improve: Mapped[str] = mapped_column(Text, default="")
    next_topics: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    updated_at: Mapped[datetime] = mapped_column(default=now_utc)

    registration: Mapped[Registration] = relationship()

    def __repr__(self) -> str:
        return f"<SurveyAnswer {self.id} {self.rating}/5>"
