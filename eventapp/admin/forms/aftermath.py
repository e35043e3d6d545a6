"""Back-office forms for what follows an event: the replay and the materials."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, StringField
from wtforms.validators import DataRequired, Length

from eventapp.admin.forms.fields import REQUIRED, strip, text_field, web_address


class ReplayForm(FlaskForm):
    """Publish the recording's address, with an optional transcript or captions file."""

    replay_url = StringField(
        _l("Adresse du replay"),
        description=_l("La page de la vidéo (PeerTube, YouTube, Vimeo, votre plateforme…)."),
        validators=[DataRequired(REQUIRED), Length(max=500), web_address],
        filters=[strip],
    )
    transcript = FileField(
        _l("Transcription ou sous-titres (facultatif)"),
        description=_l("WebVTT, SRT, texte, PDF, Word ou OpenDocument, 15 Mo au plus."),
    )


class MaterialForm(FlaskForm):
    """Add one material: a file, and an accessible alternative when the file is not one."""

    title = text_field(_l("Titre"), 200, required=True)
    file = FileField(
        _l("Fichier"),
        description=_l("PDF, PowerPoint, Word, Excel, OpenDocument ou texte, 15 Mo au plus."),
    )
    accessible = BooleanField(
        _l(
            "Ce fichier est accessible (PDF balisé, document structuré avec titres et textes de remplacement)"
        )
    )
    alternative = FileField(
        _l("Version accessible (obligatoire si le fichier ne l'est pas)"),
        description=_l("Par exemple le diaporama exporté en PDF balisé, ou son texte."),
    )

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if not has_file(self.file):
            self.file.errors.append(_l("Choisissez le fichier à ajouter."))
        if not self.accessible.data and not has_file(self.alternative):
            self.alternative.errors.append(
                _l("Ajoutez une version accessible, ou cochez que ce fichier est accessible.")
            )
        return not self.file.errors and not self.alternative.errors


def has_file(field) -> bool:
    """Tell whether a file field received a file."""
    return bool(field.data and getattr(field.data, "filename", ""))
