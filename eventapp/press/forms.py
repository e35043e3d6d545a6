"""The press inquiry form: every single-line field refuses line breaks (they end up in headers)."""

from __future__ import annotations

import phonenumbers
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField, TelField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from eventapp.i18n import chars_at_most
from eventapp.validators import normalised_address, printable_text, single_line


def message_length(form, field) -> None:
    """Bound the message by the configured number of characters."""
    limit = current_app.config["PRESS_INQUIRY_MAX_MESSAGE_CHARS"]
    if len(field.data or "") > limit:
        raise ValidationError(
            ngettext(
                "Le message est trop long : %(num)d caractère pour %(limit)d au plus. "
                "Raccourcissez-le ou joignez vos documents à votre réponse par mail.",
                "Le message est trop long : %(num)d caractères pour %(limit)d au plus. "
                "Raccourcissez-le ou joignez vos documents à votre réponse par mail.",
                len(field.data),
                limit=limit,
            )
        )


def email_address(form, field) -> None:
    """Accept a syntactically valid address and keep its normalised form."""
    field.data = normalised_address(
        field.data or "", _l("Indiquez une adresse mail valide, par exemple nom@journal.fr.")
    )


def phone_number(form, field) -> None:
    """Accept a possible phone number and keep it in international form."""
    if not field.data:
        return
    region = current_app.config["PRESS_PHONE_REGION"]
    try:
        number = phonenumbers.parse(field.data, region)
    except phonenumbers.NumberParseException as error:
        raise ValidationError(_phone_message()) from error
    if not phonenumbers.is_possible_number(number):
        raise ValidationError(_phone_message())
    field.data = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _phone_message():
    return _l("Indiquez un numéro de téléphone valide, par exemple 06 12 34 56 78.")


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _normalise_newlines(value: str | None) -> str | None:
    # Browsers send CRLF: count a line break as one character, as the writer sees it.
    if not isinstance(value, str):
        return value
    return value.replace("\r\n", "\n").replace("\r", "\n").strip()


REQUIRED = _l("Ce champ est obligatoire.")


def _text(label, max_chars: int, required: bool = True, **kwargs) -> StringField:
    first = DataRequired(REQUIRED) if required else Optional()
    return StringField(
        label,
        validators=[
            first,
            single_line,
            Length(max=max_chars, message=chars_at_most(max_chars)),
        ],
        filters=[_strip],
        **kwargs,
    )


class PressInquiryForm(FlaskForm):
    """What a journalist writes to the press team."""

    name = _text(_l("Nom et prénom"), 200)
    outlet = _text(_l("Média"), 200)
    email = EmailField(
        _l("Adresse mail"),
        validators=[
            DataRequired(REQUIRED),
            single_line,
            Length(max=254, message=chars_at_most(254)),
            email_address,
        ],
        filters=[_strip],
    )
    phone = TelField(
        _l("Téléphone"),
        validators=[
            Optional(),
            single_line,
            Length(max=40, message=chars_at_most(40)),
            phone_number,
        ],
        filters=[_strip],
    )
    subject = _text(_l("Objet"), 200)
    message = TextAreaField(
        _l("Message"),
        validators=[DataRequired(REQUIRED), printable_text, message_length],
        filters=[_normalise_newlines],
    )
    # Honeypot: hidden from people; a bot that fills every field gives itself away.
    website = StringField(_l("Ne pas remplir ce champ"))

    def is_spam(self) -> bool:
        """Tell whether the honeypot was filled in."""
        return bool(self.website.data)
