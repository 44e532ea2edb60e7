"""The Runner Manager and Runner Detail pages in headless Chromium, against the real app and a
real engine process on a private Redis: create a runner through the form, see it in the grid,
pause and resume it from the grid, open its detail page and watch the chart, indicators and
logic log fill in, delete it; no console errors.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from selenium.webdriver.common.keys import Keys

from app import create_app
from engine.platform.launcher import child_env
from engine.platform.services import build_services
from engine.platform.settings import Settings
from engine.storage.db import make_engine

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:HTTPResponse.getheader:DeprecationWarning"),
]

RUNNER = "ui-eth-rsi"


def wait_until(check: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
    """Poll ``check`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except Exception:  # the element may be re-rendered between lookup and read
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def live_settings(settings: Settings) -> Settings:
    """The test's Settings with a feed fast enough to fill the chart within seconds."""
    return replace(settings, sim_speed=1200.0)


@pytest.fixture
def engine_process(live_settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    """The real engine process (``python -m engine.live.main``) on the test's Redis prefix."""
    env = child_env(live_settings, live_settings.redis_url or "")
    process = subprocess.Popen(
        [sys.executable, "-m", "engine.live.main"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def live_app(live_settings: Settings, engine_process: subprocess.Popen[bytes]) -> Any:
    """The Dash app wired to the same Redis prefix and database as the engine."""
    services = build_services(
        live_settings, live_settings.redis_url or "", make_engine(live_settings)
    )
    return create_app(services)


def choose(dash_duo: Any, dropdown_id: str, text: str) -> None:
    """Open a dcc.Dropdown, search for ``text`` and take the first match."""
    dash_duo.find_element(f"#{dropdown_id}").click()
    search = dash_duo.wait_for_element(".dash-dropdown-search")
    search.send_keys(text)
    search.send_keys(Keys.ENTER)


def texts(dash_duo: Any, selector: str) -> list[str]:
    """Text of every match, read in one script (the panels re-render every 2 s)."""
    script = "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.textContent)"
    found: list[str] = dash_duo.driver.execute_script(script, selector)
    return found


def row(dash_duo: Any, runner_id: str) -> Any:
    return dash_duo.find_element(f'#runners-grid .ag-center-cols-container [row-id="{runner_id}"]')


def row_status(dash_duo: Any, runner_id: str) -> str:
    selector = f'#runners-grid [row-id="{runner_id}"] .runner-status'
    return str(dash_duo.driver.find_element_by_css_selector(selector).text)


def click_action(dash_duo: Any, runner_id: str, action: str) -> None:
    selector = f'#runners-grid [row-id="{runner_id}"] button[data-action="{action}"]'
    wait_until(lambda: dash_duo.driver.find_element_by_css_selector(selector), what=action)
    dash_duo.driver.find_element_by_css_selector(selector).click()


def test_runner_lifecycle_in_the_browser(dash_duo: Any, live_app: Any) -> None:
    dash_duo.start_server(live_app)
    dash_duo.wait_for_contains_text("#shell-engine-status", "engine online", timeout=20)
    dash_duo.wait_for_element("#runners-grid")

    # create through the form: client-side check first, then the engine accepts it
    dash_duo.find_element("#runners-new").click()
    dash_duo.wait_for_element("#runners-create-modal")
    choose(dash_duo, "runners-create-symbol", "ETHUSDT")
    choose(dash_duo, "runners-create-strategy", "RSI Mean")
    dash_duo.wait_for_element('input[id*="runners-create-param"][id*="period"]')
    assert dash_duo.find_element("#runners-create-runner-id").get_attribute("value") == (
        "ethusdt-rsi_mean_reversion"
    )
    id_input = dash_duo.find_element("#runners-create-runner-id")
    id_input.clear()
    id_input.send_keys("bad id!")
    dash_duo.wait_for_contains_text("#runners-create-runner-id-feedback", "letters, digits")
    id_input.clear()
    id_input.send_keys(RUNNER)
    dash_duo.wait_for_text_to_equal("#runners-create-runner-id-feedback", "")
    dash_duo.find_element("#runners-create-submit").click()
    wait_until(lambda: row(dash_duo, RUNNER), what="the new runner's row")
    dash_duo.wait_for_contains_text("#runners-toasts", "created")
    assert row_status(dash_duo, RUNNER) == "Running"

    # the same id again: the form says why, under the id field, and stays open
    dash_duo.find_element("#runners-new").click()
    id_input = dash_duo.wait_for_element("#runners-create-runner-id")
    id_input.clear()
    id_input.send_keys(RUNNER)
    dash_duo.wait_for_contains_text("#runners-create-runner-id-feedback", "already exists")
    dash_duo.find_element("#runners-create-cancel").click()
    wait_until(
        lambda: not dash_duo.driver.find_elements_by_css_selector(".create-runner-modal.show"),
        what="the form to close",
    )

    # pause and resume from the grid
    click_action(dash_duo, RUNNER, "pause")
    wait_until(lambda: row_status(dash_duo, RUNNER) == "Paused", what="Paused")
    dash_duo.wait_for_text_to_equal("#runners-stat-paused .stat-value", "1")
    click_action(dash_duo, RUNNER, "resume")
    wait_until(lambda: row_status(dash_duo, RUNNER) == "Running", what="Running again")

    # stop asks first and says what happens to an open position; then start again
    click_action(dash_duo, RUNNER, "stop")
    dash_duo.wait_for_contains_text("#runners-confirm-body", "exit reason: manual")
    dash_duo.wait_for_text_to_equal("#runners-confirm-title", "Stop runners?")
    dash_duo.wait_for_text_to_equal("#runners-confirm-ok", "Stop")
    dash_duo.find_element("#runners-confirm-ok").click()
    wait_until(lambda: row_status(dash_duo, RUNNER) == "Stopped", what="Stopped")
    click_action(dash_duo, RUNNER, "start")
    wait_until(lambda: row_status(dash_duo, RUNNER) == "Running", what="Running after start")

    # the detail page: chart, indicators and logic log fill in
    dash_duo.driver.find_element_by_css_selector(
        f'#runners-grid [row-id="{RUNNER}"] a.runner-link'
    ).click()
    # read in one script: the header re-renders every 2 s (a held element goes stale)
    wait_until(lambda: texts(dash_duo, ".runner-title") == [RUNNER], 30, "the detail header")
    candles = "#runner-detail-chart .boxlayer .trace.boxes path"
    wait_until(
        lambda: len(dash_duo.driver.find_elements_by_css_selector(candles)) >= 10,
        what="candlesticks",
    )
    wait_until(
        lambda: len(dash_duo.driver.find_elements_by_css_selector(".ind-row")) >= 2,
        what="rsi and atr in the indicators panel",
    )
    names = texts(dash_duo, ".ind-name")
    assert "rsi(14)" in names and "atr(14)" in names
    logic_bars = (
        "var api = dash_ag_grid.getApi('runner-detail-logic'); var out = [];"
        "api.forEachNodeAfterFilterAndSort(n => out.push(n.data.bar)); return out;"
    )
    wait_until(
        lambda: len(dash_duo.driver.execute_script(logic_bars)) >= 5,
        what="decisions in the logic log",
    )
    bars = dash_duo.driver.execute_script(logic_bars)
    assert bars == sorted(bars, reverse=True), "newest decision first"
    assert dash_duo.driver.find_elements_by_css_selector("#runner-detail-logic .ag-row")

    # pause here too, then back to the manager and delete it from the grid (with confirmation)
    pause = 'button[id*="runner-detail-action"][id*="pause"]'
    dash_duo.wait_for_element(pause)
    dash_duo.driver.execute_script("document.querySelector(arguments[0]).click()", pause)
    dash_duo.wait_for_contains_text("#runner-detail-header", "Paused")
    dash_duo.find_element(".back-link").click()
    wait_until(lambda: row(dash_duo, RUNNER), what="the grid again")
    click_action(dash_duo, RUNNER, "delete")
    dash_duo.wait_for_element("#runners-confirm-ok").click()
    wait_until(
        lambda: (
            not dash_duo.driver.find_elements_by_css_selector(f'#runners-grid [row-id="{RUNNER}"]')
        ),
        what="the row to go",
    )
    dash_duo.wait_for_contains_text("#runners-toasts", f"Deleted {RUNNER}")

    dash_duo.wait_for_page(f"{dash_duo.server.url}/runners/{RUNNER}")
    dash_duo.wait_for_contains_text("#runner-detail-not-found", "Runner not found")

    # the strategy editor's "Run as runner" link opens the form prefilled
    dash_duo.wait_for_page(f"{dash_duo.server.url}/?create=1&strategy=examples%2Fmacd_cross.lua")
    dash_duo.wait_for_element(".create-runner-modal.show")
    dash_duo.wait_for_contains_text("#runners-create-strategy", "MACD Cross")
    signal = dash_duo.wait_for_element('input[id*="runners-create-param"][id*="signal"]')
    assert signal.get_attribute("value") == "9"
    assert dash_duo.get_logs() == []
