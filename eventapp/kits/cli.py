"""`flask kits upload|schedule|release-due`: what organisers need before the back office."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from eventapp.extensions import db
from eventapp.kits import services, uploads
from eventapp.kits.followups import release_due_sheets
from eventapp.kits.models import Kit, Sheet
from eventapp.models import now_utc

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


kits_group = AppGroup("kits", help="Manage the kits of sheets.")


def _kit(slug: str) -> Kit:
    kit = db.session.scalars(select(Kit).where(Kit.slug == slug)).first()
    if kit is None:
        raise click.ClickException(f"no kit {slug!r}")
    return kit


def _sheet(kit: Kit, number: int) -> Sheet:
    sheet = next((s for s in kit.sheets if s.number == number), None)
    if sheet is None:
        raise click.ClickException(f"kit {kit.slug!r} has no sheet n°{number}")
    return sheet


@kits_group.command("upload")
@click.argument("slug")
@click.argument("number", type=int)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--accessible", is_flag=True, help="Store it as the accessible (tagged) version.")
def upload_command(slug: str, number: int, path: Path, accessible: bool) -> None:
    """Store a PDF as a sheet's file, checked by its content."""
    sheet = _sheet(_kit(slug), number)
    try:
        with path.open("rb") as stream:
            previous = uploads.attach_pdf(sheet, stream, accessible=accessible)
    except uploads.UploadRejected as error:
        raise click.ClickException(str(error)) from error
    uploads.remove_file(previous)  # once the commit succeeds
    db.session.commit()
    click.echo(f"sheet n°{number}: stored ({path.stat().st_size} bytes)")


@kits_group.command("schedule")
@click.argument("slug")
@click.argument("first_release", type=click.DateTime(["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"]))
@click.option(
    "--weekday",
    type=click.Choice(WEEKDAYS),
    default=None,
    help="Release on this day of the week, from FIRST_RELEASE on.",
)
@click.option(
    "--all", "include_announced", is_flag=True, help="Move the sheets already announced too."
)
def schedule_command(
    slug: str, first_release: datetime, weekday: str | None, include_announced: bool
) -> None:
    """Lay the sheets out weekly from FIRST_RELEASE (wall-clock time in the kit's time zone)."""
    kit = _kit(slug)
    start = first_release.replace(tzinfo=kit.tz)
    sheets = services.schedule_weekly(
        kit,
        start,
        weekday=WEEKDAYS.index(weekday) if weekday else None,
        only_unannounced=not include_announced,
    )
    db.session.commit()
    for sheet in sheets:
        when = sheet.release_at.astimezone(kit.tz)
        click.echo(f"n°{sheet.number:>2}  {when:%Y-%m-%d %H:%M}  {sheet.title}")


@kits_group.command("release-due")
def release_due_command() -> None:
    """Queue the follow-ups of the sheets due now, once (the worker does it every minute)."""
    queued = release_due_sheets(now_utc())
    db.session.commit()
    click.echo(f"{queued} follow-up(s) queued")
