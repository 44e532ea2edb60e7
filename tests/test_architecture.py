"""Dependency direction (DESIGN.md "Layout"): engine/ never imports dash, flask, rq or the web
layers; inside engine/ each domain package imports only the packages below it; components/
do no I/O. Each engine package says in its docstring what it owns and may import."""

from __future__ import annotations

import ast

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

_BASE = {"errors", "platform.settings"}
#: engine package -> the engine packages (or ``platform.settings``) it may import.
ALLOWED: dict[str, set[str]] = {
    "data": _BASE,
    "indicators": _BASE | {"data"},
    "strategy": _BASE | {"data", "indicators"},
    "backtest": _BASE | {"data", "indicators", "strategy"},
    "storage": _BASE | {"data"},
    "orders": _BASE | {"data", "storage"},
    "live": _BASE | {"data", "indicators", "strategy", "storage", "orders"},
    "optimize": _BASE | {"data", "indicators", "strategy", "backtest", "storage"},
    "setups": _BASE | {"data", "indicators", "strategy", "backtest", "storage"},
    "api": _BASE
    | {"data", "indicators", "strategy", "backtest", "storage", "orders", "live", "optimize"}
    | {"setups", "platform"},
    "platform": _BASE
    | {"data", "indicators", "strategy", "backtest", "storage", "orders", "live", "optimize"}
    | {"setups", "api", "platform"},
}
ROOT_MODULES = {"errors", "cli", "__init__"}


def imports(source: str) -> set[str]:
    """Absolute module names imported by ``source`` (``from engine import live`` counts as
    importing ``engine.live``)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            if node.module == "engine":
                found.update(f"engine.{alias.name}" for alias in node.names)
    return found


def engine_target(module: str) -> str | None:
    """The engine package a module name belongs to (``platform.settings`` on its own)."""
    parts = module.split(".")
    if parts[0] != "engine" or len(parts) < 2:
        return None
    if parts[1] == "platform" and len(parts) > 2 and parts[2] == "settings":
        return "platform.settings"
    return parts[1]


def upward_imports(package: str, source: str) -> list[str]:
    """Imports in ``source`` (a module of ``engine/<package>``) that break the direction."""
    allowed = ALLOWED[package] | {package}
    bad = []
    for name in sorted(imports(source)):
        target = engine_target(name)
        if target is None or target in allowed or target in ("errors", "__init__"):
            continue
        if package == "platform" or (package != "platform" and target == package):
            continue
        bad.append(name)
    return bad


def _engine_packages() -> list[str]:
    return sorted(p.name for p in (ROOT / "engine").iterdir() if (p / "__init__.py").is_file())


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_does_not_import_forbidden_modules(package):
    bad = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in imports(path.read_text("utf-8")):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[package]):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert bad == []


def test_every_engine_package_has_a_rule_and_says_what_it_owns():
    packages = _engine_packages()
    assert set(packages) <= set(ALLOWED), f"add a rule for {set(packages) - set(ALLOWED)}"
    flat = sorted(p.stem for p in (ROOT / "engine").glob("*.py") if p.stem not in ROOT_MODULES)
    assert flat == [], f"engine/ takes packages, not flat modules: {flat}"
    for package in packages:
        doc = ast.get_docstring(ast.parse((ROOT / "engine" / package / "__init__.py").read_text()))
        assert doc and "May import" in doc and "Owns" in doc, f"engine/{package}/__init__.py"


@pytest.mark.parametrize("package", _engine_packages())
def test_engine_packages_import_only_packages_below_them(package):
    bad = []
    for path in sorted((ROOT / "engine" / package).rglob("*.py")):
        for name in upward_imports(package, path.read_text("utf-8")):
            bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert bad == [], "\n".join(bad)


@pytest.mark.parametrize(
    ("package", "source", "expected"),
    [
        ("data", "from engine.indicators.registry import REGISTRY", ["engine.indicators.registry"]),
        ("strategy", "import engine.live.runner", ["engine.live.runner"]),
        ("strategy", "from engine import backtest", ["engine.backtest"]),
        ("indicators", "from engine.platform.launcher import up", ["engine.platform.launcher"]),
        ("backtest", "from engine.strategy.instance import StrategySource", []),
        ("data", "from engine.platform.settings import Settings", []),
        ("live", "from engine.errors import ConfigError", []),
    ],
)
def test_the_direction_check_catches_upward_imports(package, source, expected):
    assert upward_imports(package, source) == expected


def test_pages_do_not_use_app_callback():
    offenders = [p.name for p in (ROOT / "pages").glob("*.py") if "@app.callback" in p.read_text()]
    assert offenders == []
