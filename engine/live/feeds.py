"""Bar sources for live runners: simulated (default), replay of stored history, exchange.

A feed produces closed bars for one (symbol, timeframe); the engine broadcasts each bar to
every runner subscribed to that pair.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, Protocol

from engine.data.bars import Bar, BarSeries
from engine.data.simulated import SimulatedFeed
from engine.data.timeframes import parse_timeframe
from engine.errors import DataError

WARMUP_BARS = 300
ERROR_BACKOFF_S = 30.0


class Feed(Protocol):
    """A source of closed bars for one symbol and timeframe."""

    symbol: str
    timeframe: str

    def history(self) -> list[Bar]:
        """Bars before the first live one (used to warm indicators up)."""
        ...

    def next_bar(self) -> Bar | None:
        """The next closed bar, or None when none is available yet (or the data ended)."""
        ...


class SimulatedLiveFeed:
    """The built-in simulated market: history ending now, then one new bar per call."""

    def __init__(self, symbol: str, timeframe: str, *, seed: int = 1, warmup: int = WARMUP_BARS):
        tf = parse_timeframe(timeframe)
        start = int(time.time() * 1000) // tf.ms * tf.ms - warmup * tf.ms
        self._feed = SimulatedFeed(symbol, tf, seed=seed, start_ms=start, history=warmup)
        self.symbol = self._feed.symbol
        self.timeframe = tf.value
        self._history = self._feed.history_series()

    def history(self) -> list[Bar]:
        """The generated history."""
        return [self._history.bar(i) for i in range(len(self._history))]

    def next_bar(self) -> Bar:
        """The next simulated bar (never runs out)."""
        return self._feed.next_bar()


class ReplayFeed:
    """Replays a stored series: the first ``warmup`` bars are history, then one bar per call."""

    def __init__(self, series: BarSeries, *, warmup: int = WARMUP_BARS) -> None:
        if not series.timeframe:
            raise DataError("a replay needs data with a regular timeframe", source=series.symbol)
        self.symbol = series.symbol
        self.timeframe = series.timeframe
        self._series = series
        self._warmup = min(warmup, len(series))
        self._next = self._warmup

    def history(self) -> list[Bar]:
        """The first ``warmup`` bars."""
        return [self._series.bar(i) for i in range(self._warmup)]

    def next_bar(self) -> Bar | None:
        """The next stored bar, None at the end of the data."""
        if self._next >= len(self._series):
            return None
        bar = self._series.bar(self._next)
        self._next += 1
        return bar


class CandleSink(Protocol):
    """Where an exchange feed keeps its closed candles (``engine.storage.CandleStore``)."""

    def insert(self, source: str, series: BarSeries) -> int:
        """Store bars (existing ones are kept); returns how many were new."""
        ...

    def read(
        self, source: str, symbol: str, timeframe: str, *, start_ms: int | None = None
    ) -> BarSeries:
        """Stored bars from ``start_ms`` on."""
        ...


class ExchangeFeed:
    """Closed candles from an exchange through ccxt (Binance US by default).

    ``client`` is a ccxt exchange object (``ccxt.binanceus()``); tests pass an object that
    answers ``fetch_ohlcv`` from recorded responses. Rows are ``[ms, o, h, l, c, v]``; the last
    row of a response is the candle still forming and is never emitted. With a ``store``, every
    closed candle is written to it (source = the exchange id) and ``history()`` starts from
    the stored candles, fetching only the ones after them.
    """

    def __init__(
        self,
        client: Any,
        symbol: str,
        timeframe: str,
        *,
        warmup: int = WARMUP_BARS,
        clock: Callable[[], float] = time.time,
        store: CandleSink | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.symbol = symbol
        self.timeframe = parse_timeframe(timeframe).value
        self._tf_ms = parse_timeframe(timeframe).ms
        self._warmup = warmup
        self._clock = clock
        self._last_ms: int | None = None
        self._pending: list[Bar] = []
        self.poll_s = min(10.0, self._tf_ms / 6000)
        self._next_poll = 0.0
        self.last_error: str | None = None

    def _fetch(self, since: int | None, limit: int) -> list[Bar]:
        try:
            rows: Sequence[Sequence[float]] = self.client.fetch_ohlcv(
                self.symbol, self.timeframe, since=since, limit=limit
            )
        except Exception as exc:  # network/exchange failure: no bars now, retry later
            self.last_error = f"{type(exc).__name__}: {exc}"
            self._next_poll = self._clock() + ERROR_BACKOFF_S
            return []
        self.last_error = None
        now_ms = int(self._clock() * 1000)
        bars = []
        for row in rows:
            ts = int(row[0])
            if ts + self._tf_ms > now_ms:  # still forming
                continue
            if self._last_ms is not None and ts <= self._last_ms:  # duplicate or old
                continue
            o, h, low, c, v = (float(x) for x in row[1:6])
            bars.append(
                Bar(
                    symbol=self.symbol,
                    timeframe=self.timeframe,
                    timestamp=ts,
                    open=o,
                    high=h,
                    low=low,
                    close=c,
                    volume=v,
                    bid=c,
                    ask=c,
                )
            )
            self._last_ms = ts
        self._save(bars)
        return bars

    def _stored_key(self) -> tuple[str, str]:
        return str(self.client.id), "".join(ch for ch in self.symbol.upper() if ch.isalnum())

    def _save(self, bars: list[Bar]) -> None:
        """Write closed candles to the store; a failing store never stops the feed."""
        if self.store is None or not bars:
            return
        source, name = self._stored_key()
        try:
            series = BarSeries.from_bars([replace(b, symbol=name) for b in bars])
            self.store.insert(source, series)
        except Exception as exc:  # the database is down or locked: keep trading on the feed
            self.last_error = f"storing candles: {type(exc).__name__}: {exc}"

    def _stored(self, since: int) -> list[Bar]:
        """Stored candles from ``since`` on (empty without a store or on a read error)."""
        if self.store is None:
            return []
        source, name = self._stored_key()
        try:
            series = self.store.read(source, name, self.timeframe, start_ms=since)
        except Exception as exc:  # no stored history: fetch it all
            self.last_error = f"reading stored candles: {type(exc).__name__}: {exc}"
            return []
        return [replace(series.bar(i), symbol=self.symbol) for i in range(len(series))]

    def history(self) -> list[Bar]:
        """The last ``warmup`` closed candles: stored ones first, then the rest fetched
        paging by ``since`` (pages of up to 1000)."""
        since = int(self._clock() * 1000) - (self._warmup + 1) * self._tf_ms
        out = self._stored(since)
        if out:
            self._last_ms = out[-1].timestamp
            since = self._last_ms + self._tf_ms
        while len(out) < self._warmup:
            page = self._fetch(since, min(1000, self._warmup - len(out) + 1))
            if not page:
                break
            out.extend(page)
            since = page[-1].timestamp + self._tf_ms
        return out[-self._warmup :]

    def next_bar(self) -> Bar | None:
        """The next closed candle after the last one emitted, if the exchange has it (polls at
        most every ``poll_s`` seconds, and backs off after an error)."""
        if not self._pending and self._clock() >= self._next_poll:
            self._next_poll = self._clock() + self.poll_s
            since = None if self._last_ms is None else self._last_ms + self._tf_ms
            self._pending = self._fetch(since, 1000)
        return self._pending.pop(0) if self._pending else None
