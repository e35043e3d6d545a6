"""Back-office forms for press releases, their files, and press contacts."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, EmailField, IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from eventapp.admin.forms.fields import (
    REQUIRED,
    CheckboxListField,
    check_local,
    local_datetime,
    slug_field,
    strip,
    text_field,
    web_address,
    zone,
)
from eventapp.press.forms import phone_number
from eventapp.validators import single_line, valid_email


class ReleaseForm(FlaskForm):
    """Write a press release; it is public from its publication time on."""

    title = text_field(_l("Titre"), 200, required=True)
    slug = slug_field()
    summary = text_field(_l("Résumé (aperçu de partage)"), 500)
    body = TextAreaField(_l("Texte"), validators=[Optional(), Length(max=50000)])
    dateline_place = text_field(_l("Lieu (dateline)"), 100)
    dateline_date = DateField(_l("Date (dateline)"), validators=[DataRequired(REQUIRED)])
    event_id = SelectField(_l("Événement lié"), coerce=int, default=0)
    published_at = local_datetime(_l("Publication"))
    contacts = CheckboxListField(_l("Contacts presse"), coerce=int)
    image = FileField(_l("Image (JPEG, PNG ou WebP)"))
    image_alt = text_field(_l("Description de l'image (texte alternatif)"), 300)
    remove_image = BooleanField(_l("Retirer l'image actuelle"))

    def __init__(self, *args, tz_name: str = "Europe/Paris", **kwargs):
        super().__init__(*args, **kwargs)
        self.tz = zone(tz_name)
        self.published_utc = None

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        self.published_utc = check_local(self.published_at, self.tz)
        uploading = self.image.data and getattr(self.image.data, "filename", "")
        if uploading and not self.image_alt.data:
            self.image_alt.errors.append(
                _l("Décrivez l'image pour les personnes qui ne la voient pas.")
            )
        return not (self.published_at.errors or self.image_alt.errors)


class AttachmentForm(FlaskForm):
    """Attach a PDF (the press kit) to a release."""

    title = text_field(_l("Titre du document"), 200, required=True)
    file = FileField(_l("Fichier PDF"))


class ContactForm(FlaskForm):
    """A person journalists can reach."""

    name = text_field(_l("Nom"), 200, required=True)
    role = text_field(_l("Fonction"), 200)
    organisation = text_field(_l("Structure"), 200)
    email = EmailField(
        _l("Adresse mail"),
        validators=[DataRequired(REQUIRED), Length(max=254), single_line, valid_email],
        filters=[strip],
    )
    phone = text_field(_l("Téléphone"), 40)
    social_handle = text_field(_l("Compte sur les réseaux sociaux"), 100)
    social_url = text_field(_l("Adresse du compte"), 300)
    street = text_field(_l("Adresse"), 300)
    postcode = text_field(_l("Code postal"), 20)
    city = text_field(_l("Ville"), 100)
    country = text_field(_l("Pays"), 100)
    is_default = BooleanField(
        _l("Contact par défaut (répond pour les communiqués qui n'en nomment aucun)")
    )
    position = IntegerField(
        _l("Ordre d'affichage"),
        default=0,
        validators=[Optional(), NumberRange(min=0, max=999, message=_l("Entre 0 et 999."))],
    )

    def validate_phone(self, field) -> None:
        original = field.data
        phone_number(self, field)
        field.data = original  # kept as written ("07 81 50 06 46"); links format it themselves

    def validate_social_url(self, field) -> None:
        web_address(self, field)

    def values(self) -> dict:
        return {
            name: (self[name].data or "")
            for name in (
                "name",
                "role",
                "organisation",
                "email",
                "phone",
                "social_handle",
                "social_url",
                "street",
                "postcode",
                "city",
                "country",
            )
        } | {"is_default": bool(self.is_default.data), "position": self.position.data or 0}
