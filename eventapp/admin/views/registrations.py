"""An event's registrations: search, counts, daily chart, CSV export, cancel and promote."""

from __future__ import annotations

from collections.abc import Iterator

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext
from sqlalchemy import Select, or_, select

from eventapp.admin.forms import ActionForm
from eventapp.audit.services import record
from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.pagination import paginate
from eventapp.registrations.counts import daily_chart, event_counts, registrations_per_day
from eventapp.registrations.export import csv_lines
from eventapp.registrations.models import Registration, RegistrationStatus
from eventapp.registrations.services import (
    AlreadyCancelled,
    EventFull,
    NotWaitlisted,
    cancel_registration,
    promote_registration,
)

bp = Blueprint("registrations", __name__)

PAGE_SIZE = 50
EXPORT_BATCH = 1000
STATUSES = {status.value for status in RegistrationStatus}


def filtered(event: Event, query: str, status: str) -> Select[tuple[Registration]]:
    """Select an event's registrations matching a search and a status, oldest first."""
    stmt = (
        select(Registration)
        .where(Registration.event_id == event.id)
        .order_by(Registration.created_at, Registration.id)
    )
    if status in STATUSES:
        stmt = stmt.where(Registration.status == status)
    if query:
        stmt = stmt.where(
            or_(
                Registration.full_name.icontains(query, autoescape=True),
                Registration.email.icontains(query, autoescape=True),
                Registration.organisation.icontains(query, autoescape=True),
            )
        )
    return stmt


def in_batches(
    stmt: Select[tuple[Registration]], size: int = EXPORT_BATCH
) -> Iterator[Registration]:
    """Yield the rows by id, a batch per query: a long export holds no cursor open."""
    stmt = stmt.order_by(None).order_by(Registration.id).limit(size)
    last_id = 0
    while batch := list(db.session.scalars(stmt.where(Registration.id > last_id))):
        yield from batch
        last_id = batch[-1].id
        for registration in batch:
            db.session.expunge(registration)  # keep memory flat on a large event


def _search() -> tuple[str, str]:
    return request.args.get("q", "").strip()[:200], request.args.get("status", "")


@bp.get("/events/<int:event_id>/registrations")
def index(event_id: int):
    """List an event's registrations, with counts and the chart of registrations per day."""
    event = db.get_or_404(Event, event_id)
    query, status = _search()
    number = request.args.get("page", 1, type=int)
    page = paginate(filtered(event, query, status), number, PAGE_SIZE)
    return render_template(
        "admin/registrations/index.html",
        event=event,
        page=page,
        query=query,
        status=status if status in STATUSES else "",
        counts=event_counts(event),
        chart=daily_chart(registrations_per_day(event)),
        action=ActionForm(),
    )


@bp.get("/events/<int:event_id>/registrations.csv")
def export(event_id: int):
    """Download the registrations (those matching the search, if any) as CSV for Excel."""
    event = db.get_or_404(Event, event_id)
    query, status = _search()
    record(
        "registration.export", event, label=event.title, details={"search": query, "status": status}
    )
    db.session.commit()
    tz = event.tz
    rows = in_batches(filtered(event, query, status))
    filename = f"inscriptions-{event.slug}-{now_utc().astimezone(tz):%Y-%m-%d}.csv"
    response = Response(stream_with_context(csv_lines(rows, tz)), mimetype="text/csv")
    response.charset = "utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _registration_or_404(registration_id: int) -> Registration:
    return db.get_or_404(Registration, registration_id)


def _back_to_list(registration: Registration):
    return redirect(
        url_for("admin.registrations.index", event_id=registration.event_id)
        + f"#inscription-{registration.id}",
        code=303,
    )


@bp.route("/registrations/<int:registration_id>/cancel", methods=["GET", "POST"])
def cancel(registration_id: int):
    """Cancel a registration after confirmation; the person is told, the next one promoted."""
    registration = _registration_or_404(registration_id)
    form = ActionForm()
    if request.method == "POST" and form.validate_on_submit():
        try:
            cancel_registration(registration)
        except AlreadyCancelled:
            db.session.rollback()
            flash(gettext("Cette inscription était déjà annulée."), "error")
        else:
            record(
                "registration.cancel",
                registration,
                label=registration.full_name,
                details={"event": registration.event_id},
            )
            db.session.commit()
            flash(gettext("Inscription annulée ; la personne est prévenue par mail."), "success")
        return _back_to_list(registration)
    return render_template("admin/registrations/cancel.html", registration=registration, form=form)


@bp.post("/registrations/<int:registration_id>/promote")
def promote(registration_id: int):
    """Give a person on the waiting list a free seat."""
    registration = _registration_or_404(registration_id)
    if ActionForm().validate_on_submit():
        try:
            promote_registration(registration)
        except EventFull:
            db.session.rollback()
            flash(
                gettext(
                    "L'événement est complet : augmentez le nombre de places ou annulez une "
                    "inscription avant de confirmer quelqu'un de la liste d'attente."
                ),
                "error",
            )
        except NotWaitlisted:
            db.session.rollback()
            flash(gettext("Cette personne n'est plus sur la liste d'attente."), "error")
        else:
            record(
                "registration.promote",
                registration,
                label=registration.full_name,
                details={"event": registration.event_id},
            )
            db.session.commit()
            flash(
                gettext(
                    "%(name)s a une place ; sa confirmation part par mail.",
                    name=registration.full_name,
                ),
                "success",
            )
    return _back_to_list(registration)
