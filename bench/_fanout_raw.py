"""The bare baseline of bench/fanout.py: send one pre-built message N times with smtplib.

Run by fanout.py as `python _fanout_raw.py HOST PORT N MESSAGE_FILE`; each copy gets its own
Message-ID, over one connection, as fast as the server answers.
"""

from __future__ import annotations

import re
import smtplib
import sys
from pathlib import Path


def main() -> None:
    host, port, count, message_file = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    sample = Path(message_file).read_bytes()
    found = re.search(rb"^Message-ID: (<[^>]+>)", sample, re.MULTILINE | re.IGNORECASE)
    if found is None:
        raise SystemExit("the sample message has no Message-ID")
    head, tail = sample[: found.start(1)], sample[found.end(1) :]
    messages = (head + b"<raw-%d@bench.invalid>" % number + tail for number in range(count))
    with smtplib.SMTP(host, port, timeout=30) as connection:
        for number, message in enumerate(messages):
            connection.sendmail("bench@example.org", [f"raw{number}@example.org"], message)


if __name__ == "__main__":
    main()
