"""Shared pieces of the benchmarks: a scratch instance, servers on loopback, wrk, RESULT lines."""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = PROJECT_ROOT / "bench"
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"


class BenchError(RuntimeError):
    """A benchmark could not produce a trustworthy figure."""


def fail(message: str) -> None:
    """Stop the benchmark with a message that says what went wrong."""
    raise BenchError(message)


def log(message: str) -> None:
    """Report progress on stderr, so that stdout ends with the RESULT line."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def result_line(name: str, **figures: object) -> str:
    """Print and return `RESULT <name> key=value ...`, in the order given."""
    line = " ".join([f"RESULT {name}", *(f"{key}={value}" for key, value in figures.items())])
    print(line, flush=True)
    return line


def terminate_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so that `finally` blocks stop what the benchmark started."""

    def _exit(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)


def free_port() -> int:
    """Return a loopback TCP port that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# --- a scratch installation ------------------------------------------------------------------


@dataclass
class Instance:
    """A temporary instance folder with its own SQLite database and secret."""

    path: Path
    database_uri: str
    secret_key: str = "bench-only-secret-key"

    @property
    def app_spec(self) -> str:
        """Name the factory call that builds the real app on this instance folder."""
        return f"eventapp:create_app(instance_path={str(self.path)!r})"

    def env(self, **extra: str) -> dict[str, str]:
        """Return the environment of a process that uses this instance."""
        env = dict(os.environ)
        env.update(
            EVENTAPP_SQLALCHEMY_DATABASE_URI=self.database_uri,
            EVENTAPP_SECRET_KEY=self.secret_key,
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def flask(self, *args: str, timeout: float = 120) -> str:
        """Run `flask --app eventapp <args>` on this instance; return its output, fail loudly."""
        argv = [str(BIN / "flask"), "--app", self.app_spec, *args]
        done = subprocess.run(
            argv, cwd=PROJECT_ROOT, env=self.env(), capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            command = " ".join(args)
            fail(f"`flask {command}` exited with {done.returncode}:\n{done.stdout}{done.stderr}")
        return done.stdout


@contextmanager
def scratch_instance(prefix: str = "eventapp-bench-") -> Iterator[Instance]:
    """Create a temporary instance folder with a fresh SQLite database; remove it afterwards."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield Instance(path=path, database_uri=f"sqlite:///{path / 'eventapp.sqlite3'}")
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- servers ---------------------------------------------------------------------------------


def gunicorn_argv(app_spec: str, port: int, workers: int = 4, *extra: str) -> list[str]:
    """Return the gunicorn command line that serves `app_spec` on loopback."""
    return [
        str(BIN / "gunicorn"),
        "--workers",
        str(workers),
        "--bind",
        f"{HOST}:{port}",
        "--graceful-timeout",
        "5",
        "--log-level",
        "warning",
        *extra,
        app_spec,
    ]


@dataclass
class Server:
    """A server process group started by a benchmark, and where it listens."""

    name: str
    process: subprocess.Popen
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        """Return the end of the server's output, for error messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def get(port: int, path: str, timeout: float = 10) -> tuple[int, str]:
    """GET a path on loopback without following redirects; return status and body."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Accept-Language": "fr"})
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", errors="replace")
    finally:
        connection.close()


def stop_process_group(process: subprocess.Popen, timeout: float = 15) -> None:
    """Stop a process and everything it started: SIGTERM to its group, then SIGKILL."""
    if process.poll() is not None:
        return
    try:
        pgid = os.getpgid(process.pid)
    except ProcessLookupError:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    # The master is gone; make sure no worker of its group survives it.
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@contextmanager
def serve(
    name: str,
    argv: Sequence[str],
    port: int,
    env: dict[str, str],
    log_dir: Path,
    ready_path: str = "/",
    cwd: Path = PROJECT_ROOT,
    start_timeout: float = 60,
) -> Iterator[Server]:
    """Start a server in its own process group, wait until it answers, stop it on exit."""
    log_path = log_dir / f"{name}.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: stopping it stops its workers too
        )
    server = Server(name=name, process=process, port=port, log_path=log_path)
    try:
        wait_until_answering(server, ready_path, start_timeout)
        yield server
    finally:
        stop_process_group(process)


