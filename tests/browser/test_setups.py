"""Setups, chart tabs and signals in headless Chromium against the real app, a real RQ worker
process (with its scheduler) on a private Redis and a SQLite file: create a setup with three
timeframes through the form, open each chart URL alone in a new browser window and see
candles, indicators and signal markers; the signals view lists them; no console errors."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app import create_app
from engine.platform.launcher import child_env
from engine.platform.services import build_services
from engine.platform.settings import Settings
from engine.storage.db import make_engine
from jobs.queue import RQJobQueue

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:HTTPResponse.getheader:DeprecationWarning"),
]
SHOTS = Path(os.environ.get("TRADESIM_SCREENSHOTS") or tempfile.gettempdir())
"""Where the screenshots go: a temporary folder, or ``TRADESIM_SCREENSHOTS=docs/screenshots``
to refresh the README's (a test run never changes the checkout)."""


def wait_until(check: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except Exception:  # re-rendered between lookup and read
            value = None
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def worker(settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m jobs.worker`` (RQ worker + scheduler) on the test's Redis and database."""
    process = subprocess.Popen(
        [sys.executable, "-m", "jobs.worker"],
        env=child_env(settings, settings.redis_url or ""),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture
def setups_app(settings: Settings, worker: Any) -> Any:
    db = make_engine(settings)
    return create_app(build_services(settings, settings.redis_url or "", db, RQJobQueue))


def click(dash_duo: Any, selector: str) -> None:
    element = dash_duo.wait_for_element(selector, timeout=30)
    dash_duo.driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center'}); arguments[0].click()", element
    )


def traces(dash_duo: Any) -> list[dict[str, Any]]:
    script = (
        "const g = document.querySelector('#chart-tab-graph .js-plotly-plot');"
        "return g && g.data ? g.data.map(t => ({type: t.type, name: t.name,"
        " n: (t.x || []).length})) : []"
    )
    found: list[dict[str, Any]] = dash_duo.driver.execute_script(script)
    return found


def test_create_a_setup_and_open_its_chart_tabs(dash_duo: Any, setups_app: Any) -> None:
    dash_duo.start_server(setups_app)
    base = dash_duo.server.url
    dash_duo.wait_for_page(f"{base}/setups", timeout=30)
    dash_duo.wait_for_element("#setups-create", timeout=30)
    # 15m, 1h and 4h are ticked; SMA 20 and RSI 14 too; add Bollinger; EMA Crossover is chosen
    click(dash_duo, '[id=\'{"name":"bollinger","type":"setups-ind"}\']')
    click(dash_duo, "#setups-create")
    dash_duo.wait_for_element("#setups-created", timeout=30)
    links = [
        a.get_attribute("href")
        for a in dash_duo.driver.find_elements("css selector", "#setups-created a")
    ]
    assert [link.split("?")[0].rsplit("/", 1)[1] for link in links] == ["15m", "1h", "4h"]
    assert all("indicators=sma_20,rsi_14,bollinger_20_2" in link for link in links)
    dash_duo.wait_for_element("#setup-card-1", timeout=30)
    main = dash_duo.driver.current_window_handle
    for n, link in enumerate(links):
        dash_duo.driver.execute_script("window.open('about:blank', '_blank')")
        (fresh,) = [h for h in dash_duo.driver.window_handles if h != main]
        dash_duo.driver.switch_to.window(fresh)  # a new window: the URL loads alone
        dash_duo.driver.set_window_size(1400, 900)
        dash_duo.driver.get(link)
        names = wait_until(
            lambda: {t["name"]: t["n"] for t in traces(dash_duo)},
            what=f"the chart of {link}",
        )
        assert names["BTCUSDT"] >= 300  # candles
        assert {"sma(20)", "rsi(14)", "bollinger(20, 2) upper"} <= set(names)
        # markers: at load, or appended by the live poll once the signal job has run
        wait_until(
            lambda: sum(t["n"] for t in traces(dash_duo) if t["name"] in ("BUY", "SELL")),
            timeout=90,
            what=f"signal markers on {link}",
        )
        assert dash_duo.find_element("#chart-tab-badge").text == "live"
        if n == 1:
            dash_duo.driver.save_screenshot(str(SHOTS / "chart_tab.png"))
        dash_duo.driver.close()
        dash_duo.driver.switch_to.window(main)
    dash_duo.driver.set_window_size(1400, 1000)
    dash_duo.wait_for_contains_text("#setup-card-1", "Last signal: ", timeout=30)
    wait_until(
        lambda: "no signal yet" not in dash_duo.find_element("#setup-card-1").text,
        timeout=30,
        what="the card's last signal",
    )
    dash_duo.wait_for_page(f"{base}/setups", timeout=30)  # from the top, list included
    dash_duo.wait_for_contains_text("#setup-card-1", "last bar closed", timeout=30)
    dash_duo.driver.save_screenshot(str(SHOTS / "setups.png"))
    dash_duo.wait_for_page(f"{base}/signals", timeout=30)
    dash_duo.wait_for_contains_text("#signals-grid", "Place order", timeout=30)
    assert "ema_crossover" in dash_duo.find_element("#signals-grid").text
    dash_duo.driver.save_screenshot(str(SHOTS / "signals.png"))
    # a bad chart URL is a readable message, not a traceback
    dash_duo.wait_for_page(f"{base}/chart/NOPE/1h", timeout=30)
    dash_duo.wait_for_contains_text("#chart-tab-problem", "unknown symbol 'NOPE'", timeout=30)
    assert dash_duo.get_logs() == []
