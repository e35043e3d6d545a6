"""Organisers' Markdown is rendered, and nothing that runs survives."""

import pytest

from eventapp.markup import render_markdown


def test_markdown_is_rendered():
    html = render_markdown("Le **kit** :\n\n- une fiche\n- [RTES](https://www.rtes.fr)")
    assert "<strong>kit</strong>" in html
    assert "<li>une fiche</li>" in html
    assert 'href="https://www.rtes.fr"' in html


@pytest.mark.parametrize(
    "source, forbidden",
    [
        ("<script>alert(1)</script>", "<script"),
        ('<img src=x onerror="alert(1)">', "onerror"),
        ("[clic](javascript:alert(1))", "javascript:"),
        ('<a href="https://x.example" onclick="alert(1)">x</a>', "onclick"),
        ("<iframe src='https://evil.example'></iframe>", "<iframe"),
        ("<style>body{display:none}</style>", "<style"),
        ('<p style="position:fixed">x</p>', "style="),
    ],
)
def test_nothing_that_runs_survives(source, forbidden):
    assert forbidden not in render_markdown(source).lower()


def test_links_do_not_leak_the_page():
    assert 'rel="noopener noreferrer nofollow"' in render_markdown("[a](https://a.example)")


def test_empty_text_renders_nothing():
    assert render_markdown(None) == ""
