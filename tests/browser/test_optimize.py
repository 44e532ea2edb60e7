"""The Optimize pages in headless Chromium against a real worker: fill the sweep form (the
live count follows the ranges), run, watch the heatmap and the table fill in, open the best
row as a backtest and find the same numbers there; from the strategy editor, sweep three
params, see them as a scatter and run the best row as a runner (the runner form prefilled);
the console stays empty."""

from __future__ import annotations

import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from engine.platform.services import Services
from engine.storage.backtest_store import BacktestStore
from engine.storage.sweep_store import SweepStore
from tests.browser.test_backtest import bt_services, click, wait_until  # noqa: F401

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("TRADESIM_SCREENSHOTS") or tempfile.gettempdir())
MIN_TRADES = 14


def fill(element: Any, text: str) -> None:
    element.clear()
    element.send_keys(text)


def test_form_heatmap_walk_forward_backtest_robustness(
    dash_duo: Any,
    bt_services: Services,  # noqa: F811
) -> None:
    from app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dash_duo.start_server(create_app(bt_services), navigate=False, port=port)
    driver = dash_duo.driver
    dash_duo.wait_for_page(f"{dash_duo.server.url}/optimize?strategy=ema_crossover")
    dash_duo.wait_for_element("#opt-run", timeout=120)
    fill(dash_duo.find_element('input[id*="opt-range-min"][id*="fast"]'), "4")
    fill(dash_duo.find_element('input[id*="opt-range-max"][id*="fast"]'), "12")
    fill(dash_duo.find_element('input[id*="opt-range-step"][id*="fast"]'), "4")
    fill(dash_duo.find_element('input[id*="opt-range-values"][id*="slow"]'), "20, 40")
    Select(dash_duo.find_element("#opt-timeframe")).select_by_value("1h")
    labels = driver.find_elements(By.CSS_SELECTOR, ".bt-presets label")
    next(label for label in labels if label.text == "30d").click()
    dash_duo.wait_for_text_to_equal("#opt-count", "6 combinations", timeout=20)
    click(driver, dash_duo.find_element("#opt-run"))
    wait_until(lambda: "/optimize/" in driver.current_url, 60, "no redirect")
    sweep_id = driver.current_url.rsplit("/", 1)[-1]
    wait_until(
        lambda: SweepStore(bt_services.db).status(sweep_id) == "finished", 120, "not finished"
    )
    dash_duo.wait_for_text_to_equal("#opt-result-progress .bt-stage", "6 of 6 combinations", 30)
    wait_until(
        lambda: (
            driver.find_elements(By.CSS_SELECTOR, "#opt-result-chart .heatmaplayer image")
            or driver.find_elements(By.CSS_SELECTOR, "#opt-result-chart .hm")
        ),
        30,
        "no heatmap drawn",
    )
    ticks = [t.text for t in driver.find_elements(By.CSS_SELECTOR, "#opt-result-chart .xtick")]
    assert [t for t in ticks if t] == ["4", "8", "12"]
    wait_until(
        lambda: (
            len(
                driver.find_elements(
                    By.CSS_SELECTOR, "#opt-result-grid .ag-center-cols-container .ag-row"
                )
            )
            == 6
        ),
        30,
        "the table does not show 6 rows",
    )
    # the same two params as a scatter: six points (no constraints: all filled), one starred
    views = driver.find_elements(By.CSS_SELECTOR, ".opt-views label")
    click(driver, next(v for v in views if v.text == "Scatter"))
    wait_until(
        lambda: (
            len(driver.find_elements(By.CSS_SELECTOR, "#opt-result-chart .scatterlayer .point"))
            == 7
        ),
        30,
        "six points and the star",
    )
    record = SweepStore(bt_services.db).get(sweep_id)
    assert record is not None and record.best is not None
    best = record.best
    # walk-forward of this sweep: 2 rolling folds, then back to the sweep
    fill(dash_duo.find_element("#opt-result-wf-folds"), "2")
    click(driver, dash_duo.find_element("#opt-result-wf-run"))
    wait_until(lambda: "/walk-forward/" in driver.current_url, 60, "no walk-forward page")
    folds = dash_duo.wait_for_element(".wf-table", timeout=120)
    assert len(folds.find_elements(By.CSS_SELECTOR, "tbody tr")) == 2
    wait_until(
        lambda: len(driver.find_elements(By.CSS_SELECTOR, ".wf-page .js-plotly-plot")) == 2, 30
    )
    driver.get(f"{dash_duo.server.url}/optimize/{sweep_id}")
    # the table is sorted by objective, best first: select it and open it as a backtest
    first = dash_duo.wait_for_element('#opt-result-grid .ag-row[row-index="0"] .ag-cell')
    click(driver, first)
    wait_until(lambda: dash_duo.find_element("#opt-result-open").is_enabled(), 20, "not enabled")
    click(driver, dash_duo.find_element("#opt-result-open"))
    wait_until(lambda: "/backtest/" in driver.current_url, 60, "no redirect to the backtest")
    backtest_id = driver.current_url.rsplit("/", 1)[-1]
    dash_duo.wait_for_element("#bt-stat-cards", timeout=120)
    stored = BacktestStore(bt_services.db).get(backtest_id)
    assert stored is not None and stored.config["params"]["fast"] == best["params"]["fast"]
    assert stored.config["params"]["slow"] == best["params"]["slow"]
    result = BacktestStore(bt_services.db).result(backtest_id)
    assert result is not None
    assert result["metrics"]["total_return_pct"] == best["metrics"]["total_return_pct"]
    assert result["metrics"]["num_trades"] == best["metrics"]["num_trades"]
    # its Robustness tab: Monte Carlo of its trades, the percentile table and the fan chart
    tab = next(
        t
        for t in driver.find_elements(By.CSS_SELECTOR, ".bt-tabs .nav-link")
        if t.text == "Robustness"
    )
    click(driver, tab)
    click(driver, dash_duo.wait_for_element("#mc-run", timeout=20))
    table = dash_duo.wait_for_element(".mc-table", timeout=60)
    assert len(table.find_elements(By.CSS_SELECTOR, "tbody tr")) == 2
    assert "Probability of loss" in dash_duo.find_element("#mc-output").text
    wait_until(
        lambda: driver.find_elements(
            By.CSS_SELECTOR, "#bt-result-fan .js-plotly-plot, #bt-result-fan.js-plotly-plot"
        ),
        30,
        "no fan chart",
    )
    # the no-lookahead check: the live-path replay gives the same trades
    click(driver, dash_duo.find_element("#la-run"))
    dash_duo.wait_for_element(".la-identical", timeout=120)
    # the backtest result links back to the Optimize form, prefilled
    tabs = driver.find_elements(By.CSS_SELECTOR, ".bt-tabs .nav-link")
    click(driver, next(t for t in tabs if t.text == "Results"))
    click(driver, dash_duo.find_element("#bt-result-optimize"))
    wait_until(lambda: "/optimize?backtest=" in driver.current_url, 30, "no Optimize link")
    dash_duo.wait_for_element("#opt-run", timeout=60)
    assert dash_duo.get_logs() == []


