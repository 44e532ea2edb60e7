"""Data jobs on a real Redis queue and a real in-process RQ worker, against a real
``ccxt.binanceus`` answering from recorded responses (tests/fixtures/ccxt)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis
from rq import Queue, SimpleWorker

from engine.data import exchange
from engine.data.candle_store import CandleStore
from engine.data.collection import run_collection
from engine.data.sessions import find_gaps
from engine.platform.settings import Settings
from engine.storage.collection_store import CollectionStore
from engine.storage.db import make_engine
from jobs.data import collect_job, download_job
from jobs.queue import RQJobQueue
from tests.data.recorded_exchange import MINUTE, RecordedBinanceUS, recorded_rows

ROWS = recorded_rows()
SINCE = int(ROWS[0][0])


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    url = f"sqlite:///{tmp_path / 'tradesim.db'}"
    monkeypatch.setenv("DATABASE_URL", url)  # what the jobs read
    engine = make_engine(Settings(data_dir=tmp_path, redis_url=None, database_url=url))
    yield engine
    engine.dispose()


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> RecordedBinanceUS:
    """The exchange every job gets from ``make_client``: ccxt with the recorded transport."""
    fake = RecordedBinanceUS(time.time)
    monkeypatch.setattr(exchange, "make_client", lambda exchange_id: fake.exchange)
    return fake


@pytest.fixture
def queue(redis_url: str, request: pytest.FixtureRequest) -> Queue:
    connection = redis.Redis.from_url(redis_url)
    return Queue(f"data-{request.node.name}", connection=connection)


def work(queue: Queue) -> None:
    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def test_download_job_stores_the_recorded_candles_with_a_session(db, recorded, queue) -> None:
    sessions = CollectionStore(db)
    session = sessions.start_session(
        kind="download", source="binanceus", symbol="ALTBTC", timeframe="1m", status="queued"
    )
    job = queue.enqueue(
        download_job,
        session["id"],
        exchange_id="binanceus",
        symbol="ALT/BTC",
        timeframe="1m",
        since_ms=SINCE,
    )
    work(queue)
    job.refresh()
    assert job.is_finished and job.return_value()["status"] == "ok"
    done = sessions.get_session(session["id"])
    assert done["status"] == "ok" and done["bars_added"] == len(ROWS) and done["finished_at"]
    stored = CandleStore(db).read("binanceus", "ALTBTC", "1m")
    assert np.array_equal(stored.timestamp, np.array([r[0] for r in ROWS], np.int64))
    assert np.array_equal(stored.close, np.array([r[4] for r in ROWS]))
    assert 0 < job.meta["progress"] <= 1 and "bars" in job.meta["stage"]


def test_a_failing_exchange_gives_a_failed_session_with_the_reason(db, recorded, queue) -> None:
    import ccxt

    def down(url: str) -> None:
        raise ccxt.ExchangeNotAvailable(
            "binanceus GET https://api.binance.us 503 Service Unavailable"
        )

    recorded.fail = down
    monkey = pytest.MonkeyPatch()
    monkey.setattr(exchange, "BACKOFF_S", 0.001)
    try:
        sessions = CollectionStore(db)
        session = sessions.start_session(
            kind="download", source="binanceus", symbol="ALTBTC", timeframe="1m"
        )
        job = queue.enqueue(
            download_job,
            session["id"],
            exchange_id="binanceus",
            symbol="ALT/BTC",
            timeframe="1m",
            since_ms=SINCE,
        )
        work(queue)
    finally:
        monkey.undo()
    job.refresh()
    assert job.is_finished  # the worker and the job survive: the session carries the failure
    failed = sessions.get_session(session["id"])
    assert failed["status"] == "failed"
    assert "503 Service Unavailable" in failed["error"] and "6 attempts" in failed["error"]


def test_cancel_stops_a_running_download_between_pages(db, recorded, queue) -> None:
    sessions = CollectionStore(db)
    session = sessions.start_session(
        kind="download", source="binanceus", symbol="ALTBTC", timeframe="1m"
    )
    jobs = RQJobQueue(queue.connection)
    pages = []

    def cancel_on_second_page(url: str) -> None:
        if "klines" in url:
            pages.append(url)
            if len(pages) == 2:
                jobs.cancel(job.id)  # as DELETE /api/market-data/sessions/<id> does

    recorded.fail = cancel_on_second_page
    job = queue.enqueue(
        download_job,
        session["id"],
        exchange_id="binanceus",
        symbol="ALT/BTC",
        timeframe="1m",
        since_ms=SINCE,
    )
    work(queue)
    assert sessions.get_session(session["id"])["status"] == "cancelled"
    assert len(pages) == 2
    assert len(CandleStore(db).read("binanceus", "ALTBTC", "1m")) == 2000


def test_collection_repairs_a_gap_in_the_middle_and_lists_what_cannot_be_filled(db) -> None:
    now = ROWS[-1][0] / 1000 + 90  # the last recorded candle has closed
    recorded = RecordedBinanceUS(lambda: now)
    store = CandleStore(db)
    exchange.download(recorded.exchange, store, "ALT/BTC", "1m", SINCE, now=lambda: now)
    times = np.array([r[0] for r in ROWS], np.int64)
    # a stretch of 200 consecutive minutes in the middle of the recording, then deleted
    run = np.flatnonzero(np.convolve(np.diff(times) == MINUTE, np.ones(199), "valid") == 199)
    i = int(run[len(run) // 2])
    hole = (int(times[i]), int(times[i + 199]))
    assert store.delete("binanceus", "ALTBTC", "1m", start_ms=hole[0], end_ms=hole[1]) == 200
    outcome = run_collection(
        store,
        source="binanceus",
        symbol="ALTBTC",
        timeframe="1m",
        since_ms=SINCE,
        client=recorded.exchange,
        now=lambda: now,
    )
    real = find_gaps(times, "1m", "24/7").gaps  # the recording's own missing minutes
    assert outcome.gaps_found == len(real) + 1 and outcome.gaps_filled == 1
    assert outcome.bars_added == 200 and outcome.last_bar_ms == int(ROWS[-1][0])
    assert outcome.unfilled == [[g.start_ms, g.end_ms, g.missing_bars] for g in real]
    stored = store.read("binanceus", "ALTBTC", "1m")
    assert np.array_equal(stored.timestamp, np.array([r[0] for r in ROWS], np.int64))
    # the repair asked for the hole's span, not once per gap
    klines = [r for r in recorded.requests if r["path"].endswith("/klines")]
    assert len(klines) < 20


def test_scheduled_collection_failure_backs_off_and_records_the_error(db, recorded, queue) -> None:
    import ccxt

    recorded.fail = lambda url: (_ for _ in ()).throw(ccxt.BadSymbol("binanceus Invalid symbol."))
    store = CollectionStore(db)
    row = store.add_job(
        source="binanceus", symbol="ALTBTC", timeframe="1m", interval_s=60, since_ms=SINCE
    )
    job = queue.enqueue(collect_job, row["id"], scheduled=True)
    store.update_job(row["id"], scheduled_job_id=job.id)
    monkey = pytest.MonkeyPatch()
    monkey.setattr("engine.data.collection.QUEUE", queue.name)
    try:
        work(queue)
    finally:
        monkey.undo()
    (session,) = store.list_sessions(job_id=row["id"])
    assert session["status"] == "failed" and "Invalid symbol" in session["error"]
    after = store.get_job(row["id"])
    assert after["status"] == "failed" and after["failures"] == 1
    assert "Invalid symbol" in after["last_error"]
    wait = (after["next_run_at"] - after["last_run_at"]).total_seconds()
    assert 119 <= wait <= 121  # interval * 2**failures
    assert after["scheduled_job_id"] not in (None, job.id)
