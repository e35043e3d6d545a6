"""The organisers' message to an event's registrants, previewed before it is queued."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, ValidationError

from eventapp.admin.forms.fields import (
    REQUIRED,
    text_field,
)


def _normalise_text(value):
    return value.replace("\r\n", "\n").strip() if isinstance(value, str) else value


class MessageForm(FlaskForm):
    """A message from the organisers, previewed before it is queued."""

    subject = text_field(_l("Objet"), 200, required=True)
    body = TextAreaField(
        _l("Message"),
        validators=[DataRequired(REQUIRED), Length(max=10000)],
        filters=[_normalise_text],
    )
    # Made at the preview and sent back with the message: the same send, posted twice (a double
    # click, a reload), has the same dedupe keys and goes out once.
    send_id = HiddenField()
    confirmed = HiddenField()

    def validate_send_id(self, field) -> None:
        if field.data and not re.fullmatch(r"[0-9a-f]{32}", field.data):
            raise ValidationError(_l("Ce formulaire a expiré : recommencez l'envoi."))
