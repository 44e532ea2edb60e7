"""Backtest API end to end: real Redis, real SQLite, a real ``tradesim worker`` process (forking
work-horses), the handlers called through the same ``handle`` the Flask views use."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from engine.api.backtests import delete, history, results, run, status
from engine.api.core import ApiRequest, ApiResponse
from engine.api.dispatch import respond
from engine.backtest.data_spec import DataSpec, load_series
from engine.platform.redis_server import EmbeddedRedis
from engine.platform.services import Services, build_services
from engine.platform.settings import Settings
from engine.storage.db import make_engine
from jobs.queue import RQJobQueue
from tests.conftest import EXAMPLES, ROOT, SHARED_DATA

START = "2024-01-01T00:00:00Z"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Own Redis + SQLite + one worker process for the module."""
    base = tmp_path_factory.mktemp("backtests-api")
    server = EmbeddedRedis(base / "redis")
    url = server.start()
    settings = Settings(
        data_dir=base,
        redis_url=url,
        database_url=f"sqlite:///{base}/t.db",
        max_queued_backtests=50,
    )
    db = make_engine(settings)
    services = build_services(settings, url, db, jobs=RQJobQueue)
    child = {
        **os.environ,
        "REDIS_URL": url,
        "DATABASE_URL": settings.database_url,
        "TRADESIM_DATA_DIR": str(base),
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "jobs.worker"],
        cwd=ROOT,
        env=child,
        stdout=subprocess.DEVNULL,
        stderr=open(base / "worker.log", "w"),  # noqa: SIM115  (closed with the process)
    )
    try:
        yield {"services": services, "worker": worker, "base": base, "env": child}
    finally:
        worker.terminate()
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            worker.kill()
        server.stop()


def call(handler: Any, services: Services, **request: Any) -> ApiResponse:
    return respond(handler, services, ApiRequest(**request))


def submit(services: Services, body: dict[str, Any]) -> str:
    response = call(run, services, body=body)
    assert response.status == 202, response.payload
    return str(response.payload["data"]["backtest_id"])


