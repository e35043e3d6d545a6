"""Organisers' Markdown is rendered, and nothing that runs survives."""

import sys
from html.parser import HTMLParser

import pytest

from eventapp.markup import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, _sanitised_html, render_markdown


class _Elements(HTMLParser):
    """Collect every start tag of a fragment with its attributes."""

    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """Return the (tag, attributes) of every element of an HTML fragment."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.found


def test_markdown_is_rendered():
    html = render_markdown("Le **kit** :\n\n- une fiche\n- [RTES](https://www.rtes.fr)")
    assert "<strong>kit</strong>" in html
    assert "<li>une fiche</li>" in html
    assert 'href="https://www.rtes.fr"' in html


@pytest.mark.parametrize(
    "source, forbidden_tag",
    [
        ("<script>alert(1)</script>", "script"),
        ('<img src=x onerror="alert(1)">', "img"),
        ("[clic](javascript:alert(1))", None),
        ('<a href="https://x.example" onclick="alert(1)">x</a>', None),
        ("<iframe src='https://evil.example'></iframe>", "iframe"),
        ("<style>body{display:none}</style>", "style"),
        ('<p style="position:fixed">x</p>', None),
    ],
)
def test_nothing_that_runs_survives(source, forbidden_tag):
    # Raw HTML shows as escaped text, so the words may stay on the page: what matters is that no
    # element, handler, style or script URL comes out of it.
    found = elements(render_markdown(source))
    assert forbidden_tag not in {tag for tag, _ in found}
    for tag, attributes in found:
        assert tag in ALLOWED_TAGS
        assert set(attributes) <= ALLOWED_ATTRIBUTES.get(tag, set()) | {"rel"}
        assert not (attributes.get("href") or "").lower().startswith("javascript:")


def test_raw_html_shows_as_text():
    assert render_markdown("<b>x</b>") == "<p>&lt;b&gt;x&lt;/b&gt;</p>\n"


def test_links_do_not_leak_the_page():
    assert 'rel="noopener noreferrer nofollow"' in render_markdown("[a](https://a.example)")


def test_empty_text_renders_nothing():
    assert render_markdown(None) == ""


# The longest text a description field takes (security finding 6): each pattern below made
# python-markdown backtrack or rescan, 20,000 `[` for about 40 s (the test below).
FIELD_MAXIMUM = 20_000


@pytest.mark.parametrize("pattern", ["[a](", "*a", "_a", "**_", "> ", "1. "])
def test_pathological_text_of_the_field_maximum_renders(pattern):
    text = pattern * (FIELD_MAXIMUM // len(pattern))
    html = render_markdown(text)
    found = elements(html)
    assert found, "something is rendered"
    assert {tag for tag, _ in found} <= ALLOWED_TAGS
    # Nested blocks stop at the parser's depth bound instead of recursing 10,000 levels.
    assert html.count("<blockquote>") <= 20 and html.count("<ol>") <= 20


def test_twenty_thousand_brackets_stay_text():
    text = "[" * FIELD_MAXIMUM
    assert render_markdown(text) == f"<p>{text}</p>\n"


def calls_to_render(text: str) -> int:
    """Count the function calls rendering a text takes, bypassing the cache of rendered texts."""
    _sanitised_html.cache_clear()
    calls = 0

    def count(_frame, event, _arg):
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(count)
    try:
        render_markdown(text)
    finally:
        sys.setprofile(None)
    return calls


def test_rendering_work_grows_linearly_with_brackets():
    # Work, not time: four times the brackets must cost about four times the calls. The former
    # renderer rescanned the rest of the text at every `[` and took about 14 times as many.
    small, large = calls_to_render("[" * 500), calls_to_render("[" * 2000)
    assert large / small < 6
