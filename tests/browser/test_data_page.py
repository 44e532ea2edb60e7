"""The Data page in headless Chromium against the real app, a real RQ worker process (with
RQ's scheduler) on a private Redis and a SQLite file: import a CSV through the upload form,
see it in the coverage table, timeline and candle preview, schedule a collection of the
simulated market, trigger "Collect now" and watch the job go from queued to done; no console
errors."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app import create_app
from engine.platform.launcher import child_env
from engine.platform.services import build_services
from engine.platform.settings import Settings
from engine.storage.db import make_engine

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:HTTPResponse.getheader:DeprecationWarning"),
]


def wait_until(check: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except Exception:  # re-rendered between lookup and read
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


class Worker:
    """``python -m jobs.worker`` (RQ worker + scheduler) for the test's Redis and database."""

    def __init__(self, settings: Settings) -> None:
        self.env = child_env(settings, settings.redis_url or "")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jobs.worker"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@pytest.fixture
def worker(settings: Settings) -> Iterator[Worker]:
    running = Worker(settings)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def data_app(settings: Settings, worker: Worker) -> Any:
    db = make_engine(settings)
    return create_app(build_services(settings, settings.redis_url or "", db))


def text(dash_duo: Any, selector: str) -> str:
    script = "const e = document.querySelector(arguments[0]); return e ? e.innerText : ''"
    return str(dash_duo.driver.execute_script(script, selector))


def click(dash_duo: Any, selector: str) -> None:
    """Scroll an element into view and click it (the page is taller than the window)."""
    element = dash_duo.wait_for_element(selector, timeout=30)
    dash_duo.driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center'}); arguments[0].click()", element
    )


def figure_traces(dash_duo: Any, graph_id: str) -> list[dict[str, Any]]:
    script = (
        "const g = document.querySelector('#' + arguments[0] + ' .js-plotly-plot');"
        "return g && g.data ? g.data.map(t => ({type: t.type, n: (t.x || []).length,"
        " color: t.line ? t.line.color : null})) : []"
    )
    found: list[dict[str, Any]] = dash_duo.driver.execute_script(script, graph_id)
    return found


def test_import_preview_and_collect_in_the_browser(
    dash_duo: Any, data_app: Any, worker: Worker, shared_data: Any
) -> None:
    dash_duo.start_server(data_app)
    dash_duo.wait_for_page(f"{dash_duo.server.url}/data", timeout=30)
    dash_duo.wait_for_element("#data-upload", timeout=30)

    # import EURUSD.csv through the upload form
    upload = dash_duo.driver.find_element_by_css_selector("#data-upload input[type=file]")
    upload.send_keys(str(shared_data / "EURUSD.csv"))
    dash_duo.wait_for_contains_text("#data-upload-preview", "Columns recognized", timeout=30)
    assert "2017-04-19 09:00:00" in text(dash_duo, "#data-upload-preview")
    assert dash_duo.find_element("#data-import-symbol").get_attribute("value") == "EURUSD"
    click(dash_duo, "#data-import-go")
    dash_duo.wait_for_contains_text(
        "#data-import-message", "Imported 5,000 1h bars of EURUSD as csv:eurusd", timeout=30
    )

    # it is in the coverage table (fx sessions: only the two real holes are gaps) ...
    row = '#data-coverage .ag-center-cols-container [row-id="csv:eurusd|EURUSD|1h"]'
    wait_until(lambda: dash_duo.driver.find_element_by_css_selector(row), what="coverage row")
    cells = wait_until(lambda: text(dash_duo, row), what="row text")
    assert "5000" in cells and "2017-04-19 09:00" in cells
    gaps = f'{row} [col-id="gaps"]'
    assert text(dash_duo, gaps) == "2"
    # ... on the timeline, with its gaps in red ...
    lanes = wait_until(lambda: figure_traces(dash_duo, "data-timeline"), what="timeline")
    assert {"#00bc8c", "#e74c3c"} <= {t["color"] for t in lanes}
    # ... and a click shows its candles
    click(dash_duo, f'{row} [col-id="bars"]')
    candles = wait_until(
        lambda: [
            t
            for t in figure_traces(dash_duo, "data-preview")
            if t["type"] == "candlestick" and t["n"] == 500
        ],
        what="candle preview",
    )
    assert candles

    # schedule a collection of the simulated market: the worker's scheduler runs it now
    dash_duo.driver.execute_script(
        "Array.from(document.querySelectorAll('a[role=tab]'))"
        ".find(a => a.textContent === 'Schedule').click()"
    )
    click(dash_duo, "#data-schedule-go")
    dash_duo.wait_for_contains_text("#data-schedule-message", "Scheduled BTCUSDT 1h", timeout=30)
    wait_until(
        lambda: (
            "collection" in text(dash_duo, "#data-sessions")
            and "ok" in text(dash_duo, "#data-sessions")
        ),
        what="the scheduled run's session",
    )
    assert "BTCUSDT 1h · sim" in text(dash_duo, "#data-collections")

    # Collect now with the worker stopped: the job waits, with its progress bar, ...
    worker.stop()
    click(dash_duo, "#data-collect-all")
    wait_until(lambda: "queued" in text(dash_duo, "#data-jobs"), what="a queued job")
    assert dash_duo.driver.find_elements_by_css_selector("#data-jobs .progress")
    # ... and finishes once a worker is back
    worker.start()
    wait_until(
        lambda: "No data jobs running" in text(dash_duo, "#data-jobs"), what="the job to finish"
    )
    script = (
        "return Array.from(document.querySelectorAll("
        "'#data-sessions .ag-center-cols-container [col-id=' + arguments[0] + ']'))"
        ".map(e => e.innerText)"
    )
    kinds = wait_until(
        lambda: (
            len(dash_duo.driver.execute_script(script, "kind")) == 2
            and dash_duo.driver.execute_script(script, "kind")
        ),
        what="two sessions in the log",
    )
    assert kinds == ["collection", "collection"]
    assert dash_duo.driver.execute_script(script, "status") == ["ok", "ok"]
    assert dash_duo.get_logs() == []
