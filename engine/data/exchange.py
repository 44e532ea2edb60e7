"""Exchange history through ccxt: ``fetch_ohlcv`` paged by ``since``/``limit``.

Rules: pages of at most ``PAGE_LIMIT`` candles; ccxt's own rate limiter is on
(``enableRateLimit``), so consecutive requests are spaced by the exchange's ``rateLimit``;
network errors (timeouts, 5xx, DDoS protection / rate-limit answers) are retried with
exponential backoff; other exchange errors (unknown symbol, bad timeframe) fail at once with
the exchange's message; the candle still forming at "now" is never stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.data.bars import BarSeries
from engine.data.candle_store import CandleStore
from engine.data.symbols import SYMBOLS
from engine.data.timeframes import parse_timeframe
from engine.errors import ConfigError, DataError

PAGE_LIMIT = 1000
RETRIES = 5
BACKOFF_S = 1.0
MAX_BACKOFF_S = 60.0

Progress = Callable[[int, int], None]
Cancel = Callable[[], bool]


class DownloadCancelled(DataError):
    """The download was cancelled between two pages; the pages before it are stored."""


def make_client(exchange_id: str) -> Any:
    """A ccxt exchange object (``ccxt.binanceus()``) with its rate limiter on."""
    import ccxt

    if exchange_id not in ccxt.exchanges:
        raise ConfigError(
            f"unknown exchange {exchange_id!r}: use a ccxt exchange id such as binanceus, "
            "binance, kraken, coinbase"
        )
    return getattr(ccxt, exchange_id)({"enableRateLimit": True})


def store_symbol(symbol: str) -> str:
    """The name a series is stored under: letters and digits, upper case (``BTCUSDT``)."""
    name = "".join(ch for ch in symbol.upper() if ch.isalnum())
    if not name or len(name) > 64:
        raise ConfigError(f"symbol {symbol!r}: expected 1..64 letters or digits, e.g. BTCUSDT")
    return name


def market_symbol(client: Any, symbol: str) -> str:
    """The exchange's unified symbol (``BTC/USDT``) for ``BTC/USDT``, ``BTCUSDT`` or
    ``btc-usdt``; ConfigError when the exchange has no such market."""
    if "/" in symbol:
        wanted = symbol.upper()
    else:
        curated = {s.symbol: s.display for s in SYMBOLS}
        wanted = curated.get(store_symbol(symbol), symbol.upper())
    markets = _markets(client)
    if wanted in markets:
        return wanted
    by_id = {str(m.get("id", "")).upper(): name for name, m in markets.items()}
    found = by_id.get(store_symbol(symbol))
    if found is None:
        raise ConfigError(
            f"{client.id} has no market {symbol!r}: use its symbol as BASE/QUOTE, e.g. BTC/USDT"
        )
    return str(found)


def _markets(client: Any) -> dict[str, Any]:
    try:
        return dict(_retrying(client, client.load_markets, "load markets"))
    except DataError:
        raise
    except Exception as exc:
        raise DataError(f"{client.id}: cannot load markets: {exc}") from None


def _retrying(
    client: Any,
    call: Callable[[], Any],
    what: str,
    *,
    retries: int = RETRIES,
    sleep: Callable[[float], None] = time.sleep,
) -> Any:
    """``call()``, retried with exponential backoff on ccxt network errors."""
    import ccxt

    for attempt in range(retries + 1):
        try:
            return call()
        except ccxt.NetworkError as exc:
            if attempt == retries:
                raise DataError(
                    f"{client.id}: {what} failed after {retries + 1} attempts: "
                    f"{type(exc).__name__}: {exc}"
                ) from None
            sleep(min(MAX_BACKOFF_S, BACKOFF_S * 2**attempt))
        except ccxt.BaseError as exc:
            raise DataError(f"{client.id}: {what}: {type(exc).__name__}: {exc}") from None
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class DownloadResult:
    """What a download did: candles received in range, newly stored, pages, last bar."""

    fetched: int
    added: int
    pages: int
    last_ms: int | None


def expected_bars(since_ms: int, end_ms: int, timeframe: str) -> int:
    """Grid slots between two open times (the denominator of a download's progress)."""
    step = parse_timeframe(timeframe).ms
    return max(0, (end_ms - since_ms) // step + 1)


def download(
    client: Any,
    store: CandleStore,
    symbol: str,
    timeframe: str,
    since_ms: int,
    *,
    until_ms: int | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    now: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    retries: int = RETRIES,
) -> DownloadResult:
    """Fetch closed candles from ``since_ms`` to ``until_ms`` (default: now) into ``store``
    under source ``client.id``, page by page (each page is committed as it arrives).

    ``progress(fetched, expected)`` runs after each page; ``cancel()`` is checked before each
    page and raises DownloadCancelled. Raises DataError when the exchange refuses or stays
    unreachable after the retries, ConfigError for an unknown market.
    """
    tf = parse_timeframe(timeframe)
    market = market_symbol(client, symbol)
    name = store_symbol(symbol)
    now_ms = int(now() * 1000)
    last_closed = now_ms // tf.ms * tf.ms - tf.ms
    end = last_closed if until_ms is None else min(until_ms, last_closed)
    expected = expected_bars(since_ms, end, tf.value)
    cursor = -(-since_ms // tf.ms) * tf.ms
    fetched = added = pages = 0
    last: int | None = None
    while cursor <= end:
        if cancel is not None and cancel():
            raise DownloadCancelled(
                f"cancelled after {pages} page(s), {fetched} candle(s) fetched", source=client.id
            )
        since = cursor

        def fetch(since: int = since) -> Any:
            return client.fetch_ohlcv(market, tf.value, since=since, limit=PAGE_LIMIT)

        rows = _retrying(
            client,
            fetch,
            f"fetch_ohlcv {market} {tf.value} since {since}",
            retries=retries,
            sleep=sleep,
        )
        pages += 1
        page = _closed_rows(rows, cursor, end, tf.ms, int(now() * 1000))
        if not len(page):
            break  # the exchange has nothing at or after the cursor in range
        series = BarSeries.from_arrays(
            symbol=name,
            timeframe=tf.value,
            timestamp=page[:, 0].astype(np.int64),
            open=page[:, 1],
            high=page[:, 2],
            low=page[:, 3],
            close=page[:, 4],
            volume=page[:, 5],
        )
        added += store.insert(client.id, series)
        fetched += len(series)
        last = int(series.timestamp[-1])
        if progress is not None:
            progress(fetched, expected)
        cursor = last + tf.ms
    return DownloadResult(fetched, added, pages, last)


def _closed_rows(rows: Any, start: int, end: int, step: int, now_ms: int) -> np.ndarray:
    """Rows ``[ms, o, h, l, c, v]`` in ``start..end`` that have closed, sorted, one per time."""
    if not rows:
        return np.empty((0, 6))
    table = np.array([[float(x) for x in row[:6]] for row in rows], dtype=np.float64)
    t = table[:, 0]
    keep = (t >= start) & (t <= end) & (t + step <= now_ms)
    table = table[keep]
    _, first = np.unique(table[:, 0], return_index=True)
    return table[first]
