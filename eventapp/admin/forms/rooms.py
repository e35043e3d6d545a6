"""Back-office forms of an event's room, its presence and its attestations."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, Form, IntegerField, RadioField, SelectField
from wtforms.validators import InputRequired, NumberRange, Optional

from eventapp.admin.forms.fields import REQUIRED, choices
from eventapp.rooms.models import RoomKind


class RoomForm(FlaskForm):
    """A link pasted in the event, or a BigBlueButton room that eventapp opens."""

    kind = RadioField(
        _l("Salle"),
        choices=choices(
            [
                (
                    RoomKind.LINK.value,
                    _l("Un lien (Zoom, Teams, Visio, Jitsi…), saisi dans l'événement"),
                ),
                (RoomKind.BBB.value, _l("Une salle BigBlueButton ouverte par eventapp")),
            ]
        ),
        default=RoomKind.LINK.value,
    )
    server = SelectField(_l("Serveur BigBlueButton"), validators=[Optional()])
    record = BooleanField(_l("Permettre l'enregistrement de la séance"))

    def __init__(self, *args, servers: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.server.choices = choices((name, name) for name in servers)

    def validate_server(self, field) -> None:
        if self.kind.data == RoomKind.BBB.value and not field.data:
            raise ValueError(_l("Choisissez le serveur de la salle."))


class AttestationSettingsForm(FlaskForm):
    """Attestations of presence on or off, and the minutes that earn one."""

    enabled = BooleanField(_l("Délivrer des attestations de présence"))
    min_minutes = IntegerField(
        _l("Présence minimale, en minutes"),
        validators=[Optional(), NumberRange(min=1, max=24 * 60)],
    )

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        # Not an inline validator: Optional() stops the chain on an empty field.
        if self.enabled.data and self.min_minutes.data is None and not self.min_minutes.errors:
            self.min_minutes.errors.append(
                _l("Indiquez la présence minimale qui donne droit à l'attestation.")
            )
            return False
        return valid


class MinutesForm(FlaskForm):
    """An organiser's word on one registrant's presence."""

    minutes = IntegerField(
        _l("Minutes de présence"),
        validators=[InputRequired(REQUIRED), NumberRange(min=0, max=24 * 60)],
    )


class ReportUploadForm(FlaskForm):
    """The attendance report exported by the platform (CSV)."""

    report = FileField(
        _l("Rapport de présence (CSV)"),
        description=_l("Exporté de Zoom, Teams, BigBlueButton ou Visio ; 5 Mo au plus."),
        validators=[FileRequired(_l("Choisissez le fichier du rapport."))],
    )


NO_COLUMN = ""


class ReportMappingForm(Form):
    """Which column of a report holds what; a GET form, it changes nothing, hence no CSRF."""

    email = SelectField(_l("Adresse mail"), validators=[Optional()])
    name = SelectField(_l("Nom (ou nom complet)"), validators=[Optional()])
    first_name = SelectField(_l("Prénom"), validators=[Optional()])
    joined_at = SelectField(_l("Heure d'arrivée"), validators=[Optional()])
    left_at = SelectField(_l("Heure de départ"), validators=[Optional()])
    minutes = SelectField(_l("Durée de présence"), validators=[Optional()])

    def __init__(self, *args, columns: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        options = [(NO_COLUMN, _l("— pas de colonne —"))] + [
            (str(index), column or _l("Colonne %(num)d sans titre", num=index + 1))
            for index, column in enumerate(columns)
        ]
        for field in self:
            field.choices = choices(options)
