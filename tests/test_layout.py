"""The layout tells the truth: what each package may import, and where shared helpers live."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "eventapp"
DOMAINS = {"admin", "auth", "events", "ics", "kits", "press", "privacy", "registrations"}
DOMAINS |= {"site", "speakers", "audit", "surveys"}


def imported_modules(path: Path) -> set[str]:
    """Return the modules a source file imports, at the top or inside functions."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def defined_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def test_the_outbox_is_infrastructure_and_imports_no_domain():
    offending = {
        f"{path.name}: {module}"
        for path in (PACKAGE / "outbox").glob("*.py")
        for module in imported_modules(path)
        if module.startswith("eventapp.") and module.split(".")[1] in DOMAINS
    }
    assert offending == set()


def test_the_admin_package_holds_views_and_forms_only():
    entries = {path.name for path in (PACKAGE / "admin").iterdir() if path.name != "__pycache__"}
    assert entries == {"__init__.py", "views", "forms"}


def test_each_shared_helper_is_defined_once():
    helpers = {"slugify", "email_key", "hash_token", "single_line", "valid_email"}
    helpers |= {"normalised_address", "new_token"}
    homes = {
        name: sorted(
            str(path.relative_to(PACKAGE))
            for path in PACKAGE.rglob("*.py")
            if name in defined_functions(path)
        )
        for name in helpers
    }
    assert all(len(places) == 1 for places in homes.values()), homes


def test_mail_keys_are_built_in_one_module_and_never_in_sql():
    shapes = ('"registration:', '"sheet:', '"press-inquiry:', '"kit-subscription:', "reminder-")
    builders = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if any(shape in path.read_text(encoding="utf-8") for shape in shapes)
    }
    assert builders == {"mailkeys.py"}
    # Nobody reads a key's parts: the mails of a registration are found by their column.
    readers = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "dedupe_key.startswith" in path.read_text(encoding="utf-8")
        or "dedupe_key.like" in path.read_text(encoding="utf-8")
    }
    assert readers == set()
