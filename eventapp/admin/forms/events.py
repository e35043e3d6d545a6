"""The back-office form of an event, and the names of reminder offsets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Length, NumberRange, Optional

from eventapp.admin.forms.fields import (
    TIMEZONES,
    CheckboxListField,
    check_local,
    choices,
    local_datetime,
    slug_field,
    strip,
    text_field,
    web_address,
    zone,
)
from eventapp.events.models import EventKind

KIND_CHOICES = [
    (EventKind.ONLINE.value, _l("En ligne (visioconférence)")),
    (EventKind.IN_PERSON.value, _l("En présentiel")),
    (EventKind.HYBRID.value, _l("Hybride")),
]
# Reminder offsets in minutes before the start.
REMINDER_PRESETS = [
    (7 * 24 * 60, _l("une semaine avant")),
    (2 * 24 * 60, _l("deux jours avant")),
    (24 * 60, _l("la veille (24 heures avant)")),
    (3 * 60, _l("trois heures avant")),
    (60, _l("une heure avant")),
    (15, _l("un quart d'heure avant")),
]


def reminder_label(minutes: int) -> str:
    """Name an offset that is not a preset: "90 minutes avant"."""
    return ngettext("%(num)d minute avant", "%(num)d minutes avant", minutes)


def reminder_text(minutes: int) -> str:
    """Name any offset: "la veille (24 heures avant)", "90 minutes avant"."""
    return str(dict(REMINDER_PRESETS).get(minutes) or reminder_label(minutes))


class EventForm(FlaskForm):
    """Create or edit an event; times are read in the event's own time zone."""

    title = text_field(_l("Titre"), 200, required=True)
    slug = slug_field()
    summary = text_field(_l("Résumé"), 500)
    description = TextAreaField(_l("Présentation"), validators=[Optional(), Length(max=20000)])
    kind = SelectField(_l("Format"), choices=choices(KIND_CHOICES))
    timezone = SelectField(_l("Fuseau horaire"), choices=choices(TIMEZONES), default="Europe/Paris")
    starts_at = local_datetime(_l("Début"), required=True)
    ends_at = local_datetime(_l("Fin"), required=True)
    venue = text_field(_l("Lieu"), 300)
    capacity = IntegerField(
        _l("Nombre de places"),
        validators=[
            Optional(),
            NumberRange(min=0, max=1_000_000, message=_l("Entre 0 et 1 000 000.")),
        ],
    )
    waitlist_enabled = BooleanField(_l("Liste d'attente quand l'événement est complet"))
    registration_opens_at = local_datetime(_l("Ouverture des inscriptions"))
    registration_closes_at = local_datetime(_l("Clôture des inscriptions"))
    connection_url = StringField(
        _l("Lien de visioconférence"),
        validators=[Optional(), Length(max=500), web_address],
        filters=[strip],
    )
    connection_url_public = BooleanField(_l("Publier ce lien sur la page de l'événement"))
    reminder_offsets = CheckboxListField(
        _l("Rappels par mail"), coerce=int, choices=choices(REMINDER_PRESETS)
    )

    def __init__(self, *args, extra_reminders: list[int] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        known = {value for value, _label in REMINDER_PRESETS}
        extras = sorted({m for m in extra_reminders or [] if m not in known}, reverse=True)
        self.reminder_offsets.choices = choices(
            [*REMINDER_PRESETS, *((m, reminder_label(m)) for m in extras)]
        )
        self.times: dict[str, datetime | None] = {}

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        tz = zone(self.timezone.data)
        for name in ("starts_at", "ends_at", "registration_opens_at", "registration_closes_at"):
            self.times[name] = check_local(self[name], tz)
        if any(self[name].errors for name in self.times):
            return False
        starts, ends = self.times["starts_at"], self.times["ends_at"]
        if starts and ends and ends <= starts:
            self.ends_at.errors.append(_l("La fin doit suivre le début."))
        opens, closes = self.times["registration_opens_at"], self.times["registration_closes_at"]
        if opens and closes and closes <= opens:
            self.registration_closes_at.errors.append(_l("La clôture doit suivre l'ouverture."))
        if self.connection_url_public.data and not self.connection_url.data:
            self.connection_url_public.errors.append(_l("Indiquez d'abord le lien à publier."))
        return not any(field.errors for field in self)

    def values(self) -> dict[str, Any]:
        """Return the model's values, times in UTC; the form must have validated."""
        return {
            "title": self.title.data,
            "summary": self.summary.data or "",
            "description": (self.description.data or "").replace("\r\n", "\n"),
            "kind": EventKind(self.kind.data),
            "timezone": self.timezone.data,
            "starts_at": self.times["starts_at"],
            "ends_at": self.times["ends_at"],
            "venue": self.venue.data or "",
            "capacity": self.capacity.data,
            "waitlist_enabled": bool(self.waitlist_enabled.data),
            "registration_opens_at": self.times["registration_opens_at"],
            "registration_closes_at": self.times["registration_closes_at"],
            "connection_url": self.connection_url.data or "",
            "connection_url_public": bool(self.connection_url_public.data),
            "reminder_offsets": sorted(set(self.reminder_offsets.data or []), reverse=True),
        }
