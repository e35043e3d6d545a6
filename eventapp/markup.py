"""Markdown written by organisers, rendered and sanitised before it reaches a page."""

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt
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

# markdown-it-py parses in time linear in the text (python-markdown took about 40 s on 20,000
# `[`, longer than a worker's timeout). Raw HTML is off: what an organiser types between angle
# brackets shows as text, so nothing reaches nh3 but what Markdown itself produces. The preset
# caps nesting at 20 levels (deeper blocks are dropped), which bounds the recursion too.
_PARSER = MarkdownIt("commonmark", {"html": False, "xhtmlOut": False})


def render_markdown(text: str | None) -> Markup:
    """Render Markdown to HTML that keeps no script, style or event handler."""
    return Markup(_sanitised_html(text or ""))  # noqa: S704 - sanitised below


@lru_cache(maxsize=1024)
def _sanitised_html(text: str) -> str:
    # Pages render the same descriptions again and again: keep the result, keyed by the text.
    html = _PARSER.render(text)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer nofollow",
    )
    return clean
