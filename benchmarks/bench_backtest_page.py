"""The Backtest result page with 10,000+ trades, in a real browser (targets: a year of 1-minute
bars, 1 run, from the Run request to the results drawn < 5 s; a result page with 10,000 trades
drawn < 2 s).

Starts ``tradesim up`` in a temporary data dir (embedded Redis, SQLite, one worker), submits an
EMA-crossover backtest over a year of simulated 1-minute bars through the REST API (about
11,600 trades), waits for it, then opens ``/backtest/<id>`` in headless Chromium (Debian
``chromium`` + ``chromedriver``, through selenium) ``--runs`` times and records how long the
page takes until every chart is drawn and the trade log grid shows rows. Prints the job time,
the page times (best and median) and job + best page as "click to results drawn". Run:
``python -m benchmarks.bench_backtest_page``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_api_load import free_port, wait_healthy
from benchmarks.bench_live_with_backtests import call

ROOT = Path(__file__).resolve().parents[1]
BODY = {"strategy": "ema_crossover", "symbol": "BTCUSDT", "timeframe": "1m", "preset": "1y"}
DRAWN = """
const graphs = document.querySelectorAll('.js-plotly-plot');
const drawn = [...graphs].filter(g => g.querySelector('.main-svg'));
const rows = document.querySelectorAll('.ag-center-cols-container .ag-row');
return [graphs.length, drawn.length, rows.length];
"""


def browser():  # type: ignore[no-untyped-def]
    from selenium import webdriver
    from selenium.webdriver.remote.remote_connection import RemoteConnection

    RemoteConnection.set_timeout(120)
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(arg)
    return webdriver.Chrome(
        executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver", options=options
    )


def page_seconds(driver, url: str, timeout: float = 60.0) -> tuple[float, list[int]]:  # type: ignore[no-untyped-def]
    """Seconds from navigation until every chart is drawn and the grids show rows."""
    driver.get("about:blank")
    started = time.perf_counter()
    driver.get(url)
    deadline = started + timeout
    while time.perf_counter() < deadline:
        graphs, drawn, rows = driver.execute_script(DRAWN)
        if graphs >= 4 and drawn == graphs and rows > 0:
            return time.perf_counter() - started, [graphs, drawn, rows]
        time.sleep(0.02)
    raise SystemExit(f"{url} was not drawn in {timeout:g} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        raise SystemExit("needs Debian's chromium and chromium-driver (make browser-deps)")
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {**os.environ, "TRADESIM_DATA_DIR": tmp}
        for name in ("REDIS_URL", "DATABASE_URL", "TRADESIM_API_TOKEN"):
            env.pop(name, None)
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "tradesim"), "up", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        driver = None
        try:
            wait_healthy(port, process)
            started = time.perf_counter()
            backtest_id = call(port, "POST", "/api/backtest/run", BODY)["backtest_id"]
            while call(port, "GET", f"/api/backtest/{backtest_id}/status")["status"] in (
                "queued",
                "running",
            ):
                time.sleep(0.05)
            job_s = time.perf_counter() - started
            result = call(port, "GET", f"/api/backtest/{backtest_id}/results")
            trades = len(result["trades"])
            driver = browser()
            url = f"http://127.0.0.1:{port}/backtest/{backtest_id}"
            page_seconds(driver, url)  # warm: the page's assets are cached after this
            times = []
            for _ in range(args.runs):
                seconds, seen = page_seconds(driver, url)
                times.append(seconds)
        finally:
            if driver is not None:
                driver.quit()
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)
    print(
        f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; "
        f"{result['bars']:,} bars, {trades:,} trades"
    )
    print(f"run request -> stored result: {job_s:.2f} s")
    print(
        f"result page drawn ({seen[0]} charts, trade log rows shown): best {min(times):.2f} s, "
        f"median {statistics.median(times):.2f} s (target < 2 s)"
    )
    print(f"click to results drawn: {job_s + min(times):.2f} s (target < 5 s)")


if __name__ == "__main__":
    main()