def wait_until_answering(server: Server, path: str, timeout: float) -> None:
    """Wait until the server gives any HTTP answer on `path`; fail if it dies or stays silent."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            fail(
                f"{server.name} exited with {server.process.returncode} before answering:\n"
                f"{server.log_tail()}"
            )
        try:
            get(server.port, path, timeout=5)
            return
        except (OSError, http.client.HTTPException):
            time.sleep(0.1)
    tail = server.log_tail()
    fail(f"{server.name} did not answer on {server.base_url} in {timeout:.0f} s:\n{tail}")


def expect_page(server: Server, path: str, status: int = 200, contains: Sequence[str] = ()) -> str:
    """GET a page once and fail unless it has the status and every expected text."""
    got, body = get(server.port, path)
    if got != status:
        tail = server.log_tail()
        fail(f"{server.name} answered {got} on {path}, not {status}:\n{body[:500]}\n{tail}")
    missing = [text for text in contains if text not in body]
    if missing:
        fail(f"{server.name} page {path} lacks {missing!r}")
    return body


# --- load ------------------------------------------------------------------------------------

WRK = shutil.which("wrk") or "/usr/bin/wrk"


@dataclass
class WrkResult:
    """What one wrk run measured."""

    url: str
    requests: int
    seconds: float
    rps: float
    non_2xx_3xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)
    output: str = ""

    @property
    def errors(self) -> int:
        return self.non_2xx_3xx + sum(self.socket_errors.values())


def parse_wrk(url: str, output: str) -> WrkResult:
    """Read the totals out of wrk's text report."""
    totals = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b", output)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not totals or not rps:
        fail(f"cannot read wrk's report:\n{output}")
    scale = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[totals.group(3)]
    result = WrkResult(
        url=url,
        requests=int(totals.group(1)),
        seconds=float(totals.group(2)) * scale,
        rps=float(rps.group(1)),
        output=output,
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non_2xx:
        result.non_2xx_3xx = int(non_2xx.group(1))
    sockets = re.search(r"Socket errors:\s+(.*)", output)
    if sockets:
        result.socket_errors = {
            kind: int(count) for kind, count in re.findall(r"(\w+) (\d+)", sockets.group(1))
        }
    return result


def run_wrk(
    url: str, duration: float, threads: int = 2, connections: int = 32, timeout: float = 10
) -> WrkResult:
    """Drive `url` with wrk for `duration` seconds and return what it measured."""
    language = ["--header=Accept-Language: fr"]
    return _wrk(url, duration, language, None, threads, connections, timeout)


def run_wrk_script(
    url: str,
    duration: float,
    script: Path,
    env: dict[str, str] | None = None,
    threads: int = 2,
    connections: int = 32,
    timeout: float = 10,
) -> WrkResult:
    """Drive `url` with wrk and a Lua script (`-s`) that builds the requests; keep its output."""
    return _wrk(url, duration, [f"--script={script}"], env, threads, connections, timeout)


def _wrk(
    url: str,
    duration: float,
    extra: list[str],
    env: dict[str, str] | None,
    threads: int,
    connections: int,
    timeout: float,
) -> WrkResult:
    if not Path(WRK).exists():
        fail("wrk is not installed (Debian: apt-get install wrk)")
    argv = [
        WRK,
        f"--threads={threads}",
        f"--connections={max(connections, threads)}",
        f"--duration={max(1, round(duration))}s",
        f"--timeout={max(1, round(timeout))}s",
        *extra,
        url,
    ]
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=duration + timeout + 30,
    )
    if done.returncode != 0:
        fail(f"wrk exited with {done.returncode}:\n{done.stdout}{done.stderr}")
    return parse_wrk(url, done.stdout + done.stderr)


def add_load_arguments(parser: argparse.ArgumentParser, duration: float, rounds: int) -> None:
    """Add the options every load benchmark takes: how long, in how many rounds, how hard."""
    parser.add_argument("--duration", type=float, default=duration, help="seconds of load per app")
    parser.add_argument(
        "--rounds", type=int, default=rounds, help="alternating runs the duration is split into"
    )
    parser.add_argument("--warmup", type=float, default=3, help="seconds of load before measuring")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers per app")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")


def expect_no_errors(result: WrkResult, label: str) -> None:
    """Fail unless every request of a wrk run got a 2xx or 3xx answer without a socket error."""
    if result.requests == 0:
        fail(f"{label}: wrk completed no request:\n{result.output}")
    if result.errors:
        fail(
            f"{label}: {result.non_2xx_3xx} non-2xx/3xx answers and socket errors "
            f"{result.socket_errors} out of {result.requests} requests:\n{result.output}"
        )


