"""Exchange download on recorded Binance US responses through a real ccxt client."""

from __future__ import annotations

from pathlib import Path

import ccxt
import numpy as np
import pytest

from engine.data.candle_store import CandleStore
from engine.data.exchange import DownloadCancelled, download, market_symbol
from engine.errors import ConfigError, DataError
from engine.platform.settings import Settings
from engine.storage.db import make_engine
from tests.data.recorded_exchange import MINUTE, RecordedBinanceUS, recorded_rows


@pytest.fixture
def store(tmp_path: Path) -> CandleStore:
    db = make_engine(
        Settings(data_dir=tmp_path, redis_url=None, database_url=f"sqlite:///{tmp_path}/t.db")
    )
    yield CandleStore(db)
    db.dispose()


@pytest.fixture(scope="module")
def rows() -> list[list[float]]:
    return recorded_rows()


def test_download_pages_through_ccxt_and_never_stores_the_forming_candle(store, rows) -> None:
    now = rows[-1][0] / 1000 + 20  # 20 s into the last recorded candle: it is still forming
    recorded = RecordedBinanceUS(lambda: now)
    seen: list[tuple[int, int]] = []
    result = download(
        recorded.exchange,
        store,
        "ALT/BTC",
        "1m",
        int(rows[0][0]),
        progress=lambda fetched, expected: seen.append((fetched, expected)),
        now=lambda: now,
    )
    klines = [r for r in recorded.requests if r["path"].endswith("/klines")]
    assert len(klines) >= 4 and all(int(r["limit"]) <= 1000 for r in klines)
    # each page starts one minute after the last candle of the previous page
    assert [int(r["startTime"]) for r in klines[:4]] == [
        int(rows[0][0]),
        int(rows[999][0]) + MINUTE,
        int(rows[1999][0]) + MINUTE,
        int(rows[2999][0]) + MINUTE,
    ]
    stored = store.read("binanceus", "ALTBTC", "1m")
    expected = np.array(rows[:-1])  # all but the forming candle
    assert result.added == result.fetched == len(expected) == len(stored)
    assert np.array_equal(stored.timestamp, expected[:, 0].astype(np.int64))
    for i, name in enumerate(("open", "high", "low", "close", "volume"), start=1):
        assert np.array_equal(getattr(stored, name), expected[:, i])
    assert seen[-1][0] == len(expected) and seen[-1][1] >= len(expected)
    again = download(recorded.exchange, store, "ALTBTC", "1m", int(rows[0][0]), now=lambda: now)
    assert again.added == 0 and again.fetched == len(expected)  # idempotent


def test_network_errors_are_retried_with_backoff(store, rows) -> None:
    now = rows[1500][0] / 1000
    recorded = RecordedBinanceUS(lambda: now)
    failures = iter([True, True, False] * 100)

    def flaky(url: str) -> None:
        if "klines" in url and next(failures):
            raise ccxt.RequestTimeout(f"binanceus GET {url} request timeout")

    recorded.fail = flaky
    sleeps: list[float] = []
    result = download(
        recorded.exchange,
        store,
        "ALT/BTC",
        "1m",
        int(rows[0][0]),
        now=lambda: now,
        sleep=sleeps.append,
    )
    assert result.fetched == 1500
    assert sleeps[:2] == [1.0, 2.0]  # exponential backoff before each retry


def test_an_unreachable_exchange_fails_with_the_reason(store, rows) -> None:
    recorded = RecordedBinanceUS(lambda: rows[100][0] / 1000)

    def down(url: str) -> None:
        if "klines" in url:
            raise ccxt.ExchangeNotAvailable("binanceus GET /api/v3/klines 503 Service Unavailable")

    recorded.fail = down
    with pytest.raises(DataError, match=r"after 3 attempts.*503 Service Unavailable"):
        download(
            recorded.exchange,
            store,
            "ALT/BTC",
            "1m",
            int(rows[0][0]),
            retries=2,
            sleep=lambda s: None,
            now=lambda: rows[100][0] / 1000,
        )
    assert len(store.read("binanceus", "ALTBTC", "1m")) == 0


def test_unknown_market_and_cancel(store, rows) -> None:
    now = rows[-1][0] / 1000
    recorded = RecordedBinanceUS(lambda: now)
    with pytest.raises(ConfigError, match=r"no market 'DOGE/EUR'"):
        market_symbol(recorded.exchange, "DOGE/EUR")
    calls = iter(range(100))
    with pytest.raises(DownloadCancelled, match=r"cancelled after 2 page"):
        download(
            recorded.exchange,
            store,
            "ALT/BTC",
            "1m",
            int(rows[0][0]),
            cancel=lambda: next(calls) >= 2,
            now=lambda: now,
        )
    assert len(store.read("binanceus", "ALTBTC", "1m")) == 2000  # the pages before the cancel
