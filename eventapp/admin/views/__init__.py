"""The back office under /admin: sign-in required everywhere, the dashboard, the audit log."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask import Blueprint, Response, abort, current_app, g, render_template, request
from flask_babel import get_locale
from flask_login import current_user
from sqlalchemy import func, select

from eventapp.admin.forms.events import reminder_text
from eventapp.admin.views import (
    accounts,
    aftermath,
    attendance,
    events,
    kits,
    mails,
    messages,
    presence,
    press,
    registrations,
    speakers,
    surveys,
)
from eventapp.audit.services import audit_entries
from eventapp.auth.views import redirect_to_login
from eventapp.extensions import db
from eventapp.kits.services import next_sheet_releases
from eventapp.models import now_utc
from eventapp.outbox.health import current_health, mails_waiting
from eventapp.outbox.models import OutboxStatus
from eventapp.outbox.services import count_by_status
from eventapp.pagination import paginate
from eventapp.press.models import InquiryStatus, PressInquiry
from eventapp.registrations.counts import upcoming_for_dashboard

bp = Blueprint("admin", __name__, url_prefix="/admin")

for child in (
    events.bp,
    aftermath.bp,
    speakers.bp,
    registrations.bp,
    surveys.bp,
    presence.bp,
    attendance.bp,
    messages.bp,
    kits.bp,
    press.bp,
    mails.bp,
    accounts.bp,
    accounts.own_bp,
):
    bp.register_blueprint(child)

AUDIT_PAGE_SIZE = 50


@bp.before_request
def require_organiser():
    """Send anonymous visitors to the sign-in page; every /admin page is for organisers."""
    if not current_user.is_authenticated:
        return redirect_to_login()
    return None


@bp.after_request
def keep_private(response: Response) -> Response:
    """Back-office pages hold personal data: no cache, no search engine, no Referer outside."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("X-Frame-Options", "DENY")
    return response


@bp.context_processor
def admin_helpers() -> dict:
    """Give back-office templates their date format and the section the page belongs to."""
    return {
        "when": format_when,
        "section": section_of(request.blueprint or ""),
        "reminder_text": reminder_text,
        "worker_health": worker_health,
    }


def worker_health() -> dict:
    """The worker's heartbeat and the relay's outage, with the mails waiting while it lasts;
    read once per page."""
    if "worker_health" not in g:
        health = current_health(now_utc())
        waiting = mails_waiting() if health.relay_failing_since else 0
        g.worker_health = {"health": health, "waiting": waiting}
    return g.worker_health


def format_when(moment: datetime | None, tz: ZoneInfo | str | None = None) -> str:
    """Write a moment briefly, in a zone (the site's by default): "jeu. 25 févr. 2021, 13:30"."""
    if moment is None:
        return "—"
    if isinstance(tz, str) or tz is None:
        tz = ZoneInfo(tz or current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return format_datetime(moment, "EEE d MMM y, HH:mm", tzinfo=tz, locale=str(get_locale()))


@bp.app_template_filter("format_day_short")
def format_day_short(day: date) -> str:
    """Write a day briefly: "jeu. 25 févr. 2021"."""
    return format_date(day, "EEE d MMM y", locale=str(get_locale()))


def section_of(blueprint: str) -> str:
    """Name the menu entry of a page: "admin.messages" belongs with the events."""
    area = blueprint.removeprefix("admin").lstrip(".") or "dashboard"
    return {
        "registrations": "events",
        "surveys": "events",
        "presence": "events",
        "attendance": "events",
        "messages": "events",
        "own": "password",
    }.get(area, area)


def require_admin() -> None:
    """Refuse an editor: accounts and the audit log are for admins."""
    if not current_user.is_admin:
        abort(403)


@bp.get("/")
def dashboard():
    """Upcoming events and how full they are, the next sheet releases, mail that needs an eye."""
    now = now_utc()
    mail_counts = count_by_status()
    new_inquiries = db.session.scalar(
        select(func.count())
        .select_from(PressInquiry)
        .where(PressInquiry.status == InquiryStatus.NEW)
    )
    return render_template(
        "admin/dashboard.html",
        upcoming=upcoming_for_dashboard(now),
        releases=next_sheet_releases(now, limit=5),
        pending=mail_counts[OutboxStatus.PENDING] + mail_counts[OutboxStatus.SENDING],
        failed=mail_counts[OutboxStatus.FAILED],
        new_inquiries=new_inquiries,
        now=now,
    )


@bp.get("/audit")
def audit():
    """List every change made in the back office, newest first."""
    require_admin()
    area = request.args.get("area", "")
    page = paginate(
        audit_entries(area + "." if area else ""),
        request.args.get("page", 1, type=int),
        AUDIT_PAGE_SIZE,
    )
    return render_template("admin/audit.html", page=page, area=area)
