"""Public kit pages, sheet downloads, feeds, and the subscribe / confirm / unsubscribe links."""

from __future__ import annotations

import logging
from datetime import datetime

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import format_decimal, get_locale, gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from eventapp.extensions import csrf, db, limiter
from eventapp.i18n import format_day, language_switch
from eventapp.kits import services, subscriptions, uploads
from eventapp.kits.feeds import release_calendar, sheet_label
from eventapp.kits.forms import ConfirmSubscriptionForm, SubscribeForm
from eventapp.kits.models import Kit, Sheet, SubscriptionStatus
from eventapp.models import now_utc
from eventapp.site.outage import keep_form_on_outage
from eventapp.site.services import absolute_url

log = logging.getLogger(__name__)

bp = Blueprint("kits", __name__)


@bp.app_template_global("format_release_day")
def format_release_day(moment: datetime, kit: Kit) -> str:
    """Write a release date in the kit's time zone: "jeudi 4 mars 2021"."""
    return format_day(moment.astimezone(kit.tz))


@bp.app_template_global("format_file_size")
def format_file_size(size: int) -> str:
    """Write a file size the way people read it: "850 ko", "1,2 Mo"."""
    if size < 1_000_000:
        return gettext("%(size)s ko", size=format_decimal(max(1, round(size / 1000))))
    return gettext("%(size)s Mo", size=format_decimal(round(size / 1_000_000, 1)))


bp.add_app_template_global(sheet_label, "sheet_label")


@bp.after_request
def keep_tokens_private(response: Response) -> Response:
    """Links with a secret: never pass it on as a Referer, never cache the page."""
    if request.endpoint in ("kits.confirm", "kits.unsubscribe"):
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
    return response


def _public_kit_or_404(slug: str) -> Kit:
    kit = services.public_kit(slug)
    if kit is None:
        abort(404)
    return kit


def _public_sheet_or_404(slug: str, number: int, now: datetime) -> tuple[Kit, Sheet]:
    kit = _public_kit_or_404(slug)
    sheet = services.public_sheet(kit, number, now)
    if sheet is None:
        abort(404)  # unknown and not yet released alike: a coming sheet must not leak
    return kit, sheet


@bp.get("/kits")
def index():
    """List the published kits."""
    return render_template("kits/index.html", kits=services.public_kits())


def _render_kit(kit: Kit, form: SubscribeForm, status: int = 200):
    now = now_utc()
    return (
        render_template(
            "kits/detail.html",
            kit=kit,
            released=services.released_sheets(kit, now),
            upcoming=services.upcoming_sheets(kit, now),
            events=[event for event in kit.events if event.status != "draft"],
            form=form,
        ),
        status,
    )


@bp.get("/kits/<slug>")
def detail(slug: str):
    """Show a kit: its released sheets, newest first, the coming ones, and the subscription form."""
    return _render_kit(_public_kit_or_404(slug), SubscribeForm())


def _subscribe_limit() -> str:
    return current_app.config["KIT_SUBSCRIBE_RATE_LIMIT"]


@bp.get("/kits/<slug>/subscribe")
def subscribe_form(slug: str):
    """Send a GET of the form's address (a reload, a shared link) to the form on the kit page."""
    kit = _public_kit_or_404(slug)
    return redirect(url_for("kits.detail", slug=kit.slug, _anchor="abonnement"))


# A language button only draws the page again; it must not use up the visitor's tries.
@bp.post("/kits/<slug>/subscribe")
@keep_form_on_outage(SubscribeForm, _l("Votre abonnement aux nouvelles fiches"))
@limiter.limit(_subscribe_limit, exempt_when=lambda: language_switch() is not None)
def subscribe(slug: str):
    """Take an address and send the confirmation mail; nothing is subscribed before the click."""
    kit = _public_kit_or_404(slug)
    form = SubscribeForm()
    if form.is_submitted() and form.is_spam():
        return redirect(url_for("kits.subscribed", slug=slug), code=303)  # a bot learns nothing
    if language_switch():
        # The form sent back by a language button: the same page in that language, with what was
        # typed and what is still wrong with it, and nothing subscribed.
        form.validate()
        return _render_kit(kit, form, status=422 if form.errors else 200)
    if not form.validate_on_submit():
        return _render_kit(kit, form, status=422)
    try:
        subscriptions.request_subscription(kit, form.email.data, str(get_locale()), now_utc())
        db.session.commit()
    except IntegrityError:
        # The same address was sent a moment ago by another request; its mail is on its way.
        db.session.rollback()
    return redirect(url_for("kits.subscribed", slug=slug), code=303)


@bp.get("/kits/<slug>/subscribe/done")
def subscribed(slug: str):
    """Say that a confirmation mail is on its way (the same page whatever the address)."""
    kit = _public_kit_or_404(slug)
    return render_template("kits/subscribe_done.html", kit=kit)


