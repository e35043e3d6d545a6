"""Form pieces every back-office form shares: local date-times, URLs, slugs, checkbox lists."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import lazy_gettext as _l
from wtforms import DateTimeLocalField, SelectChoice, SelectMultipleField, StringField, widgets
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from eventapp.i18n import chars_at_most
from eventapp.validators import single_line

LOCAL_FORMAT = "%Y-%m-%dT%H:%M"
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
REQUIRED = _l("Ce champ est obligatoire.")

# The zones a French network meets: mainland, neighbours, overseas; UTC for the rest.
TIMEZONES = [
    ("Europe/Paris", _l("Paris (France métropolitaine)")),
    ("Europe/Brussels", _l("Bruxelles")),
    ("Europe/Luxembourg", _l("Luxembourg")),
    ("Europe/Zurich", _l("Zurich")),
    ("America/Guadeloupe", _l("Guadeloupe")),
    ("America/Martinique", _l("Martinique")),
    ("America/Cayenne", _l("Guyane")),
    ("Indian/Reunion", _l("La Réunion")),
    ("Indian/Mayotte", _l("Mayotte")),
    ("Pacific/Noumea", _l("Nouvelle-Calédonie")),
    ("Pacific/Tahiti", _l("Tahiti")),
    ("America/Montreal", _l("Montréal")),
    ("UTC", _l("UTC")),
]


def choices(pairs) -> list[SelectChoice]:
    """Turn (value, label) pairs into the options a SelectField takes."""
    return [SelectChoice(value, label) for value, label in pairs]


class NonexistentTime(ValueError):
    """A wall-clock time skipped by a daylight saving change."""


def strip(value):
    return value.strip() if isinstance(value, str) else value


def zone(name: str) -> ZoneInfo:
    """Return the zone with this IANA name, or UTC for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_to_utc(wall: datetime, tz: ZoneInfo) -> datetime:
    """Read a wall-clock time in `tz` and return it in UTC; refuse a time that never happens."""
    aware = wall.replace(tzinfo=tz)
    if aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall:
        raise NonexistentTime(wall)
    return aware.astimezone(UTC)


def utc_to_local(moment: datetime | None, tz: ZoneInfo) -> datetime | None:
    """Return the wall-clock time of a UTC moment in `tz`, naive, for a datetime-local input."""
    return moment.astimezone(tz).replace(tzinfo=None) if moment else None


def local_datetime(label, required: bool = False) -> DateTimeLocalField:
    return DateTimeLocalField(
        label,
        format=LOCAL_FORMAT,
        validators=[DataRequired(REQUIRED) if required else Optional()],
    )


def check_local(field, tz: ZoneInfo) -> datetime | None:
    """Return a datetime-local field's value in UTC, or add an error for a skipped time."""
    if field.data is None:
        return None
    try:
        return local_to_utc(field.data, tz)
    except NonexistentTime:
        field.errors.append(
            _l(
                "Cette heure n'existe pas ce jour-là (passage à l'heure d'été) : "
                "choisissez-en une autre."
            )
        )
        return None


WEB_ADDRESS_MESSAGE = _l("Indiquez une adresse web complète, commençant par https://.")


def is_web_address(value: str) -> bool:
    """Tell whether a value is an http or https address with a host and no blank."""
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not re.search(r"\s", value)


def web_address(form, field) -> None:
    """Accept an http or https address with a host."""
    if field.data and not is_web_address(field.data):
        raise ValidationError(WEB_ADDRESS_MESSAGE)


def slug_format(form, field) -> None:
    if field.data and not SLUG.match(field.data):
        raise ValidationError(
            _l(
                "Lettres minuscules sans accent, chiffres et tirets seulement, "
                "par exemple lancement-kit."
            )
        )


def text_field(label, max_chars: int, required: bool = False, **kwargs) -> StringField:
    return StringField(
        label,
        validators=[
            DataRequired(REQUIRED) if required else Optional(),
            single_line,
            Length(max=max_chars, message=chars_at_most(max_chars)),
        ],
        filters=[strip],
        **kwargs,
    )


def slug_field() -> StringField:
    return StringField(
        _l("Adresse courte (slug)"),
        validators=[Optional(), Length(max=120), slug_format],
        filters=[lambda value: value.strip().lower() if isinstance(value, str) else value],
    )


class CheckboxListField(SelectMultipleField):
    """A list of checkboxes (a fieldset), where a multiple select would be hard to use."""

    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()