def wait(services: Services, backtest_id: str, until: tuple[str, ...], timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = call(status, services, path={"backtest_id": backtest_id}).payload["data"]
        if data["status"] in until:
            return data
        time.sleep(0.05)
    raise AssertionError(f"backtest {backtest_id} did not reach {until}: {data}")


def sim_body(**extra: Any) -> dict[str, Any]:
    return {
        "strategy": "ema_crossover",
        "symbol": "ETHUSDT",
        "timeframe": "1h",
        "source": "sim",
        "start": START,
        "end": "2024-06-01T00:00:00Z",
        "commission": 0.001,
        "params": {"fast": 8},
        **extra,
    }


def cli_result(tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "cli.json"
    subprocess.run(
        [sys.executable, "-m", "engine.cli", "backtest", *args, "--json", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return json.loads(out.read_text())


def assert_same_result(api: dict[str, Any], cli: dict[str, Any]) -> None:
    assert api["trades"] == cli["trades"] and len(api["trades"]) > 5
    assert api["metrics"] == cli["metrics"]
    assert api["runs"] == cli["runs"]
    for key in ("strategy", "symbol", "timeframe", "start_time", "end_time", "bars", "params"):
        assert api[key] == cli[key], key


def test_sim_backtest_equals_the_cli(env: dict[str, Any], tmp_path: Path) -> None:
    services = env["services"]
    backtest_id = submit(services, sim_body())
    final = wait(services, backtest_id, ("finished", "failed"))
    assert final["status"] == "finished", final
    api = call(results, services, path={"backtest_id": backtest_id}).payload["data"]
    bars = 152 * 24  # 2024-01-01 .. 2024-06-01 in hours
    cli = cli_result(
        tmp_path,
        str(EXAMPLES / "ema_crossover.lua"),
        *("--symbol", "ETHUSDT", "--timeframe", "1h", "--bars", str(bars)),
        *("--commission", "0.001", "--param", "fast=8"),
    )
    assert api["backtest_id"] == backtest_id
    assert_same_result(api, cli)


def test_randomized_csv_backtest_equals_the_cli(env: dict[str, Any], tmp_path: Path) -> None:
    services = env["services"]
    data = SHARED_DATA / "GOOG.csv"
    body = {
        "strategy": "rsi_mean_reversion",
        "timeframe": "1d",
        "source": f"csv:{data}",
        "runs": 5,
        "duration": "180d",
        "seed": 7,
        "slippage_bps": 3,
        "fill": "next_open",
    }
    backtest_id = submit(services, body)
    assert wait(services, backtest_id, ("finished", "failed"))["status"] == "finished"
    api = call(results, services, path={"backtest_id": backtest_id}).payload["data"]
    cli = cli_result(
        tmp_path,
        str(EXAMPLES / "rsi_mean_reversion.lua"),
        *("--data", str(data), "--timeframe", "1d", "--runs", "5", "--duration", "180d"),
        *("--seed", "7", "--slippage-bps", "3", "--fill", "next_open"),
    )
    assert api["num_runs"] == 5
    assert_same_result(api, cli)


def test_a_backtest_on_an_imported_series_equals_the_cli_on_its_file(
    env: dict[str, Any], tmp_path: Path
) -> None:
    from engine.api.backtests import RunBacktestBody
    from engine.data.candle_store import CandleStore
    from engine.data.history import MarketData

    services = env["services"]
    data = SHARED_DATA / "GOOG.csv"
    MarketData(CandleStore(services.db)).import_csv(data, symbol="GOOG", source="csv:goog")
    body = {"strategy": "rsi_mean_reversion", "source": "csv:goog", "symbol": "GOOG"}
    RunBacktestBody.model_validate(body)  # the declared body admits stored sources
    RunBacktestBody.model_validate({**body, "source": "binanceus"})
    with pytest.raises(ValueError, match="pattern"):
        RunBacktestBody.model_validate({**body, "source": "bad source!"})
    backtest_id = submit(services, body)
    assert wait(services, backtest_id, ("finished", "failed"))["status"] == "finished"
    api = call(results, services, path={"backtest_id": backtest_id}).payload["data"]
    cli = cli_result(
        tmp_path, str(EXAMPLES / "rsi_mean_reversion.lua"), "--data", str(data), "--timeframe", "1d"
    )
    assert_same_result(api, cli)


def test_rerun_from_the_stored_config_reproduces_bit_for_bit(env: dict[str, Any]) -> None:
    from engine.api.backtests import rerun_request
    from engine.storage.backtest_store import BacktestStore

    services = env["services"]
    first = submit(services, sim_body(preset="7d", start=None, end=None, timeframe="15m"))
    wait(services, first, ("finished",))
    record = BacktestStore(services.db).get(first)
    assert record is not None and len(record.config["strategy_code"]) > 100
    again = submit(services, rerun_request(record))
    wait(services, again, ("finished",))
    a = call(results, services, path={"backtest_id": first}).payload["data"]
    b = call(results, services, path={"backtest_id": again}).payload["data"]
    assert a["trades"] == b["trades"] and a["metrics"] == b["metrics"]
    assert a["start_time"] == b["start_time"] and a["end_time"] == b["end_time"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"strategy": "no_such_strategy", "preset": "7d"}, "not found"),
        (sim_body(params={"fast": 500}), "fast"),
        (sim_body(params={"nope": 1}), "unknown param"),
        (sim_body(timeframe="7m"), "invalid timeframe"),
        (sim_body(symbol="NOPE"), "NOPE"),
        (sim_body(source="exchange"), "no stored"),
        (sim_body(source="csv:missing_file"), "no such CSV"),
        (sim_body(end=START), "before it starts"),
        (sim_body(start="yesterday"), "ISO date"),
        (sim_body(runs=5), "duration"),
        (sim_body(runs=5, duration="2y"), "invalid duration"),
        (sim_body(runs=5, duration="300d"), "shorter duration"),
        (sim_body(commission=0.9), "commission"),
        (sim_body(fill="sometimes"), "fill"),
        (sim_body(window=1), "window"),
        (sim_body(colour="red"), "unknown field"),
        (sim_body(preset="7d"), "not both"),
        (sim_body(start=None, end=None), "give a range"),
        (sim_body(capital="lots"), "capital must be"),
        ("not an object", "JSON object"),
        (
            {
                "strategy": "x",
                "source": f"csv:{SHARED_DATA / 'GOOG.csv'}",
                "start": "1990-01-01",
                "end": "1990-02-01",
                "timeframe": "1d",
                "strategy_code": (EXAMPLES / "ema_crossover.lua").read_text(),
            },
            "bar(s)",
        ),
        ({"strategy_code": "function detect_opportunity(", "preset": "7d"}, "strategy.lua"),
    ],
)
def test_bad_requests_are_400_and_queue_nothing(
    env: dict[str, Any], body: Any, message: str
) -> None:
    services = env["services"]
    before = services.jobs.queued() if services.jobs else 0
    listed = len(call(history, services).payload["data"])
    response = call(run, services, body=body)
    assert response.status == 400, response.payload
    assert message in response.payload["error"]["message"]
    assert len(call(history, services).payload["data"]) == listed
    assert services.jobs is not None and services.jobs.queued() == before


def test_queue_cap_answers_429(env: dict[str, Any]) -> None:
    base: Path = env["base"]
    settings = Settings(
        data_dir=base,
        redis_url=env["env"]["REDIS_URL"],
        database_url=f"sqlite:///{base}/cap.db",
        max_queued_backtests=2,
    )
    services = build_services(
        settings,
        env["env"]["REDIS_URL"],
        make_engine(settings),
        jobs=lambda r: RQJobQueue(r, backtest_queue="nobody-listens"),
    )
    ids = [submit(services, sim_body()) for _ in range(2)]
    response = call(run, services, body=sim_body())
    assert response.status == 429
    assert "limit is 2" in response.payload["error"]["message"]
    # a queued one cancels at once (its job never started), which frees a slot
    cancelled = call(delete, services, path={"backtest_id": ids[0]}).payload["data"]
    assert cancelled["status"] == "cancelled"
    assert wait(services, ids[0], ("cancelled",))["status"] == "cancelled"
    assert call(run, services, body=sim_body()).status == 202


def long_body() -> dict[str, Any]:
    return sim_body(
        timeframe="1m", start=START, end="2025-01-01T00:00:00Z", runs=400, duration="30d"
    )


def test_delete_cancels_a_running_backtest_within_a_second(env: dict[str, Any]) -> None:
    services = env["services"]
    backtest_id = submit(services, long_body())
    running = wait(services, backtest_id, ("running",))
    deadline = time.monotonic() + 30
    while running["progress"] < 0.05 and time.monotonic() < deadline:
        time.sleep(0.05)
        running = call(status, services, path={"backtest_id": backtest_id}).payload["data"]
    assert running["stage"].startswith("run ") and running["eta_s"] is not None
    asked = time.monotonic()
    answer = call(delete, services, path={"backtest_id": backtest_id}).payload["data"]
    assert answer["status"] == "cancelling"
    final = wait(services, backtest_id, ("cancelled", "finished", "failed"), timeout=5)
    took = time.monotonic() - asked
    assert final["status"] == "cancelled" and took < 1.0, (final, took)
    gone = call(results, services, path={"backtest_id": backtest_id})
    assert gone.status == 409 and "cancelled" in gone.payload["error"]["message"]


def test_killed_work_horse_marks_the_backtest_failed(env: dict[str, Any]) -> None:
    services = env["services"]
    backtest_id = submit(services, long_body())
    wait(services, backtest_id, ("running",))
    # the worker's children: RQ's scheduler (forked at start) and the work-horse running the
    # job, forked when it started: the newest one
    children = psutil.Process(env["worker"].pid).children()
    assert children, "no work-horse"
    horse = max(children, key=lambda child: child.create_time())
    os.kill(horse.pid, signal.SIGKILL)
    final = wait(services, backtest_id, ("failed", "finished", "cancelled"), timeout=20)
    assert final["status"] == "failed"
    assert "terminated unexpectedly" in final["error"], final
    listed = call(history, services, query={"status": "failed"}).payload["data"]
    assert backtest_id in [b["backtest_id"] for b in listed]
    assert env["worker"].poll() is None  # the worker itself lives on and takes the next job
    nxt = submit(services, sim_body(preset="24h", start=None, end=None))
    assert wait(services, nxt, ("finished", "failed"))["status"] == "finished"


def test_history_filters_delete_and_404(env: dict[str, Any]) -> None:
    services = env["services"]
    backtest_id = submit(services, sim_body(symbol="SOLUSDT", preset="7d", start=None, end=None))
    wait(services, backtest_id, ("finished",))
    listed = call(history, services, query={"symbol": "solusdt"}).payload["data"]
    assert [b["backtest_id"] for b in listed] == [backtest_id]
    item = listed[0]
    assert item["strategy"] == "EMA Crossover" and item["status"] == "finished"
    assert "strategy_code" not in item["config"]
    assert item["summary"]["num_trades"] >= 0 and "total_return_pct" in item["summary"]
    assert call(history, services, query={"status": "bogus"}).status == 400
    assert call(history, services, query={"limit": "x"}).status == 400
    deleted = call(delete, services, path={"backtest_id": backtest_id}).payload["data"]
    assert deleted["status"] == "deleted"
    for handler in (status, results, delete):
        assert call(handler, services, path={"backtest_id": backtest_id}).status == 404


def test_sim_source_gives_the_range_exactly() -> None:
    spec = DataSpec(
        source="sim", symbol="BTCUSDT", timeframe="1h", start_ms=0, end_ms=3_600_000 * 50
    )
    series = load_series(spec)
    assert len(series) == 50 and series.timestamp[0] == 0
    assert series.timestamp[-1] == 3_600_000 * 49
    assert load_series(spec) == series


def test_openapi_describes_the_backtest_routes() -> None:
    from openapi_spec_validator import validate

    from engine.api.openapi import build_spec
    from engine.api.routes import ROUTES

    spec = build_spec(ROUTES)
    validate(spec)
    post = spec["paths"]["/api/backtest/run"]["post"]
    assert {"202", "400", "429"} <= set(post["responses"])
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    body = spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    assert {"preset", "strategy", "strategy_code", "params"} <= set(body["properties"])
    assert {
        "/api/backtest/{backtest_id}/status",
        "/api/backtest/{backtest_id}/results",
        "/api/backtest/{backtest_id}",
        "/api/backtests",
    } <= set(spec["paths"])
