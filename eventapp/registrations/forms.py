"""The registration form and the attendee space's small forms."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from eventapp.validators import single_line, valid_email, without_control_characters

CATEGORY_LABELS = {
    "elu": _l("Élu·e"),
    "agent": _l("Agent·e de collectivité"),
    "ess": _l("Structure de l'ESS"),
    "journaliste": _l("Journaliste"),
    "autre": _l("Autre"),
}
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


class RegistrationForm(FlaskForm):
    """Register for an event."""

    full_name = StringField(
        _l("Prénom et nom"),
        validators=[DataRequired(_l("Indiquez votre nom.")), Length(max=200), single_line],
        render_kw={"autocomplete": "name"},
    )
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
    organisation = StringField(
        _l("Structure ou collectivité"),
        validators=[Optional(), Length(max=200), single_line],
        render_kw={"autocomplete": "organization"},
    )
    category = SelectField(
        _l("Vous êtes"), validators=[DataRequired(_l("Choisissez une catégorie."))]
    )
    wants_followups = BooleanField(_l("Envoyez-moi un mail pour chaque nouvelle fiche de ce kit"))
    # Honeypot: hidden from people; a bot that fills it is turned away.
    website = StringField(_l("Laissez ce champ vide"))
    utm_source = HiddenField(validators=[Length(max=100)], filters=[without_control_characters])
    utm_medium = HiddenField(validators=[Length(max=100)], filters=[without_control_characters])
    utm_campaign = HiddenField(validators=[Length(max=100)], filters=[without_control_characters])
    utm_term = HiddenField(validators=[Length(max=100)], filters=[without_control_characters])
    utm_content = HiddenField(validators=[Length(max=100)], filters=[without_control_characters])
    referrer = HiddenField(validators=[Length(max=500)], filters=[without_control_characters])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        keys = current_app.config["REGISTRATION_CATEGORIES"]
        self.category.choices = [("", _l("Choisissez…"))] + [
            (key, CATEGORY_LABELS.get(key, key)) for key in keys
        ]

    def validate_website(self, field) -> None:
        if field.data:
            raise ValidationError(_l("Votre inscription n'a pas pu être enregistrée."))

    def utm(self) -> dict[str, str]:
        return {name: getattr(self, name).data for name in UTM_FIELDS if getattr(self, name).data}


class ConfirmForm(FlaskForm):
    """A button that changes something (cancel, follow-ups): CSRF and nothing else."""


class EraseForm(FlaskForm):
    """Erase my data, once the box is ticked."""

    confirm = BooleanField(
        _l("Je confirme vouloir effacer mes données : cette action est définitive."),
        validators=[DataRequired(_l("Cochez la case pour confirmer."))],
    )
