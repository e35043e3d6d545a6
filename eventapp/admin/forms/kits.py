"""Back-office forms for kits and their sheets."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from eventapp.admin.forms.fields import (
    REQUIRED,
    TIMEZONES,
    CheckboxListField,
    check_local,
    choices,
    local_datetime,
    slug_field,
    text_field,
    zone,
)

WEEKDAY_CHOICES = [
    ("", _l("Le jour de la première date")),
    ("0", _l("Lundi")),
    ("1", _l("Mardi")),
    ("2", _l("Mercredi")),
    ("3", _l("Jeudi")),
    ("4", _l("Vendredi")),
    ("5", _l("Samedi")),
    ("6", _l("Dimanche")),
]


def _themes(value: str | None) -> list[str]:
    return [theme.strip() for theme in (value or "").split(",") if theme.strip()]


class LocalTimeForm(FlaskForm):
    """Read one datetime-local field in the kit's zone; keep its UTC value once valid."""

    # The field read, and the attribute given its UTC value (None when empty or invalid).
    local_field = "release_at"
    utc_attribute = "release_utc"

    def __init__(self, *args, tz_name: str = "Europe/Paris", **kwargs):
        super().__init__(*args, **kwargs)
        self.tz = zone(tz_name)
        setattr(self, self.utc_attribute, None)

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        field = self[self.local_field]
        setattr(self, self.utc_attribute, check_local(field, self.tz))
        return not field.errors


class KitForm(FlaskForm):
    """Create or edit a kit."""

    title = text_field(_l("Titre"), 200, required=True)
    slug = slug_field()
    description = TextAreaField(_l("Présentation"), validators=[Optional(), Length(max=20000)])
    events = CheckboxListField(_l("Événements liés"), coerce=int)
    timezone = SelectField(
        _l("Fuseau horaire des parutions"), choices=choices(TIMEZONES), default="Europe/Paris"
    )
    published = BooleanField(_l("Kit visible du public"))
    show_upcoming_titles = BooleanField(_l("Montrer le titre des fiches à paraître"))


class SheetForm(LocalTimeForm):
    """Create or edit a sheet; the release date is set here at creation, then rescheduled."""

    number = IntegerField(
        _l("Numéro"),
        validators=[
            DataRequired(REQUIRED),
            NumberRange(min=1, max=999, message=_l("Entre 1 et 999.")),
        ],
    )
    title = text_field(_l("Titre"), 200, required=True)
    summary = TextAreaField(_l("Résumé"), validators=[Optional(), Length(max=2000)])
    themes = text_field(_l("Thèmes"), 500)
    accessible_body = TextAreaField(
        _l("Version accessible (texte)"), validators=[Optional(), Length(max=100000)]
    )
    release_at = local_datetime(_l("Date de parution"))
    pdf = FileField(_l("Fiche (PDF)"))
    accessible_pdf = FileField(_l("Version accessible (PDF balisé)"))

    def content(self) -> dict:
        """Return what update_sheet takes."""
        return {
            "title": self.title.data,
            "summary": (self.summary.data or "").replace("\r\n", "\n"),
            "themes": _themes(self.themes.data),
            "accessible_body": (self.accessible_body.data or "").replace("\r\n", "\n"),
        }


class RescheduleForm(LocalTimeForm):
    """Move one sheet's release; empty takes it off the calendar."""

    release_at = local_datetime(_l("Nouvelle date de parution"))


class WeeklyScheduleForm(LocalTimeForm):
    """Lay every sheet out on a weekly calendar, in order of number."""

    local_field = "first_release"
    utc_attribute = "first_utc"

    first_release = local_datetime(_l("Première parution"), required=True)
    weekday = SelectField(_l("Jour de parution"), choices=choices(WEEKDAY_CHOICES), default="")
    every_weeks = IntegerField(
        _l("Toutes les … semaines"),
        default=1,
        validators=[DataRequired(REQUIRED), NumberRange(min=1, max=8, message=_l("Entre 1 et 8."))],
    )
    include_announced = BooleanField(_l("Déplacer aussi les fiches déjà annoncées par mail"))
    confirmed = BooleanField()
