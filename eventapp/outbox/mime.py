"""Write the MIME bytes of a queued mail: headers, text and HTML, calendar invite, attachments.

Written by hand rather than with email.message: the worker builds one message per recipient of
a fan-out, and the email package's header objects cost more than the SMTP exchange itself. The
encodings are the standard library's (quoted-printable, base64, RFC 2047, RFC 2231); tests parse
the result back with the email package.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import re
from datetime import datetime
from email.header import Header
from email.utils import encode_rfc2231, format_datetime, formataddr, parseaddr
from typing import Any, NamedTuple

from eventapp.text import one_line

CRLF = b"\r\n"
LINESEP = "\r\n"
_TOKEN = re.compile(r"[A-Za-z0-9!#$&^_.+-]+")


class MailAddress(NamedTuple):
    name: str
    addr: str


def configured_address(configured: str | tuple[str, str], default_name: str = "") -> MailAddress:
    """Return an address from config ("a@b", "Name <a@b>" or (name, address)), named by default."""
    if isinstance(configured, tuple | list):
        name, addr = configured
    else:
        name, addr = parseaddr(configured)
    return MailAddress(one_line(name or default_name), addr)


def _one_line(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError(f"line break in a header value: {value!r}")
    return value


@functools.lru_cache(maxsize=256)  # a fan-out's subject and sender are the same every time
def _header_text(name: str, value: str) -> str:
    """Encode a text header: ASCII as is (folded at spaces), anything else as RFC 2047 words."""
    value = one_line(value)  # a CR or LF becomes a space: it can never start a header
    if value.isascii():
        return Header(value, "us-ascii", header_name=name).encode(linesep=LINESEP)
    return Header(value, "utf-8", header_name=name).encode(linesep=LINESEP)


@functools.lru_cache(maxsize=256)
def _address(address: MailAddress) -> str:
    addr = _one_line(address.addr)
    name = one_line(address.name)
    if not name:
        return addr
    if name.isascii():
        return formataddr((name, addr))  # quotes the name when it holds specials
    return f"{Header(name, 'utf-8').encode(linesep=LINESEP)} <{addr}>"


def _qp(text: str) -> bytes:
    data = text.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    return binascii.b2a_qp(data, istext=True).replace(b"\n", CRLF)


def _b64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", CRLF)


def _filename(filename: str) -> str:
    filename = one_line(filename)
    if filename.isascii():
        escaped = filename.replace("\\", "\\\\").replace('"', '\\"')
        return f'filename="{escaped}"'
    return f"filename*={encode_rfc2231(filename, 'utf-8')}"


def _part(headers: list[str], body: bytes) -> bytes:
    return (LINESEP.join(headers) + LINESEP + LINESEP).encode("ascii") + body


def _multipart(subtype: str, parts: list[bytes]) -> tuple[str, bytes]:
    # "=_" never occurs in quoted-printable or base64 text, so the boundary cannot either.
    boundary = f"=_{os.urandom(12).hex()}"
    delimiter = b"--" + boundary.encode("ascii")
    body = b"".join(delimiter + CRLF + part + CRLF for part in parts) + delimiter + b"--" + CRLF
    return f'multipart/{subtype}; boundary="{boundary}"', body


def _text_part(text: str, subtype: str) -> bytes:
    return _part(
        [
            f'Content-Type: text/{subtype}; charset="utf-8"',
            "Content-Transfer-Encoding: quoted-printable",
        ],
        _qp(text),
    )


def _attachment(content_type: str, filename: str, data: bytes) -> bytes:
    if not re.fullmatch(r"[\w.+-]+/[\w.+-]+", content_type):
        content_type = "application/octet-stream"
    return _part(
        [
            f"Content-Type: {content_type}",
            "Content-Transfer-Encoding: base64",
            f"Content-Disposition: attachment; {_filename(filename)}",
        ],
        _b64(data),
    )


def build_mime(row: Any, *, sender: MailAddress, reply_to: MailAddress, date: datetime) -> bytes:
    """Return the message for one outbox row (an OutboxMessage or a row with the same fields).

    Without a calendar: multipart/alternative [text/plain, text/html]. With one: multipart/mixed
    [multipart/alternative [text/plain, text/html, text/calendar; method=...], invite.ics], the
    form calendar clients recognise as an invitation. Other attachments follow in the mixed part.
    `reply_to` applies when the row names none.
    """
    alternatives = [_text_part(row.text_body, "plain"), _text_part(row.html_body, "html")]
    attachments: list[bytes] = []
    if row.calendar:
        method = row.calendar_method or "PUBLISH"
        if not _TOKEN.fullmatch(method):
            raise ValueError(f"bad calendar method {method!r}")
        alternatives.append(
            _part(
                [
                    f'Content-Type: text/calendar; method={method}; charset="utf-8"',
                    "Content-Transfer-Encoding: base64",
                ],
                _b64(row.calendar),
            )
        )
        attachments.append(_attachment("application/ics", "invite.ics", row.calendar))
    for attachment in row.attachments or ():
        data = base64.b64decode(attachment["data"])
        attachments.append(_attachment(attachment["content_type"], attachment["filename"], data))
    content_type, body = _multipart("alternative", alternatives)
    if attachments:
        inner = _part([f"Content-Type: {content_type}"], body)
        content_type, body = _multipart("mixed", [inner, *attachments])

    reply = MailAddress("", row.reply_to) if row.reply_to else reply_to
    headers = [
        f"From: {_address(sender)}",
        f"To: {_address.__wrapped__(MailAddress(row.to_name or '', row.to_address))}",
        f"Reply-To: {_address(reply)}",
        f"Subject: {_header_text('Subject', row.subject)}",
        f"Date: {format_datetime(date)}",
        f"Message-ID: {_one_line(row.message_id)}",
        "Auto-Submitted: auto-generated",  # no out-of-office replies to a robot
    ]
    for name, value in (row.headers or {}).items():
        if not re.fullmatch(r"[A-Za-z0-9-]+", name):
            raise ValueError(f"bad header name {name!r}")
        value = one_line(str(value))
        # Written as given when ASCII: folding a long URL into encoded words breaks
        # List-Unsubscribe. Lines stay under the 998 octets SMTP allows.
        if not value.isascii() or len(name) + len(value) > 990:
            value = _header_text(name, value)
        headers.append(f"{name}: {value}")
    headers += ["MIME-Version: 1.0", f"Content-Type: {content_type}"]
    return _part(headers, body)
