"""Candle store on a real SQLite file (and PostgreSQL when TRADESIM_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from engine.data.bars import resample
from engine.data.candle_store import CandleStore
from engine.data.csv_io import load_csv
from engine.data.history import MarketData
from engine.platform.settings import Settings
from engine.storage.db import make_engine
from tests.conftest import reference_rows

POSTGRES_URL = os.environ.get("TRADESIM_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CandleStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tradesim.db'}"
    elif POSTGRES_URL:
        url = POSTGRES_URL
    else:
        pytest.skip("set TRADESIM_TEST_POSTGRES_URL to run against PostgreSQL")
    db = make_engine(Settings(data_dir=tmp_path, redis_url=None, database_url=url))
    with db.begin() as conn:  # a shared PostgreSQL database may hold earlier runs' rows
        conn.execute(sa.text("DELETE FROM candles"))
        conn.execute(sa.text("DELETE FROM candle_series"))
    yield CandleStore(db)
    db.dispose()


def test_import_is_idempotent_and_reads_equal_the_csv_bar_for_bar(store, shared_data) -> None:
    data = MarketData(store)
    first = data.import_csv(shared_data / "ALTBTC-1m.csv", symbol="ALTBTC")
    again = data.import_csv(shared_data / "ALTBTC-1m.csv", symbol="ALTBTC")
    assert (first.added, first.bars, again.added) == (13_681, 13_681, 0)
    assert first.source == "csv:altbtc-1m"
    (cov,) = store.coverage()
    assert (cov.symbol, cov.timeframe, cov.bars) == ("ALTBTC", "1m", 13_681)
    stored = store.read("csv:altbtc-1m", "ALTBTC", "1m")
    expected = reference_rows(shared_data / "ALTBTC-1m.csv")  # parsed by the csv module only
    got = list(
        zip(
            stored.timestamp.tolist(),
            stored.open.tolist(),
            stored.high.tolist(),
            stored.low.tolist(),
            stored.close.tolist(),
            stored.volume.tolist(),
            strict=True,
        )
    )
    assert got == sorted(expected)


def test_range_reads_limits_and_latest(store, shared_data) -> None:
    series = load_csv(shared_data / "EURUSD.csv")
    store.insert("csv:eurusd", series)
    a, b = int(series.timestamp[100]), int(series.timestamp[200])
    part = store.read("csv:eurusd", "EURUSD", "1h", start_ms=a, end_ms=b)
    assert np.array_equal(part.close, series.close[100:201])
    first = store.read("csv:eurusd", "EURUSD", "1h", start_ms=a, limit=5)
    assert np.array_equal(first.timestamp, series.timestamp[100:105])
    latest = store.read("csv:eurusd", "EURUSD", "1h", limit=3, latest=True)
    assert np.array_equal(latest.timestamp, series.timestamp[-3:])
    assert len(store.read("csv:eurusd", "EURUSD", "4h")) == 0
    assert store.delete("csv:eurusd", "EURUSD", "1h", start_ms=a, end_ms=b) == 101
    assert store.coverage()[0].bars == len(series) - 101
    assert store.delete("csv:eurusd", "EURUSD", "1h") == len(series) - 101
    assert store.coverage() == []


def test_resampled_reads_equal_the_resampler_and_invent_no_bars(store, shared_data) -> None:
    series = load_csv(shared_data / "ALTBTC-1m.csv", symbol="ALTBTC")
    store.insert("csv:alt", series)
    data = MarketData(store)
    lo, hi = int(series.timestamp[0]), int(series.timestamp[-1])
    for timeframe in ("5m", "15m", "1h", "4h", "1d"):
        source, got = data.read("ALTBTC", timeframe, start_ms=lo, end_ms=hi)
        want = resample(series, timeframe)
        assert source == "csv:alt"
        assert np.array_equal(got.timestamp, want.timestamp), timeframe
        for name in ("open", "high", "low", "close", "volume"):
            assert np.array_equal(getattr(got, name), getattr(want, name)), (timeframe, name)
    # the latest 10 hourly bars without a range
    _, latest = data.read("ALTBTC", "1h", limit=10)
    assert np.array_equal(latest.timestamp, resample(series, "1h").timestamp[-10:])


def test_a_bad_row_stores_nothing(store, tmp_path) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(
        "time,open,high,low,close,volume\n"
        "2024-01-01 00:00:00,1,2,0.5,1.5,10\n"
        "2024-01-01 00:01:00,1,2,0.5,abc,10\n"
    )
    with pytest.raises(Exception, match=r"bad.csv:3: column 'close': 'abc' is not a number"):
        MarketData(store).import_csv(path, symbol="BTCUSDT")
    assert store.coverage() == []


def test_simulated_source_generates_once_and_serves_the_same_bars(store) -> None:
    data = MarketData(store)
    start = 1_704_067_200_000 + 3 * 3_600_000  # 2024-01-01 03:00
    source, first = data.read("ETHUSDT", "1h", source="sim", start_ms=start, limit=48)
    assert source == "sim" and len(first) == 48 and first.timestamp[0] == start
    _, wider = data.read("ETHUSDT", "1h", source="sim", start_ms=start - 3 * 3_600_000, limit=96)
    assert np.array_equal(wider.close[3:51], first.close)  # cached bars are the same bars
    from engine.data.simulated import generate_history

    reference = generate_history("ETHUSDT", "1h", 99)
    assert np.array_equal(wider.close, reference.close[:96])
