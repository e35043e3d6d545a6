"""Back-office forms for kits and their sheets."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from eventapp.admin.fields import (
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


class KitForm(FlaskForm):
    """Create or edit a kit."""

    title = text_field(_l("Titre"), 200, required=True)
    slug = slug_field()
    description = TextAreaField(_l("Présentation"), validators=[Optional(), Length(max=20000)])
    events = CheckboxListField(_l("Événements liés"), coerce=int)
    timezone = SelectField(_l("Fuseau horaire des parutions"), choices=choices(TIMEZONES),
                           default="Europe/Paris")
    published = BooleanField(_l("Kit visible du public"))
    show_upcoming_titles = BooleanField(_l("Montrer le titre des fiches à paraître"))


class SheetForm(FlaskForm):
    """Create or edit a sheet; the release date is set here at creation, then rescheduled."""

    number = IntegerField(
        _l("Numéro"),
        validators=[
            DataRequired(REQUIRED), NumberRange(min=1, max=999, message=_l("Entre 1 et 999."))
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

    def __init__(self, *args, tz_name: str = "Europe/Paris", **kwargs):
        super().__init__(*args, **kwargs)
        self.tz = zone(tz_name)
        self.release_utc = None

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        self.release_utc = check_local(self.release_at, self.tz)
        return not self.release_at.errors

    def content(self) -> dict:
        """Return what update_sheet takes."""
        return {
            "title": self.title.data,
            "summary": (self.summary.data or "").replace("\r\n", "\n"),
            "themes": _themes(self.themes.data),
            "accessible_body": (self.accessible_body.data or "").replace("\r\n", "\n"),
        }


class RescheduleForm(FlaskForm):
    """Move one sheet's release; empty takes it off the calendar."""

    release_at = local_datetime(_l("Nouvelle date de parution"))

    def __init__(self, *args, tz_name: str = "Europe/Paris", **kwargs):
        super().__init__(*args, **kwargs)
        self.tz = zone(tz_name)
        self.release_utc = None

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        self.release_utc = check_local(self.release_at, self.tz)
        return not self.release_at.errors


class WeeklyScheduleForm(FlaskForm):
    """Lay every sheet out on a weekly calendar, in order of number."""

    first_release = local_datetime(_l("Première parution"), required=True)
    weekday = SelectField(_l("Jour de parution"), choices=choices(WEEKDAY_CHOICES), default="")
    every_weeks = IntegerField(
        _l("Toutes les … semaines"),
        default=1,
        validators=[DataRequired(REQUIRED), NumberRange(min=1, max=8, message=_l("Entre 1 et 8."))],
    )
    include_announced = BooleanField(_l("Déplacer aussi les fiches déjà annoncées par mail"))
    confirmed = BooleanField()

    def __init__(self, *args, tz_name: str = "Europe/Paris", **kwargs):
        super().__init__(*args, **kwargs)
        self.tz = zone(tz_name)
        self.first_utc = None

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        self.first_utc = check_local(self.first_release, self.tz)
        return not self.first_release.errors
