"""Small helpers for tests that post forms like a browser does."""

from __future__ import annotations

import html
import re


def csrf_token(client, url: str) -> str:
    """Fetch a page with a form and return its CSRF token (the session cookie stays in client)."""
    html = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, f"no CSRF token in {url}"
    return match.group(1)


def text(response) -> str:
    """Return a response's text, entities decoded and non-breaking spaces made plain."""
    return (
        html.unescape(response.get_data(as_text=True)).replace("\u00a0", " ").replace("\u202f", " ")
    )
