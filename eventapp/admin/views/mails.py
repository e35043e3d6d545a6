"""The mail log: every outbox message, its status and errors; view one, retry a failed one."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import or_, select
from sqlalchemy.orm import defer

from eventapp.admin.forms import ActionForm
from eventapp.audit.services import record
from eventapp.extensions import db
from eventapp.outbox.models import OutboxMessage, OutboxStatus
from eventapp.outbox.services import count_by_status, retry_failed
from eventapp.pagination import paginate
from eventapp.site.services import is_safe_next

bp = Blueprint("mails", __name__, url_prefix="/mails")

PAGE_SIZE = 50
STATUSES = {status.value for status in OutboxStatus}


@bp.get("/")
def index():
    """List the mails, newest first, with a status filter and the counts per status."""
    status = request.args.get("status", "")
    query = request.args.get("q", "").strip()[:200]
    # The bodies and attachments are heavy and not shown in the list.
    stmt = (
        select(OutboxMessage)
        .options(
            defer(OutboxMessage.text_body),
            defer(OutboxMessage.html_body),
            defer(OutboxMessage.calendar),
            defer(OutboxMessage.attachments),
        )
        .order_by(OutboxMessage.id.desc())
    )
    if status in STATUSES:
        stmt = stmt.where(OutboxMessage.status == status)
    if query:
        stmt = stmt.where(
            or_(
                OutboxMessage.to_address.icontains(query, autoescape=True),
                OutboxMessage.subject.icontains(query, autoescape=True),
            )
        )
    page = paginate(stmt, request.args.get("page", 1, type=int), PAGE_SIZE)
    return render_template(
        "admin/mails/index.html",
        page=page,
        status=status if status in STATUSES else "",
        query=query,
        counts=count_by_status(),
        action=ActionForm(),
    )


@bp.get("/<int:message_id>")
def detail(message_id: int):
    """Show one mail as it was queued: headers, text, and the HTML in a sandboxed frame."""
    message = db.get_or_404(OutboxMessage, message_id)
    return render_template("admin/mails/detail.html", message=message, action=ActionForm())


@bp.post("/<int:message_id>/retry")
def retry(message_id: int):
    """Queue a failed mail again, due now."""
    message = db.get_or_404(OutboxMessage, message_id)
    attempts, error = message.attempts, message.last_error
    if ActionForm().validate_on_submit() and retry_failed(message.id):
        record(
            "mail.retry",
            message,
            label=message.subject,
            details={"to": message.to_address, "attempts": attempts, "last_error": error},
        )
        db.session.commit()
        flash(gettext("Le mail repart dans la file d'envoi."), "success")
    else:
        db.session.rollback()
        flash(gettext("Seul un mail en échec peut être renvoyé."), "error")
    back = request.form.get("back", "")
    if not _is_mail_log(back):
        back = url_for("admin.mails.detail", message_id=message_id)
    return redirect(back, code=303)


def _is_mail_log(path: str) -> bool:
    """Accept only a page of the mail log as the place to go back to."""
    return is_safe_next(path) and path.startswith("/admin/mails")
