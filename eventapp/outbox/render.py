"""Render mail templates: one message, or a fan-out rendered once and filled in per recipient."""

from __future__ import annotations

import html
import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from flask import current_app
from flask_babel import force_locale
from jinja2 import Template

from eventapp.site.services import current_organisation


class RenderedMail(NamedTuple):
    subject: str
    text: str
    html: str


def single_line(value: str) -> str:
    """Collapse each run of whitespace, CR and LF included, to a space: a header stays one line."""
    return " ".join(value.split())


def mail_context(locale: str, context: Mapping[str, Any]) -> dict[str, Any]:
    """Return the values every mail template gets, then the caller's."""
    return {
        "site_url": current_app.config["SITE_URL"],
        "organisation": current_organisation(),
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
        subject = single_line(_render_block(text_template, "subject", values))
        return RenderedMail(subject, text_template.render(values), html_template.render(values))


_HTML_SPECIAL = re.compile(r"[&<>\"']").search


class MailPattern:
    """A mail rendered once with markers where per-recipient values go, then filled in cheaply.

    Per-recipient values are printed as given: a filter applied to them in the template sees the
    marker, not the value, so templates print them plainly (`{{ to_name }}`). A test such as
    `{% if to_name %}` works: a pattern is rendered for each combination of empty values met.
    """

    def __init__(
        self,
        template: str,
        locale: str,
        keys: Sequence[str],
        filled_keys: Sequence[bool],
        context: Mapping[str, Any],
    ):
        self.keys = tuple(keys)
        # Lowercase letters and digits only: escaping, urlencode and line folding leave them alone.
        token = secrets.token_hex(8)
        markers = {
            key: f"outboxph{token}x{index}x" if filled else ""
            for index, (key, filled) in enumerate(zip(self.keys, filled_keys, strict=True))
        }
        pattern = re.compile(f"outboxph{token}x(\\d+)x")
        rendered = render_mail(template, locale, {**context, **markers})

        def as_format(text: str) -> str:
            # "{0}" where a value goes, every other brace doubled: str.format fills it in C.
            pieces = pattern.split(text)
            for index in range(0, len(pieces), 2):
                pieces[index] = pieces[index].replace("{", "{{").replace("}", "}}")
            for index in range(1, len(pieces), 2):
                pieces[index] = "{" + pieces[index] + "}"
            return "".join(pieces)

        self._subject = as_format(rendered.subject)
        self._subject_varies = pattern.search(rendered.subject) is not None
        self._text = as_format(rendered.text)
        self._html = as_format(rendered.html)
        if any(token in part for part in (self._subject, self._text, self._html)):
            raise ValueError(f"mail/{template}: a per-recipient value went through a filter")

    def fill(self, values: Sequence[str]) -> RenderedMail:
        """Return the mail for one recipient, `values` in the order of `keys`."""
        html_values = [html.escape(v) if _HTML_SPECIAL(v) else v for v in values]
        subject = self._subject.format(*values)
        if self._subject_varies:
            subject = single_line(subject)
        return RenderedMail(subject, self._text.format(*values), self._html.format(*html_values))