def shot(driver: Any, name: str) -> None:
    """Save the page from its top as ``name`` in ``TRADESIM_SCREENSHOTS`` (or the temporary
    folder: a test run never changes the checkout)."""
    driver.execute_script("document.activeElement.blur(); window.scrollTo(0, 0);")
    time.sleep(0.8)
    driver.save_screenshot(str(SHOTS / name))


def test_editor_optimize_three_param_scatter_and_run_as_runner(
    dash_duo: Any,
    bt_services: Services,  # noqa: F811
) -> None:
    from app import create_app

    dash_duo.start_server(create_app(bt_services), navigate=False)
    driver = dash_duo.driver
    driver.set_window_size(1400, 1250)
    # the editor's Optimize button opens the form with the strategy and its @param ranges
    dash_duo.wait_for_page(f"{dash_duo.server.url}/strategies/ema_crossover")
    button = dash_duo.wait_for_element("#strategy-editor-optimize", timeout=60)
    assert button.get_attribute("href").endswith("/optimize?strategy=ema_crossover")
    click(driver, button)
    wait_until(lambda: "/optimize?strategy=ema_crossover" in driver.current_url, 30, "no link")
    dash_duo.wait_for_contains_text("#opt-strategy", "ema_crossover.lua", timeout=60)
    names = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".opt-range-row .opt-switch")]
    assert names == ["fast", "slow", "stop_pct"]
    assert (
        dash_duo.find_element('input[id*="opt-range-max"][id*="slow"]').get_attribute("value")
        == "200"
    )
    # sweep all three params: 4 × 2 × 3 = 24 combinations, trades ≥ 14 as a constraint
    stop_switch = driver.find_elements(By.CSS_SELECTOR, ".opt-range-row .opt-switch input")[2]
    click(driver, stop_switch)
    fill(dash_duo.find_element('input[id*="opt-range-values"][id*="fast"]'), "4, 8, 12, 16")
    fill(dash_duo.find_element('input[id*="opt-range-values"][id*="slow"]'), "30, 60")
    fill(dash_duo.find_element('input[id*="opt-range-values"][id*="stop_pct"]'), "0, 1, 3")
    fill(dash_duo.find_element("#opt-min-trades"), str(MIN_TRADES))
    labels = driver.find_elements(By.CSS_SELECTOR, ".bt-presets label")
    next(label for label in labels if label.text == "30d").click()
    dash_duo.wait_for_text_to_equal("#opt-count", "24 combinations", timeout=20)
    click(driver, dash_duo.find_element("#opt-run"))
    wait_until(lambda: "/optimize/" in driver.current_url, 60, "no redirect")
    sweep_id = driver.current_url.rsplit("/", 1)[-1]
    wait_until(
        lambda: SweepStore(bt_services.db).status(sweep_id) == "finished", 180, "not finished"
    )
    dash_duo.wait_for_text_to_equal("#opt-result-progress .bt-stage", "24 of 24 combinations", 30)
    rows = SweepStore(bt_services.db).results(sweep_id)
    feasible = [r for r in rows if r["status"] == "ok" and r["feasible"]]
    infeasible = [r for r in rows if r["status"] == "ok" and not r["feasible"]]
    assert feasible and infeasible and len(feasible) + len(infeasible) == 24
    assert all((r["metrics"]["num_trades"] >= MIN_TRADES) == r["feasible"] for r in rows)
    # Scatter: total return against fast, coloured by slow; hollow points fail the constraint
    views = driver.find_elements(By.CSS_SELECTOR, ".opt-views label")
    click(driver, next(v for v in views if v.text == "Scatter"))
    wait_until(
        lambda: not dash_duo.find_element("#opt-result-color-col").get_attribute("style"),
        20,
        "no colour control",
    )
    assert "none" in dash_duo.find_element("#opt-result-y-col").get_attribute("style")
    Select(dash_duo.find_element("#opt-result-color")).select_by_value("stop_pct")

    def points(trace: int) -> int:
        return len(
            driver.find_elements(
                By.CSS_SELECTOR, f"#opt-result-chart .scatterlayer .trace:nth-child({trace}) .point"
            )
        )

    wait_until(lambda: points(1) == len(feasible), 30, "feasible points")
    assert points(2) == len(infeasible) and points(3) == 1  # hollow ones, the best star
    assert driver.find_elements(By.CSS_SELECTOR, "#opt-result-chart .colorbar")
    title = dash_duo.find_element("#opt-result-chart .gtitle").text
    assert title == "total return pct against fast (every combination, colour: stop_pct)"
    shot(driver, "optimize-scatter.png")
    # select the best row (starred; rows that fail the constraint may rank above it) and run
    # it as a runner
    record = SweepStore(bt_services.db).get(sweep_id)
    assert record is not None and record.best is not None
    best = record.best["params"]
    starred = wait_until(
        lambda: [
            r
            for r in driver.find_elements(
                By.CSS_SELECTOR, "#opt-result-grid .ag-center-cols-container .ag-row"
            )
            if "★" in r.text
        ],
        20,
        "the starred row",
    )
    click(driver, starred[0].find_element(By.CSS_SELECTOR, ".ag-cell"))
    link = "return document.querySelector('#opt-result-runner').getAttribute('href') || ''"
    wait_until(lambda: "create=1" in driver.execute_script(link), 20, "no runner link")
    href = driver.execute_script(link)
    click(driver, dash_duo.find_element("#opt-result-runner"))
    wait_until(lambda: driver.current_url.endswith(href), 30, "no runner form")
    assert "strategy=ema_crossover.lua&symbol=BTCUSDT&timeframe=1h&window=100&params=" in href
    dash_duo.wait_for_element(".create-runner-modal.show", timeout=30)
    dash_duo.wait_for_contains_text("#runners-create-strategy", "EMA", timeout=30)
    for name, value in best.items():
        selector = f'input[id*="runners-create-param"][id*="{name}"]'
        wait_until(
            lambda s=selector, v=value: (
                float(dash_duo.find_element(s).get_attribute("value")) == float(v)
            ),
            20,
            f"param {name} = {value}",
        )
    assert dash_duo.find_element("#runners-create-timeframe").get_attribute("value") == "1h"
    assert "BTCUSDT" in dash_duo.find_element("#runners-create-symbol").text
    assert dash_duo.find_element("#runners-create-window").get_attribute("value") == "100"
    wait_until(
        lambda: (
            dash_duo.find_element("#runners-create-runner-id").get_attribute("value")
            == "btcusdt-ema_crossover"
        ),
        20,
        "suggested id",
    )
    assert not driver.find_elements(By.CSS_SELECTOR, "#runners-create-prefill-note")
    shot(driver, "runner-from-sweep.png")
    # a hand-edited link: bad values are left out with a note, the good ones kept
    dash_duo.wait_for_page(
        f"{dash_duo.server.url}/?create=1&strategy=ema_crossover&symbol=NOPE&timeframe=1h"
        "&params=fast%3D7%2Cslow%3D999%2Cbogus%3D1"
    )
    note = dash_duo.wait_for_element("#runners-create-prefill-note", timeout=30)
    assert "symbol 'NOPE'" in note.text and "slow" in note.text and "bogus" in note.text
    fast = 'input[id*="runners-create-param"][id*="fast"]'
    wait_until(lambda: dash_duo.find_element(fast).get_attribute("value") == "7", 20, "fast=7")
    slow = dash_duo.find_element('input[id*="runners-create-param"][id*="slow"]')
    assert slow.get_attribute("value") == "20"  # the default
    assert dash_duo.get_logs() == []
