"""Markdown written by organisers, rendered and sanitised before it reaches a page."""

from functools import lru_cache

import markdown
import nh3
from markupsafe import Markup

ALLOWED_TAGS = {
    "a",
    "abbr",
    "blockquote",
    "br",
    "code",
    "em",
    "h2",
    "h3",
    "h4",
    "hr",
    "li",
    "ol",
    "p",
    "pre",
    "strong",
    "ul",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}}


def render_markdown(text: str | None) -> Markup:
    """Render Markdown to HTML that keeps no script, style or event handler."""
    return Markup(_sanitised_html(text or ""))  # noqa: S704 - sanitised below


@lru_cache(maxsize=1024)
def _sanitised_html(text: str) -> str:
    # Pages render the same descriptions again and again: keep the result, keyed by the text.
    html = markdown.markdown(text, extensions=["sane_lists"], output_format="html")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer nofollow",
    )
    return clean
