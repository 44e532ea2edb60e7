"""The candle bootstrap on a backtest result's Robustness tab in headless Chromium against a
real worker: set paths/block/seed, run, watch paths done, then the percentile table (its
numbers are the stored result's) and the fan chart; the console stays empty.

With ``TRADESIM_SCREENSHOTS=<folder>`` the finished card is saved as
``candle-bootstrap.png`` there (``docs/screenshots`` for the README)."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from engine.api.backtests import submit
from engine.platform.services import Services
from engine.storage.backtest_store import BacktestStore
from engine.storage.bootstrap_store import CandleBootstrapStore
from tests.browser.test_backtest import bt_services, click, wait_until  # noqa: F401

pytestmark = pytest.mark.browser


def fill(element: Any, text: str) -> None:
    element.clear()
    element.send_keys(text)


def test_candle_bootstrap_card(dash_duo: Any, bt_services: Services) -> None:  # noqa: F811
    from app import create_app

    body = {"strategy": "ema_crossover", "symbol": "BTCUSDT", "timeframe": "1h", "preset": "90d"}
    backtest_id = submit(bt_services, body)["backtest_id"]
    store = BacktestStore(bt_services.db)
    wait_until(lambda: store.get(backtest_id).status == "finished", 120, "backtest not done")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dash_duo.start_server(create_app(bt_services), navigate=False, port=port)
    driver = dash_duo.driver
    dash_duo.wait_for_page(f"{dash_duo.server.url}/backtest/{backtest_id}")
    dash_duo.wait_for_element("#bt-stat-cards", timeout=120)
    tab = next(
        t
        for t in driver.find_elements(By.CSS_SELECTOR, ".bt-tabs .nav-link")
        if t.text == "Robustness"
    )
    click(driver, tab)
    fill(dash_duo.wait_for_element("#cb-paths", timeout=20), "120")
    fill(dash_duo.find_element("#cb-block"), "48")
    fill(dash_duo.find_element("#cb-seed"), "7")
    click(driver, dash_duo.find_element("#cb-run"))
    dash_duo.wait_for_element("#cb-output .cb-progress", timeout=20)
    table = dash_duo.wait_for_element(".cb-table", timeout=180)
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert [r.find_elements(By.TAG_NAME, "td")[0].text for r in rows] == [
        "Final return %",
        "Max drawdown %",
        "Trades",
    ]
    stored = CandleBootstrapStore(bt_services.db)
    with bt_services.db.connect() as conn:
        import sqlalchemy as sa

        (bootstrap_id,) = conn.execute(sa.text("SELECT bootstrap_id FROM candle_bootstraps")).one()
    result = stored.get(bootstrap_id)["result"]  # type: ignore[index]
    assert result["paths"] == 120 and result["block"] == 48 and result["seed"] == 7
    cells = [c.text for c in rows[0].find_elements(By.TAG_NAME, "td")[1:]]
    want = [result["final_return_pct"][k] for k in ("p5", "p50", "p95")]
    want.append(result["original"]["final_return_pct"])
    assert cells == [f"{v:,.2f}" for v in want]
    assert "Probability of loss" in dash_duo.find_element("#cb-output").text
    wait_until(
        lambda: driver.find_elements(By.CSS_SELECTOR, "#cb-fan .scatterlayer .trace"),
        30,
        "no fan chart",
    )
    assert not dash_duo.find_element("#cb-cancel").is_displayed()  # nothing running
    # a long one, cancelled from the card: the button shows while it runs, the job stops
    fill(dash_duo.find_element("#cb-paths"), "1000")
    click(driver, dash_duo.find_element("#cb-run"))
    wait_until(lambda: dash_duo.find_element("#cb-cancel").is_displayed(), 20, "no Cancel")
    click(driver, dash_duo.find_element("#cb-cancel"))
    wait_until(lambda: "cancelled" in dash_duo.find_element("#cb-output").text, 30, "not stopped")
    with bt_services.db.connect() as conn:
        statuses = conn.execute(
            sa.text("SELECT status FROM candle_bootstraps ORDER BY created_at")
        ).scalars()
        assert list(statuses) == ["finished", "cancelled"]
    assert not dash_duo.find_element("#cb-cancel").is_displayed()
    folder = os.environ.get("TRADESIM_SCREENSHOTS")
    if folder:
        card = dash_duo.find_element("#cb-output").find_element(
            By.XPATH, "./ancestor::div[contains(concat(' ', @class, ' '), ' card ')][1]"
        )
        driver.execute_script("arguments[0].scrollIntoView({block: 'start'});", card)
        time.sleep(1.0)
        Path(folder).mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(Path(folder) / "candle-bootstrap.png"))
    assert dash_duo.get_logs() == []
