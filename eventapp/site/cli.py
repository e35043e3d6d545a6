"""`flask dev`: every process a local installation needs, in one terminal."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import click
from flask import current_app
from flask.cli import with_appcontext

HOST, PORT = "127.0.0.1", 5000

# Each extra process `flask dev` starts beside the web server, as (name, argv) pairs.
# Domains that need a background process locally (mail sink, worker) append to this list.
DEV_PROCESSES: list[tuple[str, list[str]]] = []


def _flask(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "eventapp", *args]


@click.command("dev")
@with_appcontext
def dev_command() -> None:
    """Start the web server and its helpers locally; Ctrl-C stops them all."""
    processes = [subprocess.Popen(argv) for _name, argv in DEV_PROCESSES]
    processes.append(subprocess.Popen(_flask("run", "--host", HOST, "--port", str(PORT))))
    click.echo("")
    click.secho(f"  eventapp is running: open http://{HOST}:{PORT}/", bold=True)
    for name, _argv in DEV_PROCESSES:
        click.echo(f"  also running: {name}")
    click.echo(f"  database: {current_app.config['SQLALCHEMY_DATABASE_URI']}")
    click.echo("  stop everything with Ctrl-C\n")
    try:
        # Any process ending (or Ctrl-C) ends the session: a half-running stack misleads.
        os.wait()
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
