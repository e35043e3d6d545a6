"""Render mail templates: one message, or a fan-out rendered once and filled in per recipient."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from flask import Flask, current_app
from flask_babel import force_locale
from jinja2 import Template
from markupsafe import escape

from eventapp.text import one_line


class RenderedMail(NamedTuple):
    subject: str
    text: str
    html: str


def init_outbox(app: Flask, organisation: Callable[[], Any]) -> None:
    """Tell the outbox where to read the organisation that mails speak for (its name, its
    address): the outbox is infrastructure and names no domain."""
    app.extensions["outbox_organisation"] = organisation


def mail_organisation() -> Any:
    """Return the organisation that mails speak for, as init_outbox was told to read it."""
    return current_app.extensions["outbox_organisation"]()


def mail_context(locale: str, context: Mapping[str, Any]) -> dict[str, Any]:
    """Return the values every mail template gets, then the caller's."""
    return {
        "site_url": current_app.config["SITE_URL"],
        "organisation": mail_organisation(),
        "locale": locale,
        **context,
    }


def _render_block(template: Template, name: str, values: dict[str, Any]) -> str:
    block = template.blocks.get(name)
    if block is None:
        raise ValueError(f"{template.name} has no {{% block {name} %}}")
    return "".join(block(template.new_context(values)))


def render_mail(template: str, locale: str, context: Mapping[str, Any]) -> RenderedMail:
    """Render mail/<template>.txt and .html in `locale`; the subject is the .txt's subject block."""
    # The jinja environment, not render_template: the site's context processors need a request.
    env = current_app.jinja_env
    values = mail_context(locale, context)
    with force_locale(locale):
        text_template = env.get_template(f"mail/{template}.txt")
        html_template = env.get_template(f"mail/{template}.html")
        subject = one_line(_render_block(text_template, "subject", values))
        return RenderedMail(subject, text_template.render(values), html_template.render(values))


_HTML_SPECIAL = re.compile(r"[&<>\"']").search


class MailPattern:
    """A mail rendered once with markers where per-recipient values go, then filled in cheaply.

    Per-recipient values are printed as given: a filter applied to them in the template sees the
    marker, not the value, so templates print them plainly (`{{ to_name }}`). A test such as
    `{% if to_name %}` works: a pattern is rendered for each combination of empty values met.
    A value the templates read as an attribute (`registration.full_name`) needs `context` given
    as a function that places the markers, {key: marker}, and returns the whole context.
    """

    def __init__(
        self,
        template: str,
        locale: str,
        keys: Sequence[str],
        filled_keys: Sequence[bool],
        context: Mapping[str, Any] | Callable[[dict[str, str]], Mapping[str, Any]],
    ):
        self.keys = tuple(keys)
        # Lowercase letters and digits only: escaping, urlencode and line folding leave them alone.
        token = secrets.token_hex(8)
        markers = {
            key: f"outboxph{token}x{index}x" if filled else ""
            for index, (key, filled) in enumerate(zip(self.keys, filled_keys, strict=True))
        }
        pattern = re.compile(f"outboxph{token}x(\\d+)x")
        values = context(markers) if callable(context) else {**context, **markers}
        rendered = render_mail(template, locale, values)

        def as_parts(text: str) -> tuple[str | int, ...]:
            # The text between markers, and in their place the position of the value to put.
            pieces: list[str | int] = list(pattern.split(text))
            if any(token in piece for piece in pieces[0::2]):
                raise ValueError(f"mail/{template}: a per-recipient value went through a filter")
            pieces[1::2] = [int(index) for index in pieces[1::2]]
            return tuple(piece for piece in pieces if piece != "")

        self._subject = as_parts(rendered.subject)
        self._subject_varies = any(isinstance(part, int) for part in self._subject)
        self._text = as_parts(rendered.text)
        self._html = as_parts(rendered.html)

    def fill(self, values: Sequence[str]) -> RenderedMail:
        """Return the mail for one recipient, `values` in the order of `keys`."""
        # The escaping Jinja's autoescape does, so a filled mail reads as if rendered whole.
        html_values = [str(escape(v)) if _HTML_SPECIAL(v) else v for v in values]
        subject = _join(self._subject, values)
        if self._subject_varies:  # a value went in: it must not break the header line
            subject = one_line(subject)
        return RenderedMail(subject, _join(self._text, values), _join(self._html, html_values))


def _join(parts: tuple[str | int, ...], values: Sequence[str]) -> str:
    """Join the text of a pattern with the values at the positions it names (a plain join of
    strings: several times faster than str.format on a long template)."""
    return "".join([part if isinstance(part, str) else values[part] for part in parts])
