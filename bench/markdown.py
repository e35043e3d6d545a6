"""Render organisers' Markdown: a pathological text against an ordinary one of the same length.

A description field takes up to 20,000 characters. The pathological text is 20,000 `[`, which
python-markdown took about 40 s to render (security finding 6); the ordinary one is a French
event description (headings, bold, lists, links) repeated to the same length. Both go through
`eventapp.markup.render_markdown` (parse, then nh3), with its cache of rendered texts cleared
before each run, in this process; each figure is the median of `--repeat` runs. Other
pathological patterns are reported on stderr.

    .venv/bin/python bench/markdown.py [--repeat 5]

Last line: RESULT markdown markdown_brackets_seconds=<s> markdown_normal_seconds=<s>
ratio=<brackets seconds per character / normal seconds per character>
No target: what counts is that the figures stay flat as the text grows (a linear parser), far
below a worker's 30 s timeout; docs/performance.md records the figures of python-markdown.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from _common import PROJECT_ROOT, BenchError, fail, log, result_line, terminate_on_sigterm

FIELD_MAXIMUM = 20_000
ORDINARY_BLOCK = """## Au programme

Le **kit RégionalESS** rassemble une vingtaine de *fiches pratiques* pour les collectivités
qui veulent soutenir l'économie sociale et solidaire sur leur territoire.

- une fiche par semaine après le lancement ;
- des exemples de [politiques locales](https://www.rtes.fr/kit) déjà menées ;
- les contacts des réseaux régionaux.

> « Les territoires sont les premiers lieux de l'ESS. »

Inscription gratuite, lien de connexion envoyé par mail la veille. Questions : `presse@rtes.fr`.

"""
OTHER_PATTERNS = ["[a](", "![", "*a", "_a", "**_", "> ", "1. "]


def median_seconds(render, text: str, repeat: int) -> float:
    """Render a text `repeat` times from a cold cache; return the median wall time."""
    from eventapp.markup import _sanitised_html

    times = []
    for _ in range(repeat):
        _sanitised_html.cache_clear()
        start = time.perf_counter()
        render(text)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per text; the median counts")
    args = parser.parse_args()
    terminate_on_sigterm()
    sys.path.insert(0, str(PROJECT_ROOT))  # this tree's eventapp, not another checkout's
    from eventapp.markup import render_markdown

    brackets = "[" * FIELD_MAXIMUM
    ordinary = (ORDINARY_BLOCK * (FIELD_MAXIMUM // len(ORDINARY_BLOCK) + 1))[:FIELD_MAXIMUM]
    if "<strong>" not in render_markdown(ordinary) or "<a " not in render_markdown(ordinary):
        fail("the ordinary text did not render as Markdown")
    if brackets not in render_markdown(brackets):
        fail("20,000 `[` did not come out as text")

    brackets_seconds = median_seconds(render_markdown, brackets, args.repeat)
    normal_seconds = median_seconds(render_markdown, ordinary, args.repeat)
    log(f"20,000 `[`: {brackets_seconds:.3f} s; ordinary text: {normal_seconds:.3f} s")
    for pattern in OTHER_PATTERNS:
        text = pattern * (FIELD_MAXIMUM // len(pattern))
        seconds = median_seconds(render_markdown, text, 1)
        log(f"{pattern!r} × {len(text) // len(pattern)}: {seconds:.3f} s")

    ratio = (brackets_seconds / len(brackets)) / (normal_seconds / len(ordinary))
    result_line(
        "markdown",
        markdown_brackets_seconds=f"{brackets_seconds:.3f}",
        markdown_normal_seconds=f"{normal_seconds:.3f}",
        ratio=f"{ratio:.2f}",
    )
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"bench/markdown.py: {error}", file=sys.stderr)
        sys.exit(1)
