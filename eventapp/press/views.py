"""Public press room: releases, contacts and their vCards, files, and the inquiry form."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError

from eventapp.extensions import db, limiter
from eventapp.i18n import language_switch
from eventapp.models import now_utc
from eventapp.press import services, storage
from eventapp.press.forms import PressInquiryForm
from eventapp.press.vcard import contact_vcard, phone_e164, vcard_filename
from eventapp.site.outage import keep_form_on_outage
from eventapp.site.services import absolute_url

bp = Blueprint("press", __name__, url_prefix="/press")


@bp.app_template_filter("tel_uri")
def tel_uri(phone: str) -> str | None:
    """Turn a phone number as written into a tel: link in E.164 form."""
    e164 = phone_e164(phone, current_app.config["PRESS_PHONE_REGION"])
    return f"tel:{e164}" if e164 else None


bp.add_app_template_global(services.format_dateline, "format_dateline")


@bp.get("")
def index():
    """List the public releases, newest first, and the press contacts."""
    return render_template(
        "press/index.html",
        releases=services.public_releases(now_utc()),
        contacts=services.all_contacts(),
    )


@bp.get("/<slug>")
def detail(slug: str):
    """Show one public release with its event, files and contacts."""
    release = services.public_release(slug, now_utc())
    if release is None:
        abort(404)  # unknown, draft and embargoed alike: an embargo must not leak
    return render_template(
        "press/detail.html",
        release=release,
        event=services.public_event(release),
        contacts=services.release_contacts(release),
        description=services.sharing_description(release),
        page_url=absolute_url("press.detail", slug=release.slug),
        image_url=(
            absolute_url("press.image", slug=release.slug, name=release.image_filename)
            if release.image_filename
            else None
        ),
    )


@bp.get("/<slug>/files/<int:attachment_id>")
def attachment(slug: str, attachment_id: int):
    """Send a file of a public release under its own name."""
    release = services.public_release(slug, now_utc())
    found = release and next((a for a in release.attachments if a.id == attachment_id), None)
    if not found:
        abort(404)
    return _send_stored(
        found.stored_name, found.content_type, as_attachment=True, download_name=found.original_name
    )


@bp.get("/<slug>/image/<name>")
def image(slug: str, name: str):
    """Send the picture of a public release."""
    release = services.public_release(slug, now_utc())
    if release is None or not release.image_filename or release.image_filename != name:
        abort(404)
    return _send_stored(name, None, as_attachment=False)


def _send_stored(name: str, mimetype: str | None, **options) -> Response:
    response = send_from_directory(
        storage.upload_folder(), storage.stored_path(name).name, mimetype=mimetype, **options
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/contacts/<int:contact_id>.vcf")
def vcard(contact_id: int):
    """Download a press contact as a vCard."""
    contact = services.press_contact(contact_id)
    if contact is None:
        abort(404)
    source = absolute_url("press.vcard", contact_id=contact.id)
    body = contact_vcard(contact, source, current_app.config["PRESS_PHONE_REGION"])
    response = Response(body, mimetype="text/vcard")
    response.charset = "utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{vcard_filename(contact)}"'
    return response


@bp.get("/feed.atom")
def feed():
    """Offer the public releases as an Atom feed."""
    now = now_utc()
    releases = services.public_releases(now)

    def entry_updated(release):
        # Edits made under embargo are older than the publication itself.
        return max(release.published_at, release.updated_at)

    xml = render_template(
        "press/feed.xml",
        releases=releases,
        entry_updated=entry_updated,
        updated=max((entry_updated(release) for release in releases), default=now),
        feed_title=gettext("Communiqués de presse"),
        feed_url=absolute_url("press.feed"),
        room_url=absolute_url("press.index"),
        release_url=lambda release: absolute_url("press.detail", slug=release.slug),
        describe=services.sharing_description,
    )
    return Response(xml, mimetype="application/atom+xml")


def _inquiry_release():
    """Return the release the inquiry is about (?release=<slug>), 404 if not public."""
    slug = request.args.get("release")
    if not slug:
        return None
    release = services.public_release(slug, now_utc())
    if release is None:
        abort(404)
    return release


def _render_contact(form: PressInquiryForm, release, status: int = 200, expired: bool = False):
    return (
        render_template(
            "press/contact.html",
            form=form,
            release=release,
            contacts=services.release_contacts(release),
            max_message=current_app.config["PRESS_INQUIRY_MAX_MESSAGE_CHARS"],
            expired=expired,
        ),
        status,
    )


# A language button only draws the form again; it must not use up the journalist's tries.
@bp.route("/contact", methods=["GET", "POST"])
@keep_form_on_outage(PressInquiryForm, _l("Votre message au contact presse"))
@limiter.limit(
    lambda: current_app.config["PRESS_INQUIRY_RATE_LIMIT"],
    methods=["POST"],
    exempt_when=lambda: language_switch() is not None,
)
def contact():
    """Take a journalist's inquiry; store it and queue the two mails, or show what to fix."""
    release = _inquiry_release()
    form = PressInquiryForm()
    if form.is_submitted() and form.is_spam():
        return redirect(url_for("press.thanks"), code=303)  # a bot learns nothing
    if language_switch():
        # The form sent back by a language button: drawn again in that language, with what was
        # typed and what is still wrong with it, and nothing sent.
        form.validate()
        return _render_contact(form, release, status=422 if form.errors else 200)
    if form.validate_on_submit():
        services.submit_inquiry(form.data, release, locale=str(get_locale()), now=now_utc())
        db.session.commit()
        return redirect(url_for("press.thanks"), code=303)
    return _render_contact(form, release, status=422 if form.is_submitted() else 200)


@bp.errorhandler(CSRFError)
def csrf_failed(error: CSRFError):
    """Show the form again with what was typed, and say why it was not sent."""
    # The inquiry form is the blueprint's only POST route: a failed token is always its own.
    # No abort() here: an error raised inside an error handler would end as a 500.
    slug = request.args.get("release")
    release = services.public_release(slug, now_utc()) if slug else None
    return _render_contact(PressInquiryForm(), release, status=400, expired=True)


@bp.get("/contact/thanks")
def thanks():
    """Confirm that the inquiry has been received."""
    return render_template("press/thanks.html")
