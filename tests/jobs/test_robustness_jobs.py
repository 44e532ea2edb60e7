"""Robustness jobs on real RQ workers (forking work-horses), real Redis and SQLite, through the
API handlers: a walk-forward's folds fanned out over 2 workers give exactly the sequential
function's fold table and stitched equity, a failing fold is marked failed without losing
the others, cancel stops the folds; the candle bootstrap job stores what the in-process run
gives, and its bad inputs are 400s."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from rq.job import Job

from engine.api.backtests import submit as submit_backtest
from engine.api.candle_bootstrap import create as create_bootstrap
from engine.api.candle_bootstrap import delete as delete_bootstrap
from engine.api.candle_bootstrap import get as get_bootstrap
from engine.api.robustness import create_walk_forward, delete_walk_forward, get_walk_forward
from engine.backtest.data_spec import load_series
from engine.backtest.request import BacktestConfig
from engine.optimize.candle_bootstrap import run_bootstrap
from engine.optimize.request import parse_sweep
from engine.optimize.walkforward import make_folds, walk_forward
from engine.platform.redis_server import EmbeddedRedis
from engine.storage.backtest_store import BacktestStore
from engine.storage.walkforward_store import WalkForwardStore
from engine.strategy.store import StrategyStore
from jobs.walkforward import fold_job_id
from tests.conftest import ROOT
from tests.jobs.test_sweep_jobs import BODY, LONG, Env, call

WF = {**BODY, "folds": 3, "mode": "rolling", "is_ratio": 2.0}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    base = tmp_path_factory.mktemp("robustness")
    server = EmbeddedRedis(base / "redis")
    env = Env(base, server.start())
    try:
        yield env
    finally:
        env.stop_workers()
        server.stop()


def wait_for(read: Any, until: tuple[str, ...], timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    data: dict[str, Any] = {}
    while time.monotonic() < deadline:
        data = read()
        if data["status"] in until:
            return data
        time.sleep(0.1)
    raise AssertionError(f"did not reach {until}: {data}")


def run_walk_forward(env: Env, body: dict[str, Any]) -> dict[str, Any]:
    answer = call(create_walk_forward, env.services, body=body)
    assert answer.status == 202, answer.payload
    wf_id = answer.payload["data"]["walk_forward_id"]
    path = {"walk_forward_id": wf_id}
    return wait_for(
        lambda: call(get_walk_forward, env.services, path=path).payload["data"],
        ("finished", "failed", "cancelled"),
    )


def sequential(body: dict[str, Any]) -> dict[str, Any]:
    sweep = {k: v for k, v in body.items() if k not in ("folds", "mode", "is_ratio")}
    config = parse_sweep(sweep, strategies=StrategyStore(ROOT / "lua-strategies"))
    return walk_forward(
        config,
        load_series(config.backtest.data),
        folds=body["folds"],
        mode=body["mode"],
        is_ratio=body["is_ratio"],
    )


def test_folds_on_two_workers_equal_the_sequential_run(env: Env) -> None:
    env.start_workers(2)
    data = run_walk_forward(env, WF)
    assert data["status"] == "finished" and data["progress"] == 1.0, data
    expected = sequential(WF)
    assert data["result"]["folds"] == expected["folds"]
    assert data["result"]["equity"] == expected["equity"]
    assert data["result"] == expected
    assert all(fold["status"] == "ok" for fold in expected["folds"])
    # one RQ job per fold ran it (any worker), then the gather job
    for fold in range(3):
        job = Job.fetch(fold_job_id(data["walk_forward_id"], fold), connection=env.services.redis)
        assert job.return_value()["status"] == "ok"
    assert len(WalkForwardStore(env.services.db).folds(data["walk_forward_id"])) == 3


def test_a_failing_fold_is_marked_failed_and_the_others_kept(env: Env) -> None:
    env.start_workers(2)
    code = (ROOT / "lua-strategies" / "examples" / "ema_crossover.lua").read_text()
    config = parse_sweep(BODY, strategies=StrategyStore(ROOT / "lua-strategies"))
    series = load_series(config.backtest.data)
    last = make_folds(len(series), 3, "rolling", 2.0)[-1]
    boom = int(series.timestamp[last.oos_start + 5])
    code = code.replace(
        "function detect_opportunity(market_data, context, indicators, position)\n",
        "function detect_opportunity(market_data, context, indicators, position)\n"
        f"  if market_data.timestamp >= {boom} then error('late data') end\n",
        1,
    )
    body = {**WF, "strategy": "late.lua", "strategy_code": code}
    data = run_walk_forward(env, body)
    assert data["status"] == "finished", data
    folds = data["result"]["folds"]
    assert [f["status"] for f in folds] == ["ok", "ok", "failed"]
    assert "late data" in folds[2]["error"] and folds[2]["params"] is None
    assert data["result"]["failed_folds"] == 1
    assert data["result"] == sequential(body)
    good = sequential(WF)["folds"]
    assert folds[:2] == good[:2]


def test_cancel_stops_every_fold(env: Env) -> None:
    env.start_workers(2)
    body = {**LONG, "folds": 4, "mode": "rolling", "is_ratio": 3.0}
    answer = call(create_walk_forward, env.services, body=body)
    wf_id = answer.payload["data"]["walk_forward_id"]
    path = {"walk_forward_id": wf_id}
    wait_for(lambda: call(get_walk_forward, env.services, path=path).payload["data"], ("running",))
    time.sleep(1.0)
    assert call(delete_walk_forward, env.services, path=path).payload["data"]["status"] == (
        "cancelled"
    )
    time.sleep(3)  # a fold polls every 0.5 s; a queued one exits at once
    store = WalkForwardStore(env.services.db)
    stored = len(store.folds(wf_id))
    time.sleep(3)
    assert len(store.folds(wf_id)) == stored < 4
    state = call(get_walk_forward, env.services, path=path).payload["data"]
    assert state["status"] == "cancelled" and state["result"] is None


def finished_backtest(env: Env) -> str:
    body = {"strategy": "ema_crossover", "symbol": "BTCUSDT", "timeframe": "1h", "preset": "90d"}
    backtest_id = submit_backtest(env.services, body)["backtest_id"]
    store = BacktestStore(env.services.db)
    deadline = time.monotonic() + 90
    while store.get(backtest_id).status != "finished":  # type: ignore[union-attr]
        assert time.monotonic() < deadline
        time.sleep(0.1)
    return str(backtest_id)


def test_candle_bootstrap_job_stores_the_in_process_result(env: Env) -> None:
    env.start_workers(1)
    backtest_id = finished_backtest(env)
    body = {"backtest_id": backtest_id, "paths": 40, "block": 48, "seed": 9}
    answer = call(create_bootstrap, env.services, body=body)
    assert answer.status == 202, answer.payload
    path = {"bootstrap_id": answer.payload["data"]["bootstrap_id"]}
    data = wait_for(
        lambda: call(get_bootstrap, env.services, path=path).payload["data"],
        ("finished", "failed", "cancelled"),
    )
    assert data["status"] == "finished", data
    assert data["done"] == data["paths"] == 40 and data["progress"] == 1.0
    job = Job.fetch(data["job_id"], connection=env.services.redis)
    assert job.get_meta(refresh=True)["done"] == 40
    record = BacktestStore(env.services.db).get(backtest_id)
    assert record is not None
    config = BacktestConfig.from_dict(record.config)
    expected = run_bootstrap(config, load_series(config.data), paths=40, block=48, seed=9)
    assert data["result"] == expected
    stored = BacktestStore(env.services.db).result(backtest_id)
    assert stored is not None
    assert data["result"]["original"]["trades"] == stored["metrics"]["num_trades"]
    assert data["result"]["original"]["final_return_pct"] == pytest.approx(
        stored["metrics"]["total_return_pct"]
    )
    done = call(delete_bootstrap, env.services, path=path).payload["data"]
    assert done["status"] == "finished"


def test_candle_bootstrap_bad_input_is_a_400(env: Env) -> None:
    backtest_id = finished_backtest(env)
    for body, words in [
        ({"backtest_id": "e" * 32}, "no backtest"),
        ({"backtest_id": backtest_id, "paths": 0}, "paths"),
        ({"backtest_id": backtest_id, "paths": 1001}, "paths"),
        ({"backtest_id": backtest_id, "block": 0}, "block"),
        ({"backtest_id": backtest_id, "block": 5000}, "block must be 1..2159"),
        ({"backtest_id": backtest_id, "seed": -1}, "seed"),
        ({"paths": 10}, "backtest_id"),
    ]:
        answer = call(create_bootstrap, env.services, body=body)
        assert answer.status == 400, (body, answer.payload)
        assert words in answer.payload["error"]["message"], answer.payload
    missing = call(get_bootstrap, env.services, path={"bootstrap_id": "f" * 32})
    assert missing.status == 404


def test_candle_bootstrap_cancel_stops_the_job(env: Env) -> None:
    env.start_workers(1)
    backtest_id = finished_backtest(env)
    body = {"backtest_id": backtest_id, "paths": 1000, "block": 30}
    answer = call(create_bootstrap, env.services, body=body)
    path = {"bootstrap_id": answer.payload["data"]["bootstrap_id"]}
    read = lambda: call(get_bootstrap, env.services, path=path).payload["data"]  # noqa: E731
    deadline = time.monotonic() + 60
    while read()["done"] < 1:
        assert time.monotonic() < deadline, read()
        time.sleep(0.05)
    assert call(delete_bootstrap, env.services, path=path).payload["data"]["status"] == (
        "cancelled"
    )
    time.sleep(2)  # the job looks every 0.5 s
    job = Job.fetch(read()["job_id"], connection=env.services.redis)
    wait_until_done = time.monotonic() + 10
    while not job.is_finished:
        assert time.monotonic() < wait_until_done
        time.sleep(0.1)
    assert job.return_value()["status"] == "cancelled"
    state = read()
    assert state["status"] == "cancelled" and state["result"] is None and state["done"] < 1000


def test_candle_bootstrap_of_a_killed_work_horse_reads_failed(env: Env) -> None:
    import os
    import signal

    import psutil

    env.start_workers(1)
    backtest_id = finished_backtest(env)
    body = {"backtest_id": backtest_id, "paths": 1000, "block": 30}
    answer = call(create_bootstrap, env.services, body=body)
    path = {"bootstrap_id": answer.payload["data"]["bootstrap_id"]}
    read = lambda: call(get_bootstrap, env.services, path=path).payload["data"]  # noqa: E731
    deadline = time.monotonic() + 60
    while read()["done"] < 1:
        assert time.monotonic() < deadline, read()
        time.sleep(0.05)
    horses = [c for w in env.workers for c in psutil.Process(w.pid).children(recursive=True)]
    assert horses, "the worker runs the job in a work-horse"
    for horse in horses:
        os.kill(horse.pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while (state := read())["status"] == "running":
        assert time.monotonic() < deadline, state
        time.sleep(0.2)
    assert state["status"] == "failed" and state["error"], state
    assert state["result"] is None and state["done"] < 1000
