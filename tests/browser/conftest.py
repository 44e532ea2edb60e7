"""Headless Chromium for the dash[testing] fixtures (``dash_duo``), and the app under test.

``dash[testing]`` pins selenium 3.141, whose HTTP client passes a sentinel timeout that
urllib3 2 rejects; a numeric timeout fixes that. Chromium and ChromeDriver are the Debian
packages (``/usr/bin/chromium``, ``/usr/bin/chromedriver``); the tests skip without them
(outside CI).

Console: dash's browser asks ChromeDriver for SEVERE entries only; the options below raise
that to WARNING, so ``dash_duo.get_logs() == []`` fails on console warnings (AG Grid's
"invalid gridOptions property", React's) as well as errors.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.remote.remote_connection import RemoteConnection

from engine.platform.services import Services, build_services
from engine.platform.settings import Settings
from engine.storage.db import make_engine

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[2]

RemoteConnection.set_timeout(120)

CHROME_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--window-size=1280,1000",
)


#: The lowest console level a browser test sees (and fails on).
CONSOLE_LEVEL = "WARNING"


class ConsoleWarningOptions(Options):  # type: ignore[misc]
    """Chrome options whose browser log level stays at :data:`CONSOLE_LEVEL` when dash's
    browser sets ``goog:loggingPrefs`` to SEVERE."""

    def set_capability(self, name: str, value: Any) -> None:
        """Store a capability (the console log level forced to :data:`CONSOLE_LEVEL`)."""
        if name == "goog:loggingPrefs":
            value = {**value, "browser": CONSOLE_LEVEL}
        super().set_capability(name, value)


def pytest_setup_options() -> Options:
    """Chrome options for dash_duo's webdriver."""
    options = ConsoleWarningOptions()
    options.binary_location = str(CHROMIUM)
    for arg in CHROME_ARGS:
        options.add_argument(arg)
    return options


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Skip browser tests on machines without Chromium/ChromeDriver — except in CI (``CI`` set),
    where `make test` installs them and a missing browser must fail, not pass silently."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    if os.environ.get("CI"):
        raise pytest.UsageError("CI needs /usr/bin/chromium and /usr/bin/chromedriver")
    skip = pytest.mark.skip(reason="needs /usr/bin/chromium and /usr/bin/chromedriver")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def strategy_dir(tmp_path: Path) -> Path:
    """A fresh copy of ``lua-strategies/`` (without user strategies)."""
    target = tmp_path / "lua-strategies"
    shutil.copytree(ROOT / "lua-strategies", target, ignore=shutil.ignore_patterns("user"))
    return target


@pytest.fixture
def services(tmp_path: Path, redis_url: str, strategy_dir: Path) -> Services:
    """Real Services (Redis: the session server of tests/conftest.py) over the temporary
    strategy folder and a SQLite file."""
    settings = Settings(
        data_dir=tmp_path,
        redis_url=redis_url,
        database_url=f"sqlite:///{tmp_path}/t.db",
        strategy_dir=strategy_dir,
    )
    return build_services(settings, redis_url, make_engine(settings))


@pytest.fixture
def app(services: Services) -> Any:
    """The Dash app as ``python app.py`` builds it."""
    from app import create_app

    return create_app(services)
