"""`flask dev`: every process a local installation needs, in one terminal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from eventapp.extensions import db
from eventapp.outbox.sink import uses_local_sink

HOST, PORT = "127.0.0.1", 5000

# Each extra process `flask dev` starts beside the web server, as (name, argv) pairs, or
# (name, argv, wanted) where wanted(config) tells whether this installation needs it.
# Domains that need a background process locally (mail sink, worker) append to this list.
DEV_PROCESSES: list[tuple[str, list[str]] | tuple[str, list[str], Callable[[Any], bool]]] = []


def _flask(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "eventapp", *args]


# The sink only while no real relay is configured; it starts first so the worker finds it.
DEV_PROCESSES.append(
    ("mail sink (each mail kept in instance/mail/)", _flask("mail-sink"), uses_local_sink)
)
DEV_PROCESSES.append(("worker (sends the mail outbox, runs scheduled jobs)", _flask("worker")))


@click.command("dev")
@with_appcontext
def dev_command() -> None:
    """Start the web server and its helpers locally; Ctrl-C stops them all."""
    wanted = [
        (name, argv)
        for name, argv, *when in DEV_PROCESSES
        if not when or when[0](current_app.config)
    ]
    processes = [subprocess.Popen(argv) for _name, argv in wanted]
    processes.append(subprocess.Popen(_flask("run", "--host", HOST, "--port", str(PORT))))
    names = [name for name, _argv in wanted] + ["web server"]
    click.echo("")
    click.secho(f"  eventapp is running: open http://{HOST}:{PORT}/", bold=True)
    for name, _argv in wanted:
        click.echo(f"  also running: {name}")
    click.echo(f"  database: {db.engine.url.render_as_string(hide_password=True)}")
    click.echo("  stop everything with Ctrl-C\n")
    try:
        # Any process ending (or Ctrl-C) ends the session: a half-running stack misleads.
        pid, status = os.wait()
        code = os.waitstatus_to_exitcode(status)
        if code != 0:  # a clean stop (Ctrl-C reaching it first, SIGTERM) needs no word
            ended = next((n for n, p in zip(names, processes, strict=True) if p.pid == pid), "?")
            click.echo(
                f"\n  the {ended.split(' (')[0]} stopped with exit status {code}: stopping the"
                " others; `make run` starts them all again"
            )
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
