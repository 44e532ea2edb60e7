"""History and collection REST API through the real app (Flask test client), real Redis
(RQ queue), a migrated SQLite file, and a real in-process RQ worker for the jobs."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
from rq import Queue, SimpleWorker
from rq.registry import ScheduledJobRegistry

from app import create_app
from engine.data.bars import resample
from engine.data.csv_io import load_csv
from engine.platform.services import build_services
from engine.platform.settings import Settings
from engine.storage.db import make_engine

HOUR = 3_600_000


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("history-api")
    settings = Settings(
        data_dir=base,
        redis_url=redis_url,
        database_url=f"sqlite:///{base}/t.db",
        key_prefix="hist:",
    )
    mp = pytest.MonkeyPatch()
    mp.setenv("DATABASE_URL", settings.database_url)  # what the jobs read
    db = make_engine(settings)
    app = create_app(build_services(settings, redis_url, db))
    yield {"client": app.server.test_client(), "redis": redis.Redis.from_url(redis_url)}
    mp.undo()
    db.dispose()


@pytest.fixture
def client(env: dict[str, Any]) -> Any:
    return env["client"]


def data(response: Any, status: int = 200) -> Any:
    body = response.get_json()
    assert response.status_code == status, body
    assert body["status"] == "ok"
    return body["data"]


def problem(response: Any, status: int, text: str) -> dict[str, Any]:
    body = response.get_json()
    assert response.status_code == status, body
    assert body["status"] == "error" and text in body["error"]["message"], body
    return body["error"]


def run_worker(env: dict[str, Any]) -> None:
    SimpleWorker([Queue("data", connection=env["redis"])], connection=env["redis"]).work(burst=True)


def test_import_coverage_and_candles_with_paging(client, shared_data) -> None:
    text = (shared_data / "ALTBTC-1m.csv").read_text()
    preview = data(client.post("/api/history/import", json={"content": text, "preview": True}))
    assert preview["recognized"] and preview["rows"][0][0] == "2017-11-04 23:02:00"
    body = {"content": text, "filename": "ALTBTC-1m.csv", "symbol": "ALT/BTC"}
    first = data(client.post("/api/history/import", json=body), 201)
    again = data(client.post("/api/history/import", json=body), 201)
    assert (first["added"], again["added"], again["unchanged"]) == (13_681, 0, 13_681)
    (row,) = [c for c in data(client.get("/api/history")) if c["symbol"] == "ALTBTC"]
    assert (row["source"], row["bars"], row["gaps"], row["calendar"]) == (
        "csv:altbtc-1m",
        13_681,
        538,
        "24/7",
    )
    series = load_csv(shared_data / "ALTBTC-1m.csv", symbol="ALTBTC")
    hourly = resample(series, "1h")
    start = "2017-11-05T00:00:00Z"
    page = data(client.get(f"/api/history/ALTBTC?timeframe=1h&start={start}&limit=100"))
    assert page["source"] == "csv:altbtc-1m" and page["count"] == 100
    first_hour = int(datetime(2017, 11, 5, tzinfo=UTC).timestamp() * 1000)
    i = int((hourly.timestamp >= first_hour).argmax())
    assert [b["time"] for b in page["bars"]] == hourly.timestamp[i : i + 100].tolist()
    assert [b["close"] for b in page["bars"]] == hourly.close[i : i + 100].tolist()
    nxt = data(client.get(f"/api/history/ALTBTC?timeframe=1h&start={page['next']}&limit=100"))
    assert nxt["bars"][0]["time"] == hourly.timestamp[i + 100]
    ranged = data(
        client.get(f"/api/history/ALTBTC?timeframe=1m&start={first_hour}&end={first_hour + HOUR}")
    )
    expected = series.timestamp[
        (series.timestamp >= first_hour) & (series.timestamp <= first_hour + HOUR)
    ]
    assert [b["time"] for b in ranged["bars"]] == expected.tolist() and ranged["next"] is None


def test_import_with_column_mapping_and_bad_rows(client) -> None:
    text = "Date,O,H,L,C,Vol\n2024-01-01,1,2,0.5,1.5,10\n2024-01-02,1,2,0.5,1.5,11\n"
    preview = data(client.post("/api/history/import", json={"content": text, "preview": True}))
    assert not preview["recognized"] and preview["mapping"]["open"] is None
    mapping = {"time": "Date", "open": "O", "high": "H", "low": "L", "close": "C", "volume": "Vol"}
    body = {"content": text, "symbol": "XYZ", "columns": mapping, "source": "csv:mine"}
    assert data(client.post("/api/history/import", json=body), 201)["added"] == 2
    bad = text + "2024-01-03,1,2,0.5,oops,12\n"
    problem(
        client.post("/api/history/import", json={**body, "content": bad, "filename": "x.csv"}),
        400,
        "x.csv:4: column 'close': 'oops' is not a number",
    )
    problem(
        client.post("/api/history/import", json={"content": text, "symbol": "XYZ"}),
        400,
        "missing column(s): open, high, low, close, volume",
    )
    problem(
        client.get("/api/history/XYZ?start=yesterday"),
        400,
        "query.start got 'yesterday'; expected ms since the epoch or ISO-8601",
    )
    problem(client.get("/api/history/XYZ?timeframe=2m"), 400, "query.timeframe should be '1m'")
    problem(
        client.get("/api/history/XYZ?limit=0"),
        400,
        "query.limit should be greater than or equal to 1",
    )
    # nothing stored and not a simulated symbol: there is no such history
    problem(client.get("/api/history/NOPE?start=1704067200000"), 404, "unknown symbol 'NOPE'")


def test_simulated_history_is_served_by_default(client) -> None:
    got = data(client.get("/api/history/SOLUSDT?timeframe=4h&limit=30"))
    assert got["source"] == "sim" and got["count"] == 30
    times = [b["time"] for b in got["bars"]]
    assert all(b - a == 4 * HOUR for a, b in itertools.pairwise(times))


def test_openapi_describes_the_new_routes(client) -> None:
    from openapi_spec_validator import validate

    spec = client.get("/api/openapi.json").get_json()
    validate(spec)
    assert spec["paths"]["/api/history/download"]["post"]["requestBody"]["required"]
    params = {p["name"] for p in spec["paths"]["/api/history/{symbol}"]["get"]["parameters"]}
    assert {"symbol", "timeframe", "start", "end", "source", "limit"} <= params
    assert "202" in spec["paths"]["/api/collection/{collection_id}/run"]["post"]["responses"]


def test_scheduled_sim_collection_runs_on_rq_scheduler_and_reschedules(env, client) -> None:
    from rq.scheduler import RQScheduler

    since = int(datetime.now(UTC).timestamp() * 1000) // HOUR * HOUR - 48 * HOUR
    job = data(
        client.post(
            "/api/collection",
            json={"source": "sim", "symbol": "BNBUSDT", "timeframe": "1h", "since": str(since)},
        ),
        201,
    )
    assert job["interval_s"] == 3600 and job["scheduled_job_id"]
    conflict = {"source": "sim", "symbol": "BNBUSDT", "timeframe": "1h"}
    problem(client.post("/api/collection", json=conflict), 409, "exists already")
    registry = ScheduledJobRegistry("data", connection=env["redis"])
    assert job["scheduled_job_id"] in registry.get_job_ids()
    scheduler = RQScheduler(["data"], connection=env["redis"])  # what --with-scheduler runs
    scheduler.acquire_locks()
    scheduler.enqueue_scheduled_jobs()  # the first run is due now
    scheduler.release_locks()
    run_worker(env)
    (session,) = data(client.get(f"/api/collection/{job['id']}/sessions"))
    assert session["status"] == "ok" and session["kind"] == "collection"
    assert session["bars_added"] in (47, 48)  # the bars closed since `since`
    after = data(client.get("/api/collection"))[0]
    assert after["status"] == "ok" and after["last_run_at"] and after["last_bar_ms"]
    assert after["scheduled_job_id"] != job["scheduled_job_id"]
    assert after["scheduled_job_id"] in registry.get_job_ids()  # the next run is scheduled
    due = datetime.fromisoformat(after["next_run_at"])
    assert 3500 <= (due - datetime.now(UTC)).total_seconds() <= 3601
    # manual trigger: one more session, schedule unchanged
    queued = data(client.post("/api/market-data/auto-collect", json={}), 202)
    assert [s["status"] for s in queued] == ["queued"]
    run_worker(env)
    sessions = data(client.get(f"/api/collection/{job['id']}/sessions"))
    assert [s["status"] for s in sessions] == ["ok", "ok"] and sessions[0]["bars_added"] == 0
    assert data(client.get("/api/collection"))[0]["scheduled_job_id"] == after["scheduled_job_id"]
    # disable drops the pending run; delete removes the job
    off = data(client.put(f"/api/collection/{job['id']}", json={"enabled": False}))
    assert off["status"] == "disabled" and off["scheduled_job_id"] is None
    assert after["scheduled_job_id"] not in registry.get_job_ids()
    assert data(client.delete(f"/api/collection/{job['id']}")) == {"deleted": job["id"]}
    problem(client.post(f"/api/collection/{job['id']}/run"), 404, "no collection job")


def test_a_session_whose_job_vanished_is_marked_failed(env, client) -> None:
    from datetime import timedelta

    from engine.storage.collection_store import CollectionStore
    from engine.storage.db import make_engine

    db = make_engine(Settings.from_env())
    store = CollectionStore(db)
    session = store.start_session(
        kind="download",
        source="binanceus",
        symbol="BTCUSDT",
        timeframe="1m",
        rq_job_id="download-gone",
    )
    store.update_session(session["id"], started_at=datetime.now(UTC) - timedelta(minutes=5))
    (row,) = [s for s in data(client.get("/api/market-data/sessions")) if s["id"] == session["id"]]
    assert row["status"] == "failed" and "gone from the queue" in row["error"]
    problem(client.delete(f"/api/market-data/sessions/{session['id']}"), 409, "is failed")
    db.dispose()
