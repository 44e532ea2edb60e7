"""Dependency direction (DESIGN.md): engine/ never imports dash, flask, rq or the web layers;
components/ do no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import ROOT

FORBIDDEN = {
    "engine": {
        "dash",
        "flask",
        "rq",
        "pages",
        "components",
        "jobs",
        "app",
        "dash_ace",
        "dash_bootstrap_components",
    },
    "components": {
        "redis",
        "sqlalchemy",
        "flask",
        "requests",
        "engine.live.client",
        "engine.storage",
        "pages",
    },
    "jobs": {"dash", "flask", "pages", "components", "app"},
}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_forbidden_modules(package):
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in imports(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[package]):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert bad == []


def test_pages_do_not_use_app_callback():
    offenders = [p.name for p in (ROOT / "pages").glob("*.py") if "@app.callback" in p.read_text()]
    assert offenders == []
