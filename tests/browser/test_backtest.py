"""The Backtest pages in headless Chromium against a real worker process: fill the form, run,
watch the progress, see every chart and the trade log, click a trade, reload the shareable
URL, download the CSV, compare two results; the console stays empty."""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from engine.api.backtests import submit
from engine.platform.services import Services, build_services
from engine.platform.settings import Settings
from engine.storage.backtest_store import BacktestStore
from engine.storage.db import make_engine
from jobs.queue import RQJobQueue
from tests.browser.conftest import ROOT

pytestmark = pytest.mark.browser


@pytest.fixture
def bt_services(tmp_path: Path, redis_url: str, strategy_dir: Path) -> Iterator[Services]:
    """Services with the RQ job queue, and one real worker process on the same Redis/DB."""
    settings = Settings(
        data_dir=tmp_path,
        redis_url=redis_url,
        database_url=f"sqlite:///{tmp_path}/t.db",
        strategy_dir=strategy_dir,
    )
    services = build_services(settings, redis_url, make_engine(settings), jobs=RQJobQueue)
    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DATABASE_URL": settings.database_url,
        "TRADESIM_DATA_DIR": str(tmp_path),
        "TRADESIM_STRATEGY_DIR": str(strategy_dir),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "jobs.worker"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield services
    worker.terminate()
    worker.wait(10)


def click(driver: Any, element: Any) -> None:
    """Scroll ``element`` into the middle of the view and click it; while charts are still
    rendering the page can shift under the pointer, so a click that lands elsewhere is retried
    after scrolling again."""
    from selenium.common.exceptions import ElementClickInterceptedException

    for _ in range(5):
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        time.sleep(0.3)
        try:
            element.click()
            return
        except ElementClickInterceptedException:
            time.sleep(0.5)
    element.click()


def wait_until(condition: Any, timeout: float = 120.0, message: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(message or "condition not met")


def test_run_watch_results_reload_download_compare(
    dash_duo: Any, bt_services: Services, tmp_path: Path
) -> None:
    from app import create_app

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with socket.socket() as probe:  # a free port: other suites may hold dash's default one
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dash_duo.start_server(create_app(bt_services), navigate=False, port=port)
    driver = dash_duo.driver
    driver.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    dash_duo.wait_for_page(f"{dash_duo.server.url}/backtest?strategy=ema_crossover")
    dash_duo.wait_for_element("#bt-run", timeout=120)
    # fill the form: a strategy param, timeframe, a preset, advanced costs
    fast = dash_duo.wait_for_element('input[id*="bt-param"][id*="fast"]')
    fast.clear()
    fast.send_keys("8")
    Select(dash_duo.find_element("#bt-timeframe")).select_by_value("1m")
    labels = driver.find_elements(By.CSS_SELECTOR, ".bt-presets label")
    next(label for label in labels if label.text == "90d").click()
    driver.find_element(By.CSS_SELECTOR, ".bt-advanced summary").click()
    commission = dash_duo.find_element("#bt-commission")
    commission.clear()
    commission.send_keys("0.05")
    click(driver, dash_duo.find_element("#bt-run"))
    # the URL becomes /backtest/<id>, the progress bar shows a stage, then the results
    wait_until(lambda: "/backtest/" in driver.current_url, 60, "no redirect")
    url = driver.current_url
    assert "?" not in url  # the form's query string does not stick to the result's URL
    backtest_id = url.rsplit("/", 1)[-1]
    dash_duo.wait_for_element("#bt-result-progress .progress-bar", timeout=60)
    stage = driver.execute_script(
        "const e = document.querySelector('#bt-result-progress .bt-stage');"
        "return e ? e.textContent : '';"
    )
    assert stage  # "Waiting for a worker…", "loading data", "run 1/1", ...
    dash_duo.wait_for_element("#bt-stat-cards", timeout=300)
    record = BacktestStore(bt_services.db).get(backtest_id)
    assert record is not None and record.status == "finished"
    assert record.config["sim"]["commission_rate"] == pytest.approx(0.0005)
    assert record.config["params"]["fast"] == 8 and record.timeframe == "1m"
    result = BacktestStore(bt_services.db).result(backtest_id)
    assert result is not None and result["bars"] == 90 * 1440
    wait_until(lambda: len(driver.find_elements(By.CSS_SELECTOR, ".js-plotly-plot")) == 6, 30)
    assert driver.find_elements(By.CSS_SELECTOR, ".bt-monthly td")
    cards = driver.find_elements(By.CSS_SELECTOR, "#bt-stat-cards .stat-card")
    assert len(cards) == 24
    n_trades = len(result["trades"])
    assert f"Trade log · {n_trades:,} trades" in driver.page_source
    # click a trade: the candles jump to it
    first = dash_duo.wait_for_element('#bt-result-trades .ag-row[row-index="0"] .ag-cell')
    click(driver, first)
    wait_until(
        lambda: "Trade #0" in dash_duo.find_element("#bt-result-candles").text,
        20,
        "the candles did not focus the trade",
    )
    # downloads: trades CSV equal to the stored trades
    click(driver, dash_duo.find_element("#bt-result-csv"))
    path = downloads / f"backtest-{backtest_id}-trades.csv"
    wait_until(path.exists, 20, "no CSV download")
    with path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == n_trades
    assert float(rows[0]["pnl"]) == pytest.approx(result["trades"][0]["pnl"])
    # reload the shareable URL: results straight away
    driver.get(url)
    dash_duo.wait_for_element("#bt-stat-cards", timeout=120)
    # a second backtest, then compare both from the history page
    other = submit(
        bt_services,
        {
            "strategy": "rsi_mean_reversion",
            "symbol": "ETHUSDT",
            "timeframe": "15m",
            "preset": "30d",
        },
    )["backtest_id"]
    wait_until(lambda: BacktestStore(bt_services.db).get(other).status == "finished", 60)
    driver.get(f"{dash_duo.server.url}/backtests")
    dash_duo.wait_for_element("#bt-history-grid .ag-row", timeout=120)
    for index in (0, 1):
        box = dash_duo.find_element(
            f'#bt-history-grid .ag-row[row-index="{index}"] .ag-selection-checkbox input'
        )
        click(driver, box)
    click(driver, dash_duo.find_element("#bt-history-compare"))
    wait_until(lambda: "compare=" in driver.current_url, 20, "compare did not navigate")
    table = dash_duo.wait_for_element(".bt-compare", timeout=120)
    assert len(table.find_elements(By.CSS_SELECTOR, "thead th")) == 3
    assert table.find_elements(By.CSS_SELECTOR, "td.better")
    wait_until(
        lambda: driver.find_elements(By.CSS_SELECTOR, "#bt-history-comparison .js-plotly-plot"), 20
    )
    assert dash_duo.get_logs() == []