@bp.get("/kits/<slug>/sheets/<int:number>")
def sheet(slug: str, number: int):
    """Show one released sheet."""
    kit, found = _public_sheet_or_404(slug, number, now_utc())
    return render_template("kits/sheet.html", kit=kit, sheet=found)


def _send_pdf(sheet: Sheet, stored_name: str | None, download_name: str) -> Response:
    """Send a stored PDF found through its sheet; count full downloads in the database."""
    if not stored_name:
        abort(404)
    path = uploads.stored_path(stored_name)
    if not path.is_file():
        log.warning("sheet %s: file %s is missing", sheet.id, stored_name)
        abort(404)
    response = send_file(
        path,
        mimetype="application/pdf",
        as_attachment=True,
        download_name=download_name,
        conditional=True,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Count what starts a download; not a HEAD, a 304, or a viewer fetching a later byte range.
    first_bytes = request.range is None or (request.range.ranges[0][0] == 0)
    if request.method == "GET" and response.status_code in (200, 206) and first_bytes:
        services.count_download(sheet)
        db.session.commit()
    return response


@bp.get("/kits/<slug>/sheets/<int:number>/download/<path:filename>")
def download(slug: str, number: int, filename: str):
    """Download a released sheet's PDF; the name in the URL is for people, never for files."""
    _kit, found = _public_sheet_or_404(slug, number, now_utc())
    return _send_pdf(found, found.file_name, found.download_name)


@bp.get("/kits/<slug>/sheets/<int:number>/accessible/<path:filename>")
def download_accessible(slug: str, number: int, filename: str):
    """Download a released sheet's accessible (tagged) PDF."""
    _kit, found = _public_sheet_or_404(slug, number, now_utc())
    return _send_pdf(found, found.accessible_file_name, found.accessible_download_name)


@bp.get("/kits/<slug>/feed.atom")
def feed(slug: str):
    """Offer the kit's released sheets as an Atom feed."""
    kit = _public_kit_or_404(slug)
    released = services.released_sheets(kit, now_utc())

    def entry_updated(sheet: Sheet) -> datetime:
        # Edits made before the release are older than the release itself.
        return max(sheet.release_at, sheet.updated_at)

    xml = render_template(
        "kits/feed.xml",
        kit=kit,
        sheets=released,
        entry_updated=entry_updated,
        updated=max((entry_updated(s) for s in released), default=kit.created_at),
        feed_url=absolute_url("kits.feed", slug=kit.slug),
        kit_url=absolute_url("kits.detail", slug=kit.slug),
        sheet_url=lambda s: absolute_url("kits.sheet", slug=kit.slug, number=s.number),
        download_url=lambda s: absolute_url(
            "kits.download", slug=kit.slug, number=s.number, filename=s.download_name
        ),
    )
    return Response(xml, mimetype="application/atom+xml")


@bp.get("/kits/<slug>/calendar.ics")
def calendar(slug: str):
    """Offer the kit's release dates as a calendar to subscribe to."""
    kit = _public_kit_or_404(slug)
    body = release_calendar(kit, services.organiser_sheets(kit))
    response = Response(body, mimetype="text/calendar")
    response.charset = "utf-8"
    response.headers["Content-Disposition"] = f'inline; filename="{kit.slug}.ics"'
    return response


def _personal_link_limit() -> str:
    return current_app.config["PERSONAL_LINK_RATE_LIMIT"]


def _unsubscribe_limit() -> str:
    return current_app.config["UNSUBSCRIBE_RATE_LIMIT"]


@bp.route("/subscribe/confirm/<token>", methods=["GET", "POST"])
@limiter.limit(_personal_link_limit, methods=["POST"])
def confirm(token: str):
    """Show the confirmation button (a link scanner's GET subscribes no one); confirm on POST."""
    subscriber = subscriptions.find_subscription(token)
    if subscriber is None:
        return render_template("kits/invalid_link.html"), 404
    kit = subscriber.kit
    if subscriber.status == SubscriptionStatus.ACTIVE:
        return render_template("kits/confirmed.html", kit=kit, already=True)
    form = ConfirmSubscriptionForm()
    if form.validate_on_submit():
        subscriptions.confirm_subscription(subscriber, now_utc())
        db.session.commit()
        return render_template("kits/confirmed.html", kit=kit, already=False)
    return render_template("kits/confirm.html", kit=kit, form=form, token=token)


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: the mail client POSTs with neither cookie nor form token
@limiter.limit(_unsubscribe_limit, methods=["POST"])  # generous: providers post from few addresses
def unsubscribe(token: str):
    """One-click unsubscribe: POST stops the kit's follow-ups at once; GET shows the button."""
    found = subscriptions.find_unsubscribe_token(token)
    if found is None:
        return render_template("kits/invalid_link.html"), 404
    kit = found.kit
    if request.method == "POST":
        subscriptions.unsubscribe(found, now_utc())
        db.session.commit()
        return render_template("kits/unsubscribed.html", kit=kit)
    return render_template("kits/unsubscribe.html", kit=kit, token=token)
