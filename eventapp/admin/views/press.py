"""The press room in the back office: releases and their files, contacts, inquiries."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext
from sqlalchemy import exists, select

from eventapp.admin.forms import ActionForm
from eventapp.admin.forms.fields import choices, utc_to_local
from eventapp.admin.forms.press import AttachmentForm, ContactForm, ReleaseForm
from eventapp.audit.services import changed, record, snapshot
from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.models import now_utc
from eventapp.pagination import paginate
from eventapp.press import services, storage
from eventapp.press.models import (
    InquiryStatus,
    PressAttachment,
    PressContact,
    PressInquiry,
    PressRelease,
)
from eventapp.text import slugify

bp = Blueprint("press", __name__, url_prefix="/press")

# 20,000 inquiries on one page weighed 15 MB (security finding 7): a page shows this many.
INQUIRIES_PAGE_SIZE = 50

RELEASE_FIELDS = (
    "title",
    "slug",
    "summary",
    "body",
    "dateline_place",
    "dateline_date",
    "event_id",
    "published_at",
    "image_filename",
    "image_alt",
)
CONTACT_FIELDS = (
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
    "is_default",
    "position",
)


def _tz_name() -> str:
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


@bp.get("/")
def index():
    """List every release, drafts and embargoed ones included."""
    return render_template(
        "admin/press/index.html", releases=services.releases_for_organisers(), now=now_utc()
    )


def _release_form(release: PressRelease | None) -> ReleaseForm:
    form = ReleaseForm(obj=release if request.method == "GET" else None, tz_name=_tz_name())
    form.event_id.choices = choices(
        [(0, gettext("Aucun"))]
        + [
            (event.id, event.title)
            for event in db.session.scalars(select(Event).order_by(Event.starts_at.desc()))
        ]
    )
    form.contacts.choices = choices(
        (contact.id, f"{contact.name} ({contact.email})") for contact in services.all_contacts()
    )
    if request.method == "GET" and release is not None:
        form.event_id.data = release.event_id or 0
        form.published_at.data = utc_to_local(release.published_at, form.tz)
        form.contacts.data = [contact.id for contact in release.contacts]
    return form


def _slug_problem(slug: str, except_id: int | None) -> str | None:
    if slug in services.RESERVED_SLUGS:
        return gettext("Cette adresse est réservée : choisissez-en une autre.")
    stmt = select(PressRelease.id).where(PressRelease.slug == slug)
    if except_id is not None:
        stmt = stmt.where(PressRelease.id != except_id)
    if db.session.scalar(select(exists(stmt))):
        return gettext("Un autre communiqué utilise déjà cette adresse.")
    return None


def _save_release(form: ReleaseForm, release: PressRelease | None):
    """Apply a valid form; return the release, or None when a field was refused."""
    slug = form.slug.data or (release.slug if release else slugify(form.title.data) or "communique")
    problem = _slug_problem(slug, release.id if release else None)
    if problem:
        form.slug.errors.append(problem)
        return None
    creating = release is None
    if creating:
        release = PressRelease(slug=slug, dateline_date=form.dateline_date.data)
        db.session.add(release)
        before = {}
    else:
        before = snapshot(release, RELEASE_FIELDS)
    release.slug, release.title = slug, form.title.data
    release.summary = form.summary.data or ""
    release.body = (form.body.data or "").replace("\r\n", "\n")
    release.dateline_place = form.dateline_place.data or ""
    release.dateline_date = form.dateline_date.data
    release.event_id = form.event_id.data or None
    release.published_at = form.published_utc
    chosen = set(form.contacts.data or [])
    release.contacts = [c for c in services.all_contacts() if c.id in chosen]
    stale_image = None
    upload = form.image.data
    try:
        if upload and getattr(upload, "filename", ""):
            stale_image = release.image_filename
            storage.set_release_image(release, upload.stream, form.image_alt.data)
        elif form.remove_image.data and release.image_filename:
            stale_image, release.image_filename = release.image_filename, None
            release.image_width = release.image_height = None
        elif release.image_filename:
            release.image_alt = form.image_alt.data or ""
    except storage.UploadRejected as error:
        db.session.rollback()
        form.image.errors.append(str(error))
        return None
    db.session.flush()
    if creating:
        record("press_release.create", release, label=release.title)
    else:
        record(
            "press_release.update",
            release,
            label=release.title,
            details={"changed": changed(before, snapshot(release, RELEASE_FIELDS))},
        )
    if stale_image and stale_image != release.image_filename:
        storage.remove_file(stale_image)  # once the commit succeeds
    db.session.commit()
    return release


@bp.route("/releases/new", methods=["GET", "POST"])
def new_release():
    """Write a release; it stays a draft until it has a publication time."""
    form = _release_form(None)
    if form.validate_on_submit() and (release := _save_release(form, None)) is not None:
        flash(gettext("Communiqué créé."), "success")
        return redirect(url_for("admin.press.edit_release", release_id=release.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("admin/press/release.html", form=form, release=None), status


@bp.route("/releases/<int:release_id>", methods=["GET", "POST"])
def edit_release(release_id: int):
    """Edit a release, its embargo, its contacts and its image; attach files."""
    release = db.get_or_404(PressRelease, release_id)
    form = _release_form(release)
    if form.validate_on_submit() and _save_release(form, release) is not None:
        flash(gettext("Communiqué enregistré."), "success")
        return redirect(url_for("admin.press.edit_release", release_id=release.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/press/release.html",
        form=form,
        release=release,
        attachment_form=AttachmentForm(formdata=None),
        action=ActionForm(),
        now=now_utc(),
    ), status


@bp.get("/releases/<int:release_id>/image")
def release_image(release_id: int):
    """Show a release's image to organisers, even under embargo."""
    release = db.get_or_404(PressRelease, release_id)
    if not release.image_filename:
        abort(404)
    response = send_from_directory(storage.upload_folder(), release.image_filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/releases/<int:release_id>/delete", methods=["GET", "POST"])
def delete_release(release_id: int):
    """Delete a release and its files, after confirmation."""
    release = db.get_or_404(PressRelease, release_id)
    form = ActionForm()
    if request.method == "POST" and form.validate_on_submit():
        files = [a.stored_name for a in release.attachments] + [release.image_filename]
        record("press_release.delete", release, label=release.title)
        db.session.delete(release)
        for name in filter(None, files):
            storage.remove_file(name)  # once the commit succeeds
        db.session.commit()
        flash(gettext("Communiqué supprimé."), "success")
        return redirect(url_for("admin.press.index"), code=303)
    return render_template("admin/press/delete.html", form=form, release=release)


@bp.post("/releases/<int:release_id>/attachments")
def add_attachment(release_id: int):
    """Attach a PDF to a release."""
    release = db.get_or_404(PressRelease, release_id)
    form = AttachmentForm()
    upload = form.file.data
    if not form.validate_on_submit() or not (upload and getattr(upload, "filename", "")):
        flash(gettext("Donnez un titre au document et choisissez un fichier PDF."), "error")
    else:
        try:
            attachment = storage.add_pdf_attachment(
                release, upload.stream, form.title.data, upload.filename
            )
        except storage.UploadRejected as error:
            db.session.rollback()
            flash(str(error), "error")
        else:
            db.session.flush()
            record(
                "press_release.attach",
                release,
                label=release.title,
                details={"file": attachment.original_name, "title": attachment.title},
            )
            db.session.commit()
            flash(gettext("Document ajouté."), "success")
    return redirect(
        url_for("admin.press.edit_release", release_id=release.id) + "#documents", code=303
    )


@bp.post("/releases/<int:release_id>/attachments/<int:attachment_id>/delete")
def delete_attachment(release_id: int, attachment_id: int):
    """Remove a file from a release."""
    attachment = db.get_or_404(PressAttachment, attachment_id)
    if attachment.release_id != release_id:
        abort(404)
    if ActionForm().validate_on_submit():
        release, name = attachment.release, attachment.stored_name
        record(
            "press_release.detach",
            release,
            label=release.title,
            details={"file": attachment.original_name},
        )
        db.session.delete(attachment)
        storage.remove_file(name)  # once the commit succeeds
        db.session.commit()
        flash(gettext("Document retiré."), "success")
    return redirect(
        url_for("admin.press.edit_release", release_id=release_id) + "#documents", code=303
    )


# --- contacts ---------------------------------------------------------------------------------


@bp.get("/contacts")
def contacts():
    """List the press contacts in display order."""
    return render_template("admin/press/contacts.html", contacts=services.all_contacts())


@bp.route("/contacts/new", methods=["GET", "POST"])
@bp.route("/contacts/<int:contact_id>", methods=["GET", "POST"])
def edit_contact(contact_id: int | None = None):
    """Create or edit a press contact."""
    contact = db.get_or_404(PressContact, contact_id) if contact_id else None
    form = ContactForm(obj=contact if request.method == "GET" else None)
    if form.validate_on_submit():
        before = snapshot(contact, CONTACT_FIELDS) if contact else {}
        if contact is None:
            contact = PressContact(**form.values())
            db.session.add(contact)
            db.session.flush()
            record("press_contact.create", contact, label=contact.name)
        else:
            for name, value in form.values().items():
                setattr(contact, name, value)
            db.session.flush()
            record(
                "press_contact.update",
                contact,
                label=contact.name,
                details={"changed": changed(before, snapshot(contact, CONTACT_FIELDS))},
            )
        db.session.commit()
        flash(gettext("Contact enregistré."), "success")
        return redirect(url_for("admin.press.contacts"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("admin/press/contact.html", form=form, contact=contact), status


@bp.route("/contacts/<int:contact_id>/delete", methods=["GET", "POST"])
def delete_contact(contact_id: int):
    """Delete a press contact after confirmation."""
    contact = db.get_or_404(PressContact, contact_id)
    form = ActionForm()
    if request.method == "POST" and form.validate_on_submit():
        record("press_contact.delete", contact, label=contact.name)
        db.session.delete(contact)
        db.session.commit()
        flash(gettext("Contact supprimé."), "success")
        return redirect(url_for("admin.press.contacts"), code=303)
    return render_template("admin/press/delete_contact.html", form=form, contact=contact)


# --- inquiries --------------------------------------------------------------------------------


@bp.get("/inquiries")
def inquiries():
    """List journalists' messages, the new ones or all of them, a page at a time."""
    status = request.args.get("status", "new")
    chosen = InquiryStatus(status) if status in {s.value for s in InquiryStatus} else None
    # A page past the end shows the last one, as every other list of the back office does.
    page = paginate(
        services.inquiries_statement(chosen),
        request.args.get("page", 1, type=int),
        INQUIRIES_PAGE_SIZE,
    )
    return render_template(
        "admin/press/inquiries.html",
        page=page,
        status=status if chosen else "all",
        action=ActionForm(),
    )


@bp.post("/inquiries/<int:inquiry_id>/handled")
def inquiry_handled(inquiry_id: int):
    """Mark an inquiry handled, or back to new."""
    inquiry = db.get_or_404(PressInquiry, inquiry_id)
    if ActionForm().validate_on_submit():
        handled = request.form.get("handled") == "1"
        services.set_inquiry_handled(inquiry, handled)
        record(
            "press_inquiry.handled" if handled else "press_inquiry.reopen",
            inquiry,
            label=inquiry.subject,
            details={"from": inquiry.outlet},
        )
        db.session.commit()
        flash(
            gettext("Demande marquée comme traitée.")
            if handled
            else gettext("Demande remise à traiter."),
            "success",
        )
    # Back to the page the organiser was reading, not to the first one.
    back_page = request.form.get("page", 1, type=int)
    return redirect(
        url_for(
            "admin.press.inquiries",
            status=request.form.get("back", "new"),
            page=back_page if back_page > 1 else None,
        ),
        code=303,
    )
