"""The survey form: a rating from 1 to 5 and three optional free-text answers."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, TextAreaField
from wtforms.validators import Length, StopValidation

from eventapp.i18n import chars_at_most
from eventapp.surveys.models import RATINGS
from eventapp.surveys.services import AnswerData
from eventapp.validators import printable_text

TEXT_MAX_CHARS = 2000

RATING_LABELS = {
    1: _l("1 – Pas du tout satisfait·e"),
    2: _l("2 – Peu satisfait·e"),
    3: _l("3 – Moyennement satisfait·e"),
    4: _l("4 – Satisfait·e"),
    5: _l("5 – Très satisfait·e"),
}

RATING_QUESTION = _l("Dans l'ensemble, êtes-vous satisfait·e de cet événement ?")
# The free-text questions, in the order of the form, named as the answer's columns.
TEXT_QUESTION_LABELS = [
    ("most_useful", _l("Qu'est-ce qui vous a été le plus utile ?")),
    ("to_improve", _l("Que devrions-nous améliorer ?")),
    ("next_topics", _l("Quels sujets aimeriez-vous voir aborder la prochaine fois ?")),
]
_LABELS = dict(TEXT_QUESTION_LABELS)


def _rating(value: object) -> int | None:
    """Read a rating as a number; anything else is None, which the check then refuses."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def rating_in_range(form, field) -> None:
    """Refuse a missing rating, or one outside 1–5, with one message in the person's language."""
    if field.data not in RATINGS:
        raise StopValidation(_l("Choisissez une note de 1 à 5."))


rating_in_range.field_flags = {"required": True}  # drawn as "(obligatoire)"


def _text(value: str | None) -> str:
    # Browsers send CRLF: a line break counts as one character, as the person sees it.
    if not isinstance(value, str):
        return ""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


def _text_field(label) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[
            printable_text,
            Length(max=TEXT_MAX_CHARS, message=chars_at_most(TEXT_MAX_CHARS)),
        ],
        filters=[_text],
    )


class SurveyForm(FlaskForm):
    """Say how the event went."""

    # validate_choice off: rating_in_range says what is wrong in French, not WTForms' English.
    rating = RadioField(
        RATING_QUESTION,
        choices=[SelectChoice(value, label) for value, label in RATING_LABELS.items()],
        coerce=_rating,
        validate_choice=False,
        validators=[rating_in_range],
    )
    most_useful = _text_field(_LABELS["most_useful"])
    to_improve = _text_field(_LABELS["to_improve"])
    next_topics = _text_field(_LABELS["next_topics"])

    def answer(self) -> AnswerData:
        """Return what was typed, for save_answer."""
        return AnswerData(
            rating=self.rating.data,
            most_useful=self.most_useful.data or "",
            to_improve=self.to_improve.data or "",
            next_topics=self.next_topics.data or "",
        )
