"""Sign-in, password and account forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from eventapp.auth.models import UserRole
from eventapp.auth.services import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from eventapp.validators import single_line, valid_email

ROLE_CHOICES = [
    SelectChoice(UserRole.EDITOR.value, _l("Éditeur·rice : tout gérer sauf les comptes")),
    SelectChoice(UserRole.ADMIN.value, _l("Administrateur·rice : tout, comptes compris")),
]


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def strong_enough(form, field) -> None:
    """Ask for a long password, and not the account's own address."""
    password = field.data or ""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            ngettext(
                "Au moins %(num)d caractère.", "Au moins %(num)d caractères.", MIN_PASSWORD_LENGTH
            )
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError(
            ngettext(
                "%(num)d caractère au plus.", "%(num)d caractères au plus.", MAX_PASSWORD_LENGTH
            )
        )
    email = getattr(form, "account_email", None) or (
        form.email.data if hasattr(form, "email") else None
    )
    if email and password.strip().casefold() == str(email).strip().casefold():
        raise ValidationError(_l("Le mot de passe ne peut pas être l'adresse mail."))


def _new_password(label) -> PasswordField:
    return PasswordField(
        label,
        validators=[DataRequired(_l("Choisissez un mot de passe.")), strong_enough],
        render_kw={"autocomplete": "new-password"},
    )


def _confirmation() -> PasswordField:
    return PasswordField(
        _l("Confirmez le mot de passe"),
        validators=[
            DataRequired(_l("Saisissez le mot de passe une seconde fois.")),
            EqualTo("password", _l("Les deux mots de passe sont différents.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )


class LoginForm(FlaskForm):
    """Sign in to the back office."""

    email = EmailField(
        _l("Adresse mail"),
        # single_line also refuses NUL, which PostgreSQL would not take even in a look-up.
        validators=[DataRequired(_l("Indiquez votre adresse mail.")), Length(max=254), single_line],
        filters=[_strip],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Mot de passe"),
        validators=[
            DataRequired(_l("Indiquez votre mot de passe.")),
            Length(max=MAX_PASSWORD_LENGTH),
        ],
        render_kw={"autocomplete": "current-password"},
    )
    next = HiddenField()


class LogoutForm(FlaskForm):
    """The sign-out button: CSRF and nothing else."""


class OwnPasswordForm(FlaskForm):
    """Change one's own password: the current one first."""

    current_password = PasswordField(
        _l("Mot de passe actuel"),
        validators=[DataRequired(_l("Indiquez votre mot de passe actuel."))],
        render_kw={"autocomplete": "current-password"},
    )
    password = _new_password(_l("Nouveau mot de passe"))
    confirm = _confirmation()

    def __init__(self, account_email: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.account_email = account_email


class NewUserForm(FlaskForm):
    """An admin opens an account for a colleague."""

    email = EmailField(
        _l("Adresse mail"),
        validators=[
            DataRequired(_l("Indiquez une adresse mail.")),
            Length(max=254),
            single_line,
            valid_email,
        ],
        filters=[_strip],
    )
    name = StringField(
        _l("Nom"), validators=[Optional(), Length(max=200), single_line], filters=[_strip]
    )
    role = SelectField(_l("Rôle"), choices=ROLE_CHOICES, default=UserRole.EDITOR.value)
    password = _new_password(_l("Mot de passe provisoire"))
    confirm = _confirmation()


class EditUserForm(FlaskForm):
    """An admin changes a colleague's name, role, or closes the account."""

    name = StringField(
        _l("Nom"), validators=[Optional(), Length(max=200), single_line], filters=[_strip]
    )
    role = SelectField(_l("Rôle"), choices=ROLE_CHOICES)
    active = BooleanField(_l("Compte actif (peut se connecter)"))


class SetPasswordForm(FlaskForm):
    """An admin gives a colleague a new password (forgotten password)."""

    password = _new_password(_l("Nouveau mot de passe"))
    confirm = _confirmation()

    def __init__(self, account_email: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.account_email = account_email
