"""Back-office forms for speakers and their place on events."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
    SelectField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from eventapp.admin.forms.fields import (
    REQUIRED,
    WEB_ADDRESS_MESSAGE,
    choices,
    is_web_address,
    text_field,
)
from eventapp.speakers.models import SpeakerRole

ROLE_CHOICES = [
    (SpeakerRole.SPEAKER.value, _l("Intervention")),
    (SpeakerRole.MODERATOR.value, _l("Animation")),
    (SpeakerRole.HOST.value, _l("Accueil")),
    (SpeakerRole.PANELIST.value, _l("Table ronde")),
]
MAX_LINKS = 10


def _links(value: str | None) -> list[str]:
    return [line.strip() for line in re.split(r"[\r\n]+", value or "") if line.strip()]


class SpeakerForm(FlaskForm):
    """Create or edit a speaker, with an optional photo."""

    name = text_field(_l("Nom"), 200, required=True)
    role_line = text_field(_l("Fonction"), 300)
    organisation = text_field(_l("Structure"), 200)
    bio = TextAreaField(_l("Biographie"), validators=[Optional(), Length(max=5000)])
    links = TextAreaField(_l("Liens"), validators=[Optional(), Length(max=3000)])
    photo = FileField(_l("Photo"))
    remove_photo = BooleanField(_l("Retirer la photo actuelle"))

    def validate_links(self, field) -> None:
        links = _links(field.data)
        if len(links) > MAX_LINKS:
            raise ValidationError(
                ngettext("%(num)d lien au plus.", "%(num)d liens au plus.", MAX_LINKS)
            )
        wrong = [link for link in links if not is_web_address(link)]
        if wrong:
            raise ValidationError(f"{WEB_ADDRESS_MESSAGE} ({wrong[0]})")

    def values(self) -> dict[str, Any]:
        return {
            "name": self.name.data,
            "role_line": self.role_line.data or "",
            "organisation": self.organisation.data or "",
            "bio": (self.bio.data or "").replace("\r\n", "\n"),
            "links": _links(self.links.data),
        }


class AttachSpeakerForm(FlaskForm):
    """Put a speaker on an event, at the end of the list."""

    speaker_id = SelectField(_l("Intervenant·e"), coerce=int, validators=[DataRequired(REQUIRED)])
    role = SelectField(_l("Rôle"), choices=choices(ROLE_CHOICES))


class SpeakerRoleForm(FlaskForm):
    """Change a speaker's role on one event."""

    role = SelectField(_l("Rôle"), choices=choices(ROLE_CHOICES))


class ReorderForm(FlaskForm):
    """The whole order at once, as sent by the drag-and-drop enhancement."""

    order = HiddenField(validators=[DataRequired()])
