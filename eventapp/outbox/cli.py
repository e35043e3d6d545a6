"""`flask worker`, `flask outbox send|status` and `flask mail-sink`."""

from __future__ import annotations

import logging
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from flask.logging import default_handler

from eventapp.outbox.delivery import count_due, deliver_due
from eventapp.outbox.services import count_by_status
from eventapp.outbox.worker import run_worker, stop_on_signals


def _log_to_terminal() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        # Flask's own handler on the app's logger would write each of its lines a second time.
        logging.getLogger(current_app.import_name).removeHandler(default_handler)


@click.command("worker")
@with_appcontext
def worker_command() -> None:
    """Send queued mail and run scheduled jobs until SIGTERM or Ctrl-C."""
    _log_to_terminal()
    config = current_app.config
    click.echo(
        f"worker: mail through {config['MAIL_SERVER']}:{config['MAIL_PORT']}, "
        f"polling every {config['OUTBOX_POLL_SECONDS']} s"
    )
    with stop_on_signals() as stop:
        run_worker(stop)
    click.echo("worker: stopped")


@click.group("outbox")
def outbox_group() -> None:
    """Look at and deliver the mail outbox."""


@outbox_group.command("send")
@with_appcontext
def send_command() -> None:
    """Deliver what is due once, then exit."""
    _log_to_terminal()
    with stop_on_signals() as stop, click.progressbar(length=count_due(), label="Sending") as bar:
        report = deliver_due(stop=stop, on_progress=bar.update)
    click.echo(f"{report.sent} sent, {report.retried} to retry later, {report.failed} failed")
    if report.relay_error:
        raise click.ClickException(f"SMTP relay unavailable: {report.relay_error}")


@outbox_group.command("status")
@with_appcontext
def status_command() -> None:
    """Print how many mails are in each status."""
    for status, count in count_by_status().items():
        click.echo(f"{status.value:<10} {count}")


@click.command("mail-sink")
@click.option(
    "--folder",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where to write the .eml files (default: MAIL_SINK_FOLDER, instance/mail).",
)
@with_appcontext
def mail_sink_command(folder: Path | None) -> None:
    """Receive mail on MAIL_SERVER:MAIL_PORT and keep each one as a .eml file."""
    from aiosmtpd.controller import Controller

    from eventapp.outbox.sink import EmlFolderHandler

    config = current_app.config
    folder = folder or Path(current_app.instance_path) / config["MAIL_SINK_FOLDER"]
    handler = EmlFolderHandler(folder, echo=lambda line: click.echo(line))
    controller = Controller(handler, hostname=config["MAIL_SERVER"], port=config["MAIL_PORT"])
    controller.start()
    click.echo(
        f"mail-sink: listening on {config['MAIL_SERVER']}:{config['MAIL_PORT']}, "
        f"writing to {folder}"
    )
    try:
        with stop_on_signals() as stop:
            stop.wait()
    finally:
        controller.stop()
