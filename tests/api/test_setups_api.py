"""Trading setups and signals through the real app (Flask test client), real Redis (RQ), a
migrated SQLite file and a real in-process RQ worker for the signal jobs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis
from rq import Queue, SimpleWorker
from rq.scheduler import RQScheduler

from app import create_app
from engine.platform.services import build_services
from engine.platform.settings import Settings
from engine.storage.collection_store import CollectionStore
from engine.storage.db import make_engine
from jobs.queue import RQJobQueue
from tests.conftest import ROOT

BODY = {
    "symbol": "BTCUSDT",
    "timeframes": ["1h", "4h", "1d"],
    "indicators": ["sma_20", "rsi_14"],
    "strategies": ["ema_crossover", "macd_cross"],
}


@pytest.fixture
def env(tmp_path, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    settings = Settings(
        data_dir=tmp_path,
        redis_url=redis_url,
        database_url=f"sqlite:///{tmp_path}/t.db",
        strategy_dir=ROOT / "lua-strategies",
        key_prefix="setups:",
    )
    monkeypatch.setenv("DATABASE_URL", settings.database_url)  # what the jobs read
    monkeypatch.setenv("TRADESIM_STRATEGY_DIR", str(settings.strategy_dir))
    db = make_engine(settings)
    connection = redis.Redis.from_url(redis_url)
    for name in ("signals", "data"):
        Queue(name, connection=connection).empty()
    app = create_app(build_services(settings, redis_url, db, RQJobQueue))
    yield {"client": app.server.test_client(), "redis": connection, "db": db}
    db.dispose()


def data(response: Any, status: int = 200) -> Any:
    body = response.get_json()
    assert response.status_code == status, body
    return body["data"]


def problem(response: Any, status: int, text: str) -> dict[str, Any]:
    body = response.get_json()
    assert response.status_code == status, body
    assert text in body["error"]["message"], body
    return body["error"]


def run_signals(env: dict[str, Any]) -> int:
    queue = Queue("signals", connection=env["redis"])
    count = queue.count
    SimpleWorker([queue], connection=env["redis"]).work(burst=True)
    return count


def test_create_schedules_collection_and_signals(env) -> None:
    client = env["client"]
    created = data(client.post("/api/trading-setup/create", json=BODY), 201)
    sid = created["setup_id"]
    assert created["chart_urls"] == [
        f"/chart/BTCUSDT/{tf}?indicators=sma_20,rsi_14&strategies=ema_crossover,macd_cross"
        f"&setup={sid}"
        for tf in ("1h", "4h", "1d")
    ]
    jobs = CollectionStore(env["db"]).list_jobs()
    assert sorted((j["source"], j["symbol"], j["timeframe"], j["enabled"]) for j in jobs) == [
        ("sim", "BTCUSDT", tf, True) for tf in ("1d", "1h", "4h")
    ]
    assert all(j["scheduled_job_id"] for j in jobs)
    assert created["setup"]["collection_ids"] == sorted(created["setup"]["collection_ids"])
    assert run_signals(env) == 1  # the initial calculation
    signals = data(client.get(f"/api/signals?setup_id={sid}&limit=1000"))
    assert {s["timeframe"] for s in signals} == {"1h", "4h", "1d"}
    assert {s["strategy"] for s in signals} <= {"ema_crossover", "macd_cross"}
    times = [s["time"] for s in signals]
    assert times == sorted(times, reverse=True)  # newest first
    assert set(signals[0]["indicators"]) == {"sma(20)", "rsi(14)"}
    # recomputation through the API adds nothing new
    data(client.post("/api/strategies/calculate", json={"setup_id": sid}), 202)
    run_signals(env)
    assert len(data(client.get(f"/api/signals?setup_id={sid}&limit=1000"))) == len(signals)
    one = data(client.get(f"/api/trading-setup/{sid}"))
    assert one["last_signal"]["id"] == signals[0]["id"]
    assert all(one["last_bar_ms"][tf] for tf in ("1h", "4h", "1d"))
    only = data(client.get(f"/api/signals?setup_id={sid}&strategy=macd_cross&timeframe=4h"))
    assert only and {(s["strategy"], s["timeframe"]) for s in only} == {("macd_cross", "4h")}


def test_validation_names_the_field(env) -> None:
    client = env["client"]
    cases = [
        ({**BODY, "symbol": "NOPE"}, "body.symbol"),
        ({**BODY, "timeframes": []}, "body.timeframes"),
        ({**BODY, "timeframes": ["2h"]}, "body.timeframes"),
        ({**BODY, "indicators": ["foo_3"]}, "body.indicators: unknown indicator 'foo_3'"),
        ({**BODY, "indicators": ["sma_0"]}, "body.indicators: 'sma_0': sma(n): n must be"),
        ({**BODY, "strategies": ["nothere"]}, "body.strategies: "),
        ({"symbol": "BTCUSDT"}, "body.timeframes is required"),
    ]
    for body, text in cases:
        problem(client.post("/api/trading-setup/create", json=body), 400, text)
    assert CollectionStore(env["db"]).list_jobs() == []
    assert data(client.get("/api/trading-setup")) == []
    problem(client.get("/api/trading-setup/999"), 404, "no trading setup 999")
    problem(client.post("/api/strategies/calculate", json={"symbol": "BTCUSDT"}), 400, "missing")


def test_pause_resume_update_and_delete_stop_what_the_setup_started(env) -> None:
    client, db = env["client"], env["db"]
    sid = data(client.post("/api/trading-setup/create", json=BODY), 201)["setup_id"]
    other = {**BODY, "timeframes": ["1h"]}
    sid2 = data(client.post("/api/trading-setup/create", json=other), 201)["setup_id"]
    collections = CollectionStore(db)
    assert len(collections.list_jobs()) == 3  # the second setup reuses the 1h job
    paused = data(client.post(f"/api/trading-setup/{sid}/pause"))
    assert paused["status"] == "paused"
    enabled = {j["timeframe"]: j["enabled"] for j in collections.list_jobs()}
    assert enabled == {"1h": True, "4h": False, "1d": False}  # setup 2 still watches 1h
    run_signals(env)
    assert data(client.get(f"/api/signals?setup_id={sid}")) == []  # paused: no signals
    problem(client.post("/api/strategies/calculate", json={"setup_id": sid}), 409, "paused")
    resumed = data(client.post(f"/api/trading-setup/{sid}/resume"))
    assert resumed["status"] == "active"
    assert all(j["enabled"] for j in collections.list_jobs())
    changed = data(client.put(f"/api/trading-setup/{sid}", json={"timeframes": ["4h"]}))
    assert changed["timeframes"] == ["4h"] and len(changed["chart_urls"]) == 1
    assert sorted(j["timeframe"] for j in collections.list_jobs()) == ["1h", "4h"]
    data(client.delete(f"/api/trading-setup/{sid}"))
    assert [j["timeframe"] for j in collections.list_jobs()] == ["1h"]  # setup 2's series
    problem(client.get(f"/api/trading-setup/{sid}"), 404, "no trading setup")
    data(client.delete(f"/api/trading-setup/{sid2}"))
    assert collections.list_jobs() == []


def test_adhoc_calculation_stores_signals_without_a_setup(env) -> None:
    client = env["client"]
    body = {"symbol": "ETHUSDT", "timeframe": "4h", "strategies": ["ema_crossover"]}
    queued = data(client.post("/api/strategies/calculate", json=body), 202)
    assert queued["setup_id"] == 0
    run_signals(env)
    rows = data(client.get("/api/signals?setup_id=0&symbol=ETHUSDT"))
    assert rows and {r["strategy"] for r in rows} == {"ema_crossover"}
    before = len(data(client.get("/api/signals?setup_id=0&limit=1000")))
    data(client.post("/api/strategies/calculate", json=body), 202)
    run_signals(env)
    assert len(data(client.get("/api/signals?setup_id=0&limit=1000"))) == before


def test_collection_that_adds_bars_queues_the_setups_signals(env) -> None:
    client, connection = env["client"], env["redis"]
    body = {**BODY, "timeframes": ["4h"]}
    sid = data(client.post("/api/trading-setup/create", json=body), 201)["setup_id"]
    Queue("signals", connection=connection).empty()  # drop the initial calculation
    scheduler = RQScheduler(["data"], connection=connection)  # what --with-scheduler runs
    scheduler.acquire_locks()
    scheduler.enqueue_scheduled_jobs()  # the first collection run is due now
    scheduler.release_locks()
    SimpleWorker([Queue("data", connection=connection)], connection=connection).work(burst=True)
    (job,) = CollectionStore(env["db"]).list_jobs()
    (session,) = CollectionStore(env["db"]).list_sessions(job_id=job["id"])
    assert session["status"] == "ok" and session["bars_added"] > 0
    assert run_signals(env) == 1  # queued by the collection run
    assert data(client.get(f"/api/signals?setup_id={sid}&timeframe=4h"))
