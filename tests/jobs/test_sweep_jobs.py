"""Sweeps end to end on real RQ workers (forking work-horses), real Redis and SQLite, through
the API handlers: fan-out over 1 and 2 workers gives the same table, a killed work-horse's
chunk is retried once (then failed, without losing the other chunks), cancel stops all."""

from __future__ import annotations

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
from rq import Worker

from engine.api.core import ApiRequest, ApiResponse
from engine.api.dispatch import respond
from engine.api.sweeps import create, delete, listing, results, status
from engine.platform.redis_server import EmbeddedRedis
from engine.platform.services import Services, build_services
from engine.platform.settings import Settings
from engine.storage.db import make_engine
from jobs.queue import RQJobQueue
from jobs.sweep import chunk_job_id
from tests.conftest import ROOT

BODY = {
    "strategy": "ema_crossover",
    "symbol": "BTCUSDT",
    "timeframe": "1h",
    "source": "sim",
    "start": "2024-01-01",
    "end": "2024-04-01",
    "space": {"fast": {"min": 4, "max": 12, "step": 2}, "slow": {"values": [20, 30, 45]}},
    "chunk_size": 3,
}
LONG = {
    **BODY,
    "timeframe": "1m",
    "start": "2024-01-01",
    "end": "2024-04-01",
    "space": {"fast": {"min": 4, "max": 15}, "slow": {"values": [30, 60]}},
    "chunk_size": 4,
}


class Env:
    def __init__(self, base: Path, url: str) -> None:
        self.base = base
        settings = Settings(data_dir=base, redis_url=url, database_url=f"sqlite:///{base}/t.db")
        self.services = build_services(settings, url, make_engine(settings), jobs=RQJobQueue)
        self.child = {
            **os.environ,
            "REDIS_URL": url,
            "DATABASE_URL": settings.database_url,
            "TRADESIM_DATA_DIR": str(base),
        }
        self.workers: list[subprocess.Popen[bytes]] = []

    def start_workers(self, n: int) -> None:
        while len(self.workers) < n:
            log = open(self.base / f"worker{len(self.workers)}.log", "w")  # noqa: SIM115
            self.workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "jobs.worker"],
                    cwd=ROOT,
                    env=self.child,
                    stdout=subprocess.DEVNULL,
                    stderr=log,
                )
            )

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.terminate()
        for worker in self.workers:
            try:
                worker.wait(15)
            except subprocess.TimeoutExpired:
                worker.kill()
        self.workers = []


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    base = tmp_path_factory.mktemp("sweeps")
    server = EmbeddedRedis(base / "redis")
    url = server.start()
    env = Env(base, url)
    try:
        yield env
    finally:
        env.stop_workers()
        server.stop()


def call(handler: Any, services: Services, **request: Any) -> ApiResponse:
    return respond(handler, services, ApiRequest(**request))


def submit(env: Env, body: dict[str, Any]) -> str:
    response = call(create, env.services, body=body)
    assert response.status == 202, response.payload
    return str(response.payload["data"]["sweep_id"])


