"""The SMTP side: Flask-Mail's connection, kept open across messages, and what a reply means."""

from __future__ import annotations

import smtplib
from collections.abc import Callable

import flask_mail
from flask import current_app

# Bound to the app in create_app; MAIL_* settings are read then.
mail = flask_mail.Mail()


class RelayUnavailable(Exception):
    """The SMTP relay could not be reached or refused the session; no message is to blame."""


class _Connection(flask_mail.Connection):
    """Flask-Mail's connection, opened with a timeout: a silent relay must not hang the worker."""

    timeout: float = 30.0

    def configure_host(self) -> smtplib.SMTP:
        settings = self.mail
        smtp_class = smtplib.SMTP_SSL if settings.use_ssl else smtplib.SMTP
        host = smtp_class(settings.server, settings.port, timeout=self.timeout)
        host.set_debuglevel(int(settings.debug))
        if settings.use_tls:
            host.starttls()
        if settings.username and settings.password:
            host.login(settings.username, settings.password)
        return host


class Relay:
    """One SMTP connection, opened when first needed and opened again after it broke."""

    def __init__(self) -> None:
        self.connection: _Connection | None = None

    def send(
        self, envelope_from: str, to: str, data: bytes, meanwhile: Callable[[], None] | None = None
    ) -> None:
        """Send one message; RelayUnavailable when no session could be opened.

        The exchange is smtplib's sendmail, with one difference: `meanwhile` runs once the MAIL
        command is on its way, while the relay answers it. The worker commits the previous
        mail's outcome there, so that work costs no time, and it is done before this message
        can be accepted.
        """
        if self.connection is None:
            connection = _Connection(mail.connect().mail)
            connection.timeout = current_app.config["OUTBOX_SMTP_TIMEOUT_SECONDS"]
            try:
                connection.__enter__()
            except (OSError, smtplib.SMTPException) as error:
                raise RelayUnavailable(describe(error)) from error
            self.connection = connection
        host = self.connection.host
        if host is None:  # MAIL_SUPPRESS_SEND (the default under TESTING): accepted, not sent
            if meanwhile is not None:
                meanwhile()
            return
        host.ehlo_or_helo_if_needed()
        size = f" SIZE={len(data)}" if host.has_extn("size") else ""
        # The addresses were checked when queued: no quoting to work out, unlike sendmail.
        host.putcmd("mail", f"FROM:<{envelope_from}>{size}")
        if meanwhile is not None:
            try:
                meanwhile()
            except BaseException:
                self.close()  # the MAIL reply is still unread: this session cannot go on
                raise
        code, reply = host.getreply()
        if code != 250:
            self._abandon(code)
            raise smtplib.SMTPSenderRefused(code, reply, envelope_from)
        host.putcmd("rcpt", f"TO:<{to}>")
        code, reply = host.getreply()
        if code not in (250, 251):
            self._abandon(code)
            raise smtplib.SMTPRecipientsRefused({to: (code, reply)})
        try:
            code, reply = host.data(data)
        except smtplib.SMTPDataError as error:  # DATA itself refused
            self._abandon(error.smtp_code)
            raise
        if code != 250:
            self._abandon(code)
            raise smtplib.SMTPDataError(code, reply)

    def _abandon(self, code: int) -> None:
        """Leave a refused transaction as sendmail does: RSET, or hang up after a 421."""
        host = self.connection.host if self.connection else None
        if host is None:
            return
        if code == 421:
            host.close()
            return
        try:
            host.rset()
        except smtplib.SMTPServerDisconnected:
            pass

    @property
    def broken(self) -> bool:
        host = self.connection.host if self.connection else None
        return host is not None and host.sock is None

    def close(self) -> None:
        """Say QUIT when the relay still listens, and forget the connection either way."""
        connection, self.connection = self.connection, None
        if connection is None or connection.host is None:
            return
        try:
            connection.host.quit()
        except (OSError, smtplib.SMTPException):
            connection.host.close()


def smtp_code(error: BaseException) -> int | None:
    """Return the SMTP reply code behind an exception, None for a network error."""
    if isinstance(error, smtplib.SMTPRecipientsRefused) and error.recipients:
        return next(iter(error.recipients.values()))[0]
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code
    return None


def describe(error: BaseException) -> str:
    """Say what went wrong in one line: the SMTP reply, or the network error."""
    code = smtp_code(error)
    if isinstance(error, smtplib.SMTPRecipientsRefused) and error.recipients:
        reply = next(iter(error.recipients.values()))[1]
    else:
        reply = getattr(error, "smtp_error", None) or str(error) or type(error).__name__
    if isinstance(reply, bytes):
        reply = reply.decode("utf-8", "replace")
    return (f"{code} {reply}" if code else f"{type(error).__name__}: {reply}")[:1000]
