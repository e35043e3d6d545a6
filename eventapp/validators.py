"""The field checks several forms share: one line, no invisible characters, a mail address."""

from __future__ import annotations

import unicodedata

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from wtforms.validators import StopValidation, ValidationError

# Every character Python's str.splitlines() breaks on: a mail client may too, in a header.
LINE_BREAKS = {"\r", "\n", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"}

# A valid address whose mailbox name has accents would need SMTPUTF8 from every relay on the
# way, which the outbox cannot count on: refused on the form, where the person can change it.
NON_ASCII_MAILBOX = _l(
    "Cette adresse contient des caractères accentués avant l'arobase, que notre service de "
    "messagerie ne sait pas encore acheminer : utilisez une autre adresse."
)


def single_line(form, field) -> None:
    """Refuse line breaks and invisible control characters, checked on the raw input."""
    # Checked before any filter runs, and with StopValidation: one clear message, and the
    # checks after this one never see such a value (names end up in mail headers).
    raw = field.raw_data[0] if field.raw_data else ""
    if not isinstance(raw, str):
        return
    if any(char in LINE_BREAKS for char in raw):
        raise StopValidation(_l("Ce champ doit tenir sur une seule ligne."))
    if any(unicodedata.category(char) == "Cc" and char != "\t" for char in raw):
        raise StopValidation(_l("Ce champ contient un caractère invisible non autorisé."))


def printable_text(form, field) -> None:
    """Refuse control characters other than tabs and line breaks (NUL breaks PostgreSQL)."""
    if any(unicodedata.category(char) == "Cc" and char not in "\t\n" for char in field.data or ""):
        raise StopValidation(_l("Le message contient un caractère invisible non autorisé."))


def without_control_characters(value):
    """Filter: drop control characters from a value the person never typed (hidden fields)."""
    if not isinstance(value, str):
        return value
    return "".join(char for char in value if unicodedata.category(char) != "Cc")


def normalised_address(address: str, invalid_message: str) -> str:
    """Return the normalised form of an address mail can carry, or refuse it with a clear
    message (international domains are fine: the outbox sends them in their ASCII form)."""
    try:
        return validate_email(address, check_deliverability=False, allow_smtputf8=False).normalized
    except EmailNotValidError as error:
        try:
            validate_email(address, check_deliverability=False)
        except EmailNotValidError:
            raise ValidationError(invalid_message) from error
        raise ValidationError(NON_ASCII_MAILBOX) from error


def valid_email(form, field) -> None:
    """Check the address with email-validator and keep its normalised form."""
    if not field.data:
        return
    field.data = normalised_address(field.data.strip(), _l("Cette adresse mail n'est pas valide."))
