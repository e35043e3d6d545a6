"""Requests per second of the demo event page against a bare Flask page, same server, same DB.

Run with `.venv/bin/python bench/pages.py [--duration 10]`. The last line is
`RESULT pages event_rps=<n> bare_rps=<n> ratio=<event/bare> ics_rps=<n> ics_ratio=<ics/bare>`;
the targets are ratio >= 0.8 (the cached page costs about the bare one) and ics_ratio >= 0.5 (the
event's .ics, from the same cache).
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack

from _common import (
    BENCH_DIR,
    BenchError,
    add_load_arguments,
    compare,
    expect_page,
    free_port,
    gunicorn_argv,
    log,
    result_line,
    scratch_instance,
    serve,
    terminate_on_sigterm,
)

EVENT_PATH = "/events/lancement-kit-regionaless"
ICS_PATH = EVENT_PATH + ".ics"
# The demo's three speakers: the page measured must be the whole one.
SPEAKERS = ("Mahel Coppey", "Pascal Duforestel", "Catherine Zuber")
DEMO_TITLE = "Lancement du kit RégionalESS"
TARGET_RATIO = 0.8
TARGET_ICS_RATIO = 0.5


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_load_arguments(parser, duration=10, rounds=5)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Load the demo into a scratch database, measure both apps, print the RESULT line."""
    args = parse_args(argv)
    terminate_on_sigterm()
    with scratch_instance() as instance, ExitStack() as servers:
        log(f"scratch instance {instance.path}")
        instance.flask("db", "upgrade")
        instance.flask("demo")

        port = free_port()
        argv_event = gunicorn_argv(instance.app_spec, port, args.workers)
        event = servers.enter_context(
            serve("eventapp", argv_event, port, instance.env(), instance.path, EVENT_PATH)
        )
        expect_page(event, EVENT_PATH, contains=SPEAKERS)

        port = free_port()
        argv_bare = gunicorn_argv(
            "bare_app:create_app()", port, args.workers, "--chdir", str(BENCH_DIR)
        )
        bare = servers.enter_context(
            serve("bare", argv_bare, port, instance.env(), instance.path, EVENT_PATH)
        )
        expect_page(bare, EVENT_PATH, contains=(DEMO_TITLE,))

        # Both run side by side; the one not under load sits idle in accept().
        event_load, bare_load = compare(
            [event, bare],
            EVENT_PATH,
            duration=args.duration,
            rounds=args.rounds,
            warmup=args.warmup,
            threads=args.threads,
            connections=args.connections,
        )
        expect_page(event, ICS_PATH, contains=("BEGIN:VCALENDAR",))
        # The .ics against the bare page again, in the same alternating rounds.
        ics_load, ics_bare_load = compare(
            [event, bare],
            [ICS_PATH, EVENT_PATH],
            duration=args.duration,
            rounds=args.rounds,
            warmup=args.warmup,
            threads=args.threads,
            connections=args.connections,
        )

    ratio = event_load.rps / bare_load.rps
    if event_load.cpu_ms_per_request and bare_load.cpu_ms_per_request:
        cpu_ratio = bare_load.cpu_ms_per_request / event_load.cpu_ms_per_request
        log(f"server CPU per request, bare/event: {cpu_ratio:.2f} (less sensitive to other load)")
    if ratio < TARGET_RATIO:
        log(f"ratio {ratio:.2f} is below the target {TARGET_RATIO}")
    ics_ratio = ics_load.rps / ics_bare_load.rps
    if ics_ratio < TARGET_ICS_RATIO:
        log(f"ics_ratio {ics_ratio:.2f} is below the target {TARGET_ICS_RATIO}")
    result_line(
        "pages",
        event_rps=f"{event_load.rps:.0f}",
        bare_rps=f"{bare_load.rps:.0f}",
        ratio=f"{ratio:.2f}",
        ics_rps=f"{ics_load.rps:.0f}",
        ics_ratio=f"{ics_ratio:.2f}",
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"bench/pages.py failed: {error}", file=sys.stderr)
        sys.exit(1)
