"""An event's satisfaction survey: the figures, the chart, the free-text answers, CSV, settings."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    stream_with_context,
    url_for,
)
from flask_babel import format_decimal, format_percent, gettext

from eventapp.admin.forms import ActionForm
from eventapp.audit.services import record
from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.pagination import paginate
from eventapp.surveys import services
from eventapp.surveys.chart import rating_chart
from eventapp.surveys.forms import RATING_LABELS, RATING_QUESTION, TEXT_QUESTION_LABELS

bp = Blueprint("surveys", __name__)

# The newest answers to each question shown on the page; the CSV has them all.
TEXT_ANSWERS_SHOWN = 50


def format_average(average: float | None) -> str:
    """Write an average rating the reader's way: "4,2 / 5"."""
    if average is None:
        return "—"
    return gettext("%(average)s / 5", average=format_decimal(average, format="0.0"))


@bp.get("/events/<int:event_id>/survey")
def detail(event_id: int):
    """Show the survey's state, its figures and chart, and the free-text answers, newest first."""
    event = db.get_or_404(Event, event_id)
    summary = services.survey_summary(event)
    texts = [
        (name, label, paginate(services.text_answers(event, name), 1, TEXT_ANSWERS_SHOWN))
        for name, label in TEXT_QUESTION_LABELS
    ]
    return render_template(
        "admin/surveys/detail.html",
        event=event,
        state=services.survey_state(event, now_utc()),
        summary=summary,
        average=format_average(summary.average),
        chart=rating_chart(summary),
        format_percent=format_percent,
        rating_labels=RATING_LABELS,
        rating_question=RATING_QUESTION,
        texts=texts,
        action=ActionForm(),
    )


@bp.get("/events/<int:event_id>/survey.csv")
def export(event_id: int):
    """Download every answer as CSV for Excel (no name nor address)."""
    event = db.get_or_404(Event, event_id)
    record("event.survey_export", event, label=event.title)
    db.session.commit()
    filename = f"questionnaire-{event.slug}-{now_utc().astimezone(event.tz):%Y-%m-%d}.csv"
    response = Response(stream_with_context(services.csv_lines(event)), mimetype="text/csv")
    response.charset = "utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _change(event_id: int, action: str, change, done: str, unchanged: str):
    """Apply one of the survey's settings, audit it and say so; the same for every button."""
    event = db.get_or_404(Event, event_id)
    if not ActionForm().validate_on_submit():
        abort(400)  # the error page asks to reload the page; nothing changed
    if change(event):
        record(action, event, label=event.title)
        db.session.commit()
        flash(done, "success")
    else:
        db.session.rollback()
        flash(unchanged, "error")
    return redirect(url_for("admin.surveys.detail", event_id=event.id), code=303)


@bp.post("/events/<int:event_id>/survey/disable")
def disable(event_id: int):
    """Turn the survey off for this event: no answer taken, no link shown in the space."""
    return _change(
        event_id,
        "event.survey_disable",
        lambda event: services.set_enabled(event, False),
        gettext("Questionnaire désactivé pour cet événement."),
        gettext("Le questionnaire était déjà désactivé."),
    )


@bp.post("/events/<int:event_id>/survey/enable")
def enable(event_id: int):
    """Turn the survey back on for this event."""
    return _change(
        event_id,
        "event.survey_enable",
        lambda event: services.set_enabled(event, True),
        gettext("Questionnaire activé pour cet événement."),
        gettext("Le questionnaire était déjà activé."),
    )


@bp.post("/events/<int:event_id>/survey/close")
def close(event_id: int):
    """Stop taking answers; those given stay, and can no longer be changed."""
    return _change(
        event_id,
        "event.survey_close",
        lambda event: services.close_survey(event, now_utc()),
        gettext("Questionnaire clos : plus aucune réponse n'est acceptée."),
        gettext("Le questionnaire était déjà clos."),
    )


@bp.post("/events/<int:event_id>/survey/reopen")
def reopen(event_id: int):
    """Take answers again after a close."""
    return _change(
        event_id,
        "event.survey_reopen",
        services.reopen_survey,
        gettext("Questionnaire rouvert : les réponses sont de nouveau acceptées."),
        gettext("Le questionnaire n'était pas clos."),
    )
