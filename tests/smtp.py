"""A real SMTP server for tests (aiosmtpd on a free loopback port, in a thread), with faults.

It keeps every message it accepted, parsed with the email package, and can misbehave on demand:
answer 421 to the next DATA commands, drop the connection instead of answering, refuse some
recipients with 550, or take its time before accepting a message.
"""

from __future__ import annotations

import asyncio
import email
import threading
import time
from collections import Counter
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import default as default_policy

from aiosmtpd.controller import Controller
from flask import Flask

from eventapp.outbox.relay import mail
from tests.pgserver import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage


class SmtpServer:
    def __init__(self, port: int | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.received: list[Received] = []
        self.data_commands = 0  # every DATA that reached the end of its content, accepted or not
        # Faults, each used up as it fires.
        self.answer_421 = 0  # answer "421" to this many DATA commands
        self.drop = 0  # close the connection instead of answering this many DATA commands
        self.refuse = set[str]()  # recipients answered "550" at RCPT, every time
        self.delay = 0.0  # seconds spent on each message before accepting it
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._controller: Controller | None = None

    # Lifecycle
    def start(self) -> SmtpServer:
        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    # aiosmtpd hooks
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self._changed:
            self.data_commands += 1
            self._changed.notify_all()
        if self.delay:
            await asyncio.sleep(self.delay)
        if server.transport is None or server.transport.is_closing():
            # The client went away before the message was whole: a server keeps nothing.
            return "421 4.4.2 Connection lost"
        with self._changed:
            if self.answer_421:
                self.answer_421 -= 1
                return "421 4.3.2 Try again later"
            if self.drop:
                self.drop -= 1
                server.transport.abort()
                return "250 OK"  # never reaches the client
            self.received.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    envelope.original_content,
                    email.message_from_bytes(envelope.original_content, policy=default_policy),
                )
            )
            self._changed.notify_all()
        return "250 2.0.0 Accepted"

    # Looking at what arrived
    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return [r.message for r in self.received]

    def message_ids(self) -> Counter[str]:
        """Count the received messages by Message-ID."""
        return Counter(str(m["Message-ID"]) for m in self.messages)

    def wait_for(self, count: int, timeout: float = 30.0, *, data_commands: bool = False) -> bool:
        """Wait until `count` messages arrived (or DATA commands began); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while (self.data_commands if data_commands else len(self.received)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True


def use_smtp_server(app: Flask, server: SmtpServer) -> None:
    """Point the app's mail at `server`, really sending (TESTING alone would suppress it)."""
    app.config.update(MAIL_SERVER=server.host, MAIL_PORT=server.port, MAIL_SUPPRESS_SEND=False)
    mail.init_app(app)  # Flask-Mail reads its settings once, at init
