"""The Optimize pages in headless Chromium against a real worker: fill the sweep form (the
live count follows the ranges), run, watch the heatmap and the table fill in, open the best
row as a backtest and find the same numbers there; the console stays empty."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from engine.platform.services import Services
from engine.storage.backtest_store import BacktestStore
from engine.storage.sweep_store import SweepStore
from tests.browser.test_backtest import bt_services, click, wait_until  # noqa: F401

pytestmark = pytest.mark.browser


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
