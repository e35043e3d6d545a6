"""The back office's forms, one module per area; ActionForm is every button that changes something."""

from flask_wtf import FlaskForm


class ActionForm(FlaskForm):
    """A button that changes something: CSRF and nothing else."""