def wait(env: Env, sweep_id: str, until: tuple[str, ...], timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    data: dict = {}
    while time.monotonic() < deadline:
        data = call(status, env.services, path={"sweep_id": sweep_id}).payload["data"]
        if data["status"] in until:
            return data
        time.sleep(0.1)
    raise AssertionError(f"sweep {sweep_id} did not reach {until}: {data}")


def table(env: Env, sweep_id: str) -> list[tuple]:
    rows = call(results, env.services, path={"sweep_id": sweep_id}).payload["data"]["results"]
    return [
        (r["combo_index"], r["params"], r["status"], r["objective"], r["metrics"]["num_trades"])
        for r in rows
    ]


def test_two_workers_give_the_same_table_as_one(env: Env) -> None:
    env.start_workers(1)
    one = submit(env, BODY)
    first = wait(env, one, ("finished", "failed"))
    assert first["status"] == "finished" and first["done"] == first["total"] == 15
    env.start_workers(2)
    two = submit(env, BODY)
    second = wait(env, two, ("finished", "failed"))
    assert second["status"] == "finished" and second["progress"] == 1.0
    assert table(env, one) == table(env, two)
    assert all(row[2] == "ok" for row in table(env, one))
    assert first["best"]["combo_index"] == second["best"]["combo_index"]
    listed = call(listing, env.services, query={"status": "finished"}).payload["data"]
    assert {one, two} <= {s["sweep_id"] for s in listed}
    assert "strategy_code" not in listed[0]["config"]["backtest"]


def _horse_running(env: Env, job_id: str, timeout: float = 60) -> int:
    """The pid of the work-horse running ``job_id`` (the chunk job records it in its meta)."""
    from rq.job import Job

    connection = env.services.redis
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(w.get_current_job_id() == job_id for w in Worker.all(connection=connection)):
            pid = Job.fetch(job_id, connection=connection).get_meta(refresh=True).get("pid")
            if pid is not None and psutil.pid_exists(int(pid)):
                return int(pid)
        time.sleep(0.02)
    raise AssertionError(f"no work-horse took {job_id}")


def test_killed_chunk_is_retried_once_then_failed_without_losing_the_others(env: Env) -> None:
    env.stop_workers()
    env.start_workers(1)
    # chunk 1 is killed once: its retry finishes it; chunk 3 is killed twice: it fails
    sweep_id = submit(env, LONG)
    for chunk, kills in ((1, 1), (3, 2)):
        for _ in range(kills):
            pid = _horse_running(env, chunk_job_id(sweep_id, chunk))
            time.sleep(0.2)  # let it finish a combination first
            os.kill(pid, signal.SIGKILL)
            time.sleep(0.5)
    final = wait(env, sweep_id, ("finished", "failed", "cancelled"), timeout=240)
    assert final["status"] == "finished", final
    rows = call(results, env.services, path={"sweep_id": sweep_id}).payload["data"]["results"]
    assert len(rows) == final["total"] == 24
    assert final["pending"] == 0 and final["ok"] + final["failed"] == 24
    by_chunk: dict[int, set[str]] = {}
    for row in rows:
        by_chunk.setdefault(row["chunk"], set()).add(row["status"])
    assert by_chunk[1] == {"ok"}  # retried once and completed
    assert "failed" in by_chunk[3]
    assert all(by_chunk[c] == {"ok"} for c in by_chunk if c != 3)
    lost = [r for r in rows if r["status"] == "failed"]
    assert all("died twice" in r["error"] for r in lost)
    assert final["best"] is not None and final["best"]["combo_index"] not in {
        r["combo_index"] for r in lost
    }


def test_cancel_stops_every_chunk(env: Env) -> None:
    env.stop_workers()
    env.start_workers(2)
    sweep_id = submit(env, LONG)
    wait(env, sweep_id, ("running",))
    deadline = time.monotonic() + 60
    while call(status, env.services, path={"sweep_id": sweep_id}).payload["data"]["done"] < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    answer = call(delete, env.services, path={"sweep_id": sweep_id}).payload["data"]
    assert answer["status"] == "cancelled"
    time.sleep(3)  # a chunk polls every 0.5 s; a queued one exits at once
    done = call(status, env.services, path={"sweep_id": sweep_id}).payload["data"]
    time.sleep(2)
    later = call(status, env.services, path={"sweep_id": sweep_id}).payload["data"]
    assert done["status"] == later["status"] == "cancelled"
    assert later["done"] == done["done"] < later["total"]  # nothing ran after the cancel
    gone = call(delete, env.services, path={"sweep_id": sweep_id}).payload["data"]
    assert gone["status"] == "deleted"
    assert call(status, env.services, path={"sweep_id": sweep_id}).status == 404


def test_bad_body_is_a_400_naming_the_field(env: Env) -> None:
    bad = call(create, env.services, body={**BODY, "space": {"fast": {"min": 1, "max": 9}}})
    assert bad.status == 400 and "minimum" in bad.payload["error"]["message"]
    unknown = call(create, env.services, body={**BODY, "method": "anneal"})
    assert unknown.status == 400
    assert call(status, env.services, path={"sweep_id": "0" * 32}).status == 404


def test_walk_forward_job_gives_the_in_process_result(env: Env) -> None:
    from engine.api.robustness import create_walk_forward, delete_walk_forward, get_walk_forward
    from engine.backtest.data_spec import load_series
    from engine.optimize.request import parse_sweep
    from engine.optimize.walkforward import walk_forward
    from engine.strategy.store import StrategyStore

    env.start_workers(1)
    body = {**BODY, "folds": 3, "mode": "anchored", "is_ratio": 2.0}
    answer = call(create_walk_forward, env.services, body=body)
    assert answer.status == 202, answer.payload
    wf_id = answer.payload["data"]["walk_forward_id"]
    deadline = time.monotonic() + 120
    while True:
        state = call(get_walk_forward, env.services, path={"walk_forward_id": wf_id})
        data = state.payload["data"]
        if data["status"] not in ("queued", "running"):
            break
        assert time.monotonic() < deadline, data
        time.sleep(0.1)
    assert data["status"] == "finished", data
    config = parse_sweep(BODY, strategies=StrategyStore(ROOT / "lua-strategies"))
    expected = walk_forward(
        config, load_series(config.backtest.data), folds=3, mode="anchored", is_ratio=2.0
    )
    assert data["result"]["folds"] == expected["folds"]
    assert data["result"]["efficiency"] == expected["efficiency"]
    done = call(delete_walk_forward, env.services, path={"walk_forward_id": wf_id})
    assert done.payload["data"]["status"] == "finished"
    bad = call(create_walk_forward, env.services, body={**body, "folds": 500})
    assert bad.status == 400 and "folds" in bad.payload["error"]["message"]
    missing = call(get_walk_forward, env.services, path={"walk_forward_id": "f" * 32})
    assert missing.status == 404


def test_lookahead_check_job_says_identical(env: Env) -> None:
    from engine.api.backtests import submit as submit_backtest
    from engine.api.robustness import create_lookahead, get_lookahead
    from engine.storage.backtest_store import BacktestStore

    env.start_workers(1)
    backtest_id = submit_backtest(
        env.services,
        {"strategy": "ema_crossover", "symbol": "BTCUSDT", "timeframe": "1h", "preset": "90d"},
    )["backtest_id"]
    deadline = time.monotonic() + 60
    while BacktestStore(env.services.db).get(backtest_id).status != "finished":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    answer = call(create_lookahead, env.services, body={"backtest_id": backtest_id})
    assert answer.status == 202, answer.payload
    check_id = answer.payload["data"]["check_id"]
    while True:
        data = call(get_lookahead, env.services, path={"check_id": check_id}).payload["data"]
        if data["status"] in ("finished", "failed"):
            break
        assert time.monotonic() < deadline + 60, data
        time.sleep(0.1)
    assert data["status"] == "finished", data
    assert data["result"]["identical"] and data["result"]["trades"] > 2
    assert call(create_lookahead, env.services, body={"backtest_id": "e" * 32}).status == 404