def process_group_cpu(pgid: int) -> float | None:
    """Return the CPU seconds used so far by the live processes of a group (Linux /proc)."""
    if not os.path.isdir("/proc"):
        return None
    ticks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[2]) == pgid:  # fields after the name: state, ppid, pgrp, ...
            ticks += int(fields[11]) + int(fields[12])  # utime + stime
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Measure:
    """Several wrk runs against one server, added up."""

    name: str
    runs: list[WrkResult] = field(default_factory=list)
    server_cpu: float | None = 0.0

    @property
    def requests(self) -> int:
        return sum(run.requests for run in self.runs)

    @property
    def seconds(self) -> float:
        return sum(run.seconds for run in self.runs)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_request(self) -> float | None:
        """Server CPU per request: unlike requests/s, barely moved by other load on the machine."""
        if self.server_cpu is None or not self.requests:
            return None
        return self.server_cpu / self.requests * 1000

    def summary(self) -> str:
        text = f"{self.name}: {self.rps:.1f} requests/s ({self.requests} in {self.seconds:.1f} s)"
        if self.cpu_ms_per_request is not None:
            text += f", server CPU {self.cpu_ms_per_request:.3f} ms/request"
        return text


def warm_up(
    server: Server, path: str, seconds: float, threads: int = 2, connections: int = 32
) -> None:
    """Load every worker once: templates, compiled queries, connections; fail on any error."""
    if seconds > 0:
        result = run_wrk(server.base_url + path, seconds, threads, connections)
        expect_no_errors(result, f"{server.name} warm-up")


def measure_once(
    server: Server,
    path: str,
    seconds: float,
    measure: Measure,
    threads: int = 2,
    connections: int = 32,
) -> WrkResult:
    """Run wrk once against a server, fail on any error, and add the run to `measure`."""
    pgid = os.getpgid(server.process.pid)
    cpu_before = process_group_cpu(pgid)
    result = run_wrk(server.base_url + path, seconds, threads, connections)
    cpu_after = process_group_cpu(pgid)
    expect_no_errors(result, server.name)
    measure.runs.append(result)
    if cpu_before is None or cpu_after is None or measure.server_cpu is None:
        measure.server_cpu = None
    else:
        measure.server_cpu += cpu_after - cpu_before
    return result


def compare(
    servers: Sequence[Server],
    path: str | Sequence[str],
    duration: float,
    rounds: int = 2,
    warmup: float = 3,
    threads: int = 2,
    connections: int = 32,
) -> list[Measure]:
    """Measure servers that run side by side, `duration` seconds each, in alternating rounds.

    The order flips every round (A B, B A, ...), so a change of load on a shared machine during
    the run weighs on every server alike instead of on the one measured last. `path` is one path
    for all, or one per server.
    """
    paths = dict(
        zip(
            (id(s) for s in servers),
            [path] * len(servers) if isinstance(path, str) else path,
            strict=True,
        )
    )
    for server in servers:
        warm_up(server, paths[id(server)], warmup, threads, connections)
    measures = [Measure(server.name) for server in servers]
    seconds = duration / max(1, rounds)
    for round_number in range(max(1, rounds)):
        order = list(zip(servers, measures, strict=True))
        if round_number % 2:
            order.reverse()
        for server, measure in order:
            result = measure_once(server, paths[id(server)], seconds, measure, threads, connections)
            log(f"{server.name}: round {round_number + 1}, {result.rps:.1f} requests/s")
    for measure in measures:
        log(measure.summary())
    return measures


def run_jobs_once(instance_path: str) -> None:
    """Run the worker's scheduled jobs once, as `flask worker` does; print figures as JSON."""
    import json
    import resource

    from eventapp import create_app
    from eventapp.models import now_utc
    from eventapp.outbox.jobs import import_job_modules, run_due_jobs

    app = create_app(instance_path=instance_path)
    with app.app_context():
        import_job_modules()
        before = resource.getrusage(resource.RUSAGE_SELF)
        cpu_before = before.ru_utime + before.ru_stime
        started = time.perf_counter()
        results = run_due_jobs(now_utc())
        elapsed = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "cpu_seconds": usage.ru_utime + usage.ru_stime - cpu_before,
                "peak_rss_mb": usage.ru_maxrss / 1024,  # ru_maxrss is in kilobytes on Linux
                "results": results,
            }
        )
    )


def jobs_once_in_a_fresh_process(script: str, instance: Instance) -> dict:
    """Run `script --worker <instance>` (which calls run_jobs_once); return its figures."""
    import json

    done = subprocess.run(
        [sys.executable, script, "--worker", str(instance.path)],
        cwd=PROJECT_ROOT,
        env=instance.env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        fail(f"the worker exited with {done.returncode}:\n{done.stdout}{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])
