"""Kits and sheets in the back office: create, upload, schedule weekly, reschedule, preview."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext, ngettext
from sqlalchemy import case, exists, func, select

from eventapp.admin.forms.fields import choices, utc_to_local
from eventapp.admin.forms.kits import KitForm, RescheduleForm, SheetForm, WeeklyScheduleForm
from eventapp.audit.services import changed, record, snapshot
from eventapp.events.models import Event
from eventapp.extensions import db
from eventapp.kits import services, uploads
from eventapp.kits.followups import preview_followup
from eventapp.kits.models import Kit, Sheet
from eventapp.models import now_utc
from eventapp.text import slugify

bp = Blueprint("kits", __name__, url_prefix="/kits")

KIT_FIELDS = ("title", "slug", "description", "published", "show_upcoming_titles", "timezone")
SHEET_FIELDS = (
    "number",
    "title",
    "summary",
    "themes",
    "accessible_body",
    "release_at",
    "file_name",
    "accessible_file_name",
)


def _kit_or_404(kit_id: int) -> Kit:
    return db.get_or_404(Kit, kit_id)


def _sheet_or_404(kit: Kit, sheet_id: int) -> Sheet:
    sheet = db.session.get(Sheet, sheet_id)
    if sheet is None or sheet.kit_id != kit.id:
        abort(404)
    return sheet


def _slug_taken(slug: str, except_id: int | None = None) -> bool:
    stmt = select(Kit.id).where(Kit.slug == slug)
    if except_id is not None:
        stmt = stmt.where(Kit.id != except_id)
    return bool(db.session.scalar(select(exists(stmt))))


@bp.get("/")
def index():
    """List the kits with their number of sheets, released and scheduled."""
    now = now_utc()
    counts = (
        select(
            Sheet.kit_id,
            func.count().label("sheets"),
            func.coalesce(func.sum(case((Sheet.released(now), 1), else_=0)), 0).label("released"),
            func.min(case((Sheet.release_at > now, Sheet.release_at))).label("next_release"),
        )
        .group_by(Sheet.kit_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Kit, counts.c.sheets, counts.c.released, counts.c.next_release)
        .outerjoin(counts, counts.c.kit_id == Kit.id)
        .order_by(Kit.created_at.desc(), Kit.id.desc())
    ).all()
    return render_template("admin/kits/index.html", rows=rows)


def _kit_form(kit: Kit | None) -> KitForm:
    form = KitForm(obj=kit if request.method == "GET" else None)
    form.events.choices = choices(
        (event.id, f"{event.title} ({event.starts_at.astimezone(event.tz):%d/%m/%Y})")
        for event in db.session.scalars(select(Event).order_by(Event.starts_at.desc()))
    )
    if request.method == "GET":
        form.events.data = [event.id for event in kit.events] if kit else []
        if kit is None:
            form.show_upcoming_titles.data = True
    return form


def _chosen_events(form: KitForm) -> list[Event]:
    ids = form.events.data or []
    return list(db.session.scalars(select(Event).where(Event.id.in_(ids)))) if ids else []


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Create a kit, hidden from the public until published."""
    form = _kit_form(None)
    if form.validate_on_submit():
        slug = form.slug.data or slugify(form.title.data) or "kit"
        if _slug_taken(slug):
            form.slug.errors.append(gettext("Un autre kit utilise déjà cette adresse."))
        else:
            kit = services.create_kit(
                slug=slug,
                title=form.title.data,
                description=form.description.data or "",
                events=_chosen_events(form),
                published=bool(form.published.data),
                show_upcoming_titles=bool(form.show_upcoming_titles.data),
                timezone=form.timezone.data,
            )
            record("kit.create", kit, label=kit.title)
            db.session.commit()
            flash(gettext("Kit créé. Ajoutez-lui ses fiches."), "success")
            return redirect(url_for("admin.kits.detail", kit_id=kit.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("admin/kits/form.html", form=form, kit=None), status


@bp.route("/<int:kit_id>/edit", methods=["GET", "POST"])
def edit(kit_id: int):
    """Edit a kit's presentation, events and visibility."""
    kit = _kit_or_404(kit_id)
    form = _kit_form(kit)
    if form.validate_on_submit():
        slug = form.slug.data or kit.slug
        if _slug_taken(slug, except_id=kit.id):
            form.slug.errors.append(gettext("Un autre kit utilise déjà cette adresse."))
        else:
            before = snapshot(kit, KIT_FIELDS)
            before_events = sorted(event.id for event in kit.events)
            kit.slug, kit.title = slug, form.title.data
            kit.description = (form.description.data or "").replace("\r\n", "\n")
            kit.published = bool(form.published.data)
            kit.show_upcoming_titles = bool(form.show_upcoming_titles.data)
            kit.timezone = form.timezone.data
            kit.events = _chosen_events(form)
            kit.updated_at = now_utc()
            db.session.flush()
            differences = changed(before, snapshot(kit, KIT_FIELDS))
            after_events = sorted(event.id for event in kit.events)
            if after_events != before_events:
                differences["events"] = [before_events, after_events]
            record("kit.update", kit, label=kit.title, details={"changed": differences})
            db.session.commit()
            flash(gettext("Kit enregistré."), "success")
            return redirect(url_for("admin.kits.detail", kit_id=kit.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("admin/kits/form.html", form=form, kit=kit), status


@bp.get("/<int:kit_id>")
def detail(kit_id: int):
    """Show a kit's sheets and their calendar, with a reschedule form on each line."""
    kit = _kit_or_404(kit_id)
    sheets = services.organiser_sheets(kit)
    schedule = WeeklyScheduleForm(tz_name=kit.timezone, formdata=None)
    return render_template(
        "admin/kits/detail.html",
        kit=kit,
        sheets=sheets,
        local=lambda moment: utc_to_local(moment, kit.tz),
        schedule=schedule,
        reschedule=RescheduleForm(tz_name=kit.timezone, formdata=None),
        downloads=sum(sheet.download_count for sheet in sheets),
        now=now_utc(),
    )


def _store_files(form: SheetForm, sheet: Sheet) -> list[str | None]:
    """Store the uploaded PDFs; return the files they replace (to delete on commit)."""
    replaced = []
    for field, accessible in ((form.pdf, False), (form.accessible_pdf, True)):
        upload = field.data
        if upload and getattr(upload, "filename", ""):
            try:
                replaced.append(uploads.attach_pdf(sheet, upload.stream, accessible=accessible))
            except uploads.UploadRejected as error:
                field.errors.append(str(error))
    return replaced


@bp.route("/<int:kit_id>/sheets/new", methods=["GET", "POST"])
def new_sheet(kit_id: int):
    """Add a sheet, with its PDF if it is ready."""
    kit = _kit_or_404(kit_id)
    form = SheetForm(tz_name=kit.timezone)
    if request.method == "GET":
        form.number.data = max((sheet.number for sheet in kit.sheets), default=0) + 1
    if form.validate_on_submit():
        if any(sheet.number == form.number.data for sheet in kit.sheets):
            form.number.errors.append(gettext("Ce kit a déjà une fiche de ce numéro."))
        else:
            content = form.content()
            accessible_body = content.pop("accessible_body")
            sheet = services.add_sheet(
                kit, number=form.number.data, release_at=form.release_utc, **content
            )
            if accessible_body:
                services.update_sheet(sheet, accessible_body=accessible_body)
            _store_files(form, sheet)
            if form.pdf.errors or form.accessible_pdf.errors:
                db.session.rollback()  # also deletes the files just written
            else:
                record(
                    "sheet.create",
                    sheet,
                    label=f"{kit.title} n°{sheet.number}",
                    details={"kit": kit.id, "title": sheet.title},
                )
                db.session.commit()
                flash(gettext("Fiche n°%(number)d ajoutée.", number=sheet.number), "success")
                return redirect(url_for("admin.kits.detail", kit_id=kit.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("admin/kits/sheet.html", form=form, kit=kit, sheet=None), status


@bp.route("/<int:kit_id>/sheets/<int:sheet_id>", methods=["GET", "POST"])
def edit_sheet(kit_id: int, sheet_id: int):
    """Edit a sheet's content and replace its PDFs; its date moves with reschedule."""
    kit = _kit_or_404(kit_id)
    sheet = _sheet_or_404(kit, sheet_id)
    form = SheetForm(obj=sheet if request.method == "GET" else None, tz_name=kit.timezone)
    if request.method == "GET":
        form.themes.data = ", ".join(sheet.themes or [])
        form.release_at.data = utc_to_local(sheet.release_at, kit.tz)
    if form.validate_on_submit():
        before = snapshot(sheet, SHEET_FIELDS)
        services.update_sheet(sheet, **form.content())
        replaced = _store_files(form, sheet)
        if form.pdf.errors or form.accessible_pdf.errors:
            db.session.rollback()  # also deletes the files just written
        else:
            record(
                "sheet.update",
                sheet,
                label=f"{kit.title} n°{sheet.number}",
                details={"kit": kit.id, "changed": changed(before, snapshot(sheet, SHEET_FIELDS))},
            )
            for name in replaced:
                uploads.remove_file(name)  # once the commit succeeds
            db.session.commit()
            flash(gettext("Fiche n°%(number)d enregistrée.", number=sheet.number), "success")
            return redirect(url_for("admin.kits.detail", kit_id=kit.id), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("admin/kits/sheet.html", form=form, kit=kit, sheet=sheet), status


@bp.post("/<int:kit_id>/sheets/<int:sheet_id>/reschedule")
def reschedule(kit_id: int, sheet_id: int):
    """Move one sheet's release date (empty: off the calendar)."""
    kit = _kit_or_404(kit_id)
    sheet = _sheet_or_404(kit, sheet_id)
    form = RescheduleForm(tz_name=kit.timezone)
    if not form.validate_on_submit():
        flash(
            gettext(
                "Fiche n°%(number)d : %(error)s",
                number=sheet.number,
                error=" ".join(str(e) for e in form.release_at.errors) or gettext("date invalide."),
            ),
            "error",
        )
        return redirect(url_for("admin.kits.detail", kit_id=kit.id), code=303)
    before = snapshot(sheet, ("release_at",))
    services.reschedule_sheet(sheet, form.release_utc)
    record(
        "sheet.reschedule",
        sheet,
        label=f"{kit.title} n°{sheet.number}",
        details={"kit": kit.id, "changed": changed(before, snapshot(sheet, ("release_at",)))},
    )
    db.session.commit()
    if sheet.notified_at is not None:
        flash(
            gettext(
                "Fiche n°%(number)d déplacée ; déjà annoncée, elle ne sera pas annoncée à nouveau.",
                number=sheet.number,
            ),
            "success",
        )
    else:
        flash(gettext("Fiche n°%(number)d déplacée.", number=sheet.number), "success")
    return redirect(url_for("admin.kits.detail", kit_id=kit.id) + f"#fiche-{sheet.id}", code=303)


@bp.route("/<int:kit_id>/schedule", methods=["GET", "POST"])
def schedule(kit_id: int):
    """Lay the sheets out weekly: show the dates first, apply them once confirmed."""
    kit = _kit_or_404(kit_id)
    form = WeeklyScheduleForm(tz_name=kit.timezone)
    plan = []
    if form.validate_on_submit():
        weekday = int(form.weekday.data) if form.weekday.data else None
        only_unannounced = not form.include_announced.data
        if form.confirmed.data:
            sheets = services.schedule_weekly(
                kit,
                form.first_utc,
                weekday=weekday,
                every_weeks=form.every_weeks.data,
                only_unannounced=only_unannounced,
            )
            record(
                "kit.schedule",
                kit,
                label=kit.title,
                details={
                    "first_release": form.first_utc,
                    "weekday": weekday,
                    "every_weeks": form.every_weeks.data,
                    "sheets": len(sheets),
                },
            )
            db.session.commit()
            flash(
                ngettext("%(num)d fiche planifiée.", "%(num)d fiches planifiées.", len(sheets)),
                "success",
            )
            return redirect(url_for("admin.kits.detail", kit_id=kit.id), code=303)
        moving = [
            sheet
            for sheet in sorted(kit.sheets, key=lambda s: s.number)
            if not (only_unannounced and sheet.notified_at is not None)
        ]
        dates = services.weekly_dates(
            form.first_utc,
            len(moving),
            tz=kit.tz,
            weekday=weekday,
            every_weeks=form.every_weeks.data,
        )
        plan = list(zip(moving, dates, strict=True))
        form.confirmed.data = True
    status = 422 if request.method == "POST" and form.errors else 200
    return render_template("admin/kits/schedule.html", kit=kit, form=form, plan=plan), status


@bp.get("/<int:kit_id>/sheets/<int:sheet_id>/preview")
def preview(kit_id: int, sheet_id: int):
    """Show the follow-up mail of a sheet as subscribers will get it."""
    kit = _kit_or_404(kit_id)
    sheet = _sheet_or_404(kit, sheet_id)
    locale = request.args.get("lang", "")
    if locale not in current_app.config["LANGUAGES"]:
        locale = current_app.config["BABEL_DEFAULT_LOCALE"]
    return render_template(
        "admin/kits/preview.html",
        kit=kit,
        sheet=sheet,
        mail=preview_followup(sheet, locale),
        locale=locale,
    )
