"""The real app served by gunicorn on loopback, for tests that need real concurrency."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.pgserver import free_port

ROOT = Path(__file__).resolve().parent.parent


class LiveServer:
    """Start gunicorn with the given EVENTAPP_* settings; stop it and all its workers."""

    def __init__(
        self,
        settings: dict[str, str],
        workers: int = 4,
        threads: int = 4,
        log_path: Path | None = None,
    ):
        self.port = free_port()
        # The server's own log (its stderr) goes to log_path when given, for tests that read it.
        self.log = open(log_path, "wb") if log_path else None  # noqa: SIM115 (closed by stop)
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, **{f"EVENTAPP_{key}": value for key, value in settings.items()}}
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--log-level",
                "warning",
                "eventapp:create_app()",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
            stderr=self.log,
        )
        self._wait_until_up()

    def _wait_until_up(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("gunicorn exited at start")
            try:
                urllib.request.urlopen(self.url + "/", timeout=2)
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("gunicorn did not answer in time")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self.log is not None:
            self.log.close()
