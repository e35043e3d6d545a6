"""The kit subscription form and the confirmation button."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Length

from eventapp.validators import single_line, valid_email


class SubscribeForm(FlaskForm):
    """Subscribe to a kit alone: one mail per new sheet, after a confirmation."""

    email = EmailField(
        _l("Adresse mail"),
        validators=[
            DataRequired(_l("Indiquez votre adresse mail.")),
            Length(max=254),
            single_line,
            valid_email,
        ],
        render_kw={"autocomplete": "email"},
    )
    # Honeypot: hidden from people; a bot that fills it is turned away without a word.
    website = StringField(_l("Laissez ce champ vide"))

    def is_spam(self) -> bool:
        """Tell whether the honeypot was filled in."""
        return bool(self.website.data)


class ConfirmSubscriptionForm(FlaskForm):
    """The button that confirms a subscription: CSRF and nothing else."""
