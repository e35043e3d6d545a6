"""The documentation stays true: every setting of eventapp/config.py has one row in the table."""

from __future__ import annotations

import re
from pathlib import Path

from eventapp import config

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATION = ROOT / "docs" / "configuration.md"
TABLE_HEADING = "## Settings"
# Upper-case names of config.py that app.config receives but nobody sets: the development value
# SECRET_KEY starts with, which create_app compares against.
NOT_SETTINGS = {"DEFAULT_SECRET_KEY"}
_NAME = re.compile(r"`([A-Z][A-Z0-9_]*)`")
_CELL_SEPARATOR = re.compile(r"(?<!\\)\|")  # a pipe written \| inside a cell is no separator
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def settings_in_config() -> set[str]:
    """Return what app.config.from_object takes from eventapp/config.py: the upper-case names."""
    return {name for name in vars(config) if name.isupper()} - NOT_SETTINGS


def table_rows(markdown: str) -> list[list[str]]:
    """Return the cells of each body row of the first table under TABLE_HEADING."""
    lines = markdown.splitlines()
    start = lines.index(TABLE_HEADING)  # ValueError: the heading is gone
    rows = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            rows.append([cell.strip() for cell in _CELL_SEPARATOR.split(line.strip())[1:-1]])
        elif rows:
            break  # the table ended
    header, separator, *body = rows
    assert set("".join(separator)) <= set("-: "), f"not a table separator: {separator}"
    return body


def documented_settings() -> list[str]:
    """Return every setting named in the first column of the table, repeats included."""
    rows = table_rows(CONFIGURATION.read_text(encoding="utf-8"))
    return [name for row in rows for name in _NAME.findall(row[0])]


def test_every_setting_of_config_py_has_a_row():
    missing = settings_in_config() - set(documented_settings())
    assert not missing, (
        f"settings of eventapp/config.py missing from the table of {CONFIGURATION.name}: "
        f"{', '.join(sorted(missing))}"
    )


def test_the_table_has_no_setting_that_config_py_lacks():
    extra = set(documented_settings()) - settings_in_config()
    assert not extra, (
        f"rows of {CONFIGURATION.name} for settings eventapp/config.py does not define: "
        f"{', '.join(sorted(extra))}"
    )


def test_each_setting_has_one_row_only():
    names = documented_settings()
    repeated = {name for name in names if names.count(name) > 1}
    assert not repeated, (
        f"settings with more than one row in {CONFIGURATION.name}: {', '.join(sorted(repeated))}"
    )


def test_every_row_fills_every_column():
    rows = table_rows(CONFIGURATION.read_text(encoding="utf-8"))
    uneven = [row[0] for row in rows if len(row) != 4]
    assert not uneven, f"rows of {CONFIGURATION.name} without 4 cells: {', '.join(uneven)}"
    empty = [row[0] for row in rows if not all(row)]
    assert not empty, f"rows of {CONFIGURATION.name} with an empty cell: {', '.join(empty)}"


def test_the_readme_links_every_doc_and_every_link_leads_somewhere():
    documents = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    linked: set[Path] = set()
    broken = []
    for document in documents:
        for target in _LINK.findall(document.read_text(encoding="utf-8")):
            if "://" in target or target.startswith("mailto:"):
                continue
            path = (document.parent / target).resolve()
            if not path.exists():
                broken.append(f"{document.relative_to(ROOT)} -> {target}")
            if document.name == "README.md":
                linked.add(path)
    assert not broken, f"links to nothing: {', '.join(broken)}"
    unlinked = [d.name for d in documents[1:] if d.resolve() not in linked]
    assert not unlinked, f"docs the README does not link to: {', '.join(unlinked)}"
