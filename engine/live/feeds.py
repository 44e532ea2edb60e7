"""Bar sources for live runners: simulated (default), replay of stored history, exchange.

A feed produces closed bars for one (symbol, timeframe); the engine broadcasts each bar to
every runner subscribed to that pair. Every feed is built with the feed's last published bar
(``last``, or None the first time) and only ever produces bars after it, so a feed that is
deleted and re-created, or restarted with the engine, continues instead of going back in time.
``history()`` are the bars to publish and warm indicators up with before the first live one.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Protocol

from engine.data.bars import Bar, BarSeries
from engine.data.simulated import SimulatedFeed
from engine.data.timeframes import parse_timeframe
from engine.errors import ConfigError, DataError

WARMUP_BARS = 300
ERROR_BACKOFF_S = 30.0
LastBar = Mapping[str, Any]
"""A feed's last published bar in ``Bar.ohlcv()`` form (``time`` is its open time, ms)."""


class Feed(Protocol):
    """A source of closed bars for one symbol and timeframe."""

    symbol: str
    timeframe: str

    def history(self) -> list[Bar]:
        """Bars before the first live one, all after ``last`` (published, warm indicators)."""
        ...

    def next_bar(self) -> Bar | None:
        """The next closed bar, or None when none is available (or the data ended)."""
        ...

    def seconds_to_next(self) -> float:
        """Seconds until ``next_bar`` has a bar (0 when one is due now)."""
        ...

    def forming(self) -> Bar | None:
        """The bar forming now, for ticks (None when the feed cannot tell)."""
        ...


class SimClock:
    """Simulated time in ms: starts at ``start_ms`` and runs ``speed`` times the wall clock.

    When the engine cannot keep up (a stall, or more bars than it can process), the clock
    slips instead of piling up bars: see :meth:`slip`.
    """

    def __init__(self, start_ms: float, speed: float, wall: Callable[[], float]) -> None:
        if not speed > 0:
            raise ConfigError(f"simulation speed must be > 0, got {speed}")
        self.speed = speed
        self._wall = wall
        self._start_ms = start_ms
        self._wall_start = wall()

    def now_ms(self) -> float:
        """The simulated time now."""
        return self._start_ms + (self._wall() - self._wall_start) * 1000 * self.speed

    def slip(self, due_ms: float, step_ms: float) -> None:
        """If ``due_ms`` is more than a bar (``step_ms``) and a wall-clock second behind,
        move the clock back to it: a late engine delays the bars, it never drops or floods
        them."""
        lag = self.now_ms() - due_ms
        if lag > max(step_ms, 1000 * self.speed):
            self._start_ms -= lag


class SimulatedLiveFeed:
    """The built-in simulated market on the wall clock (``speed`` times faster when asked).

    Bars are stamped at real bar boundaries: at speed 1 a 1m bar closes at every full minute.
    The first time (``last`` None) the history is ``warmup`` generated bars ending at the
    current boundary; after ``last`` the stream continues from its close, and the bars that
    closed meanwhile (the engine was down, the feed unused) are the history.
    """

    def __init__(
        self,
        symbol: str,
        timeframe: str,
        *,
        seed: int = 1,
        warmup: int = WARMUP_BARS,
        last: LastBar | None = None,
        speed: float = 1.0,
        wall: Callable[[], float] = time.time,
    ):
        tf = parse_timeframe(timeframe)
        self._tf_ms = tf.ms
        now_ms = wall() * 1000
        boundary = int(now_ms) // tf.ms * tf.ms  # open time of the bar forming now
        if last is None:
            first, count, price = boundary - warmup * tf.ms, warmup, None
        else:
            first = int(last["time"]) + tf.ms
            count, price = max(0, (boundary - first) // tf.ms), float(last["close"])
            seed = zlib.crc32(f"{seed}/{first}".encode())  # a fresh stream per continuation
        self._feed = SimulatedFeed(
            symbol, tf, seed=seed, start_ms=first, history=count, start_price=price
        )
        self.symbol = self._feed.symbol
        self.timeframe = tf.value
        self._history = self._feed.history_series()
        self._pending = self._feed.next_bar()
        self.clock = SimClock(max(now_ms, self._pending.timestamp), speed, wall)

    def history(self) -> list[Bar]:
        """The generated history (bars before the forming one)."""
        return [self._history.bar(i) for i in range(len(self._history))]

    def next_bar(self) -> Bar:
        """The next simulated bar (never runs out)."""
        bar, self._pending = self._pending, self._feed.next_bar()
        return bar

    def seconds_to_next(self) -> float:
        """Until the pending bar closes on the simulated clock."""
        close_ms = self._pending.timestamp + self._tf_ms
        self.clock.slip(close_ms, self._tf_ms)
        left_ms = close_ms - self.clock.now_ms()
        return max(0.0, left_ms / 1000 / self.clock.speed)

    def forming(self) -> Bar:
        """The pending bar as far as it has formed: price walks open -> first extreme ->
        second extreme -> close (low first on an up bar), so it ends as the closed bar."""
        bar = self._pending
        done = (self.clock.now_ms() - bar.timestamp) / self._tf_ms
        return partial_bar(bar, min(1.0, max(0.0, done)))


def partial_bar(bar: Bar, done: float) -> Bar:
    """``bar`` after fraction ``done`` (0..1) of its time, along open, extremes, close."""
    first, second = (bar.low, bar.high) if bar.close >= bar.open else (bar.high, bar.low)
    path = (bar.open, first, second, bar.close)
    leg = min(2, int(done * 3))
    frac = done * 3 - leg
    price = path[leg] + (path[leg + 1] - path[leg]) * frac
    seen = [*path[: leg + 1], price]
    return Bar(
        symbol=bar.symbol,
        timeframe=bar.timeframe,
        timestamp=bar.timestamp,
        open=bar.open,
        high=max(seen),
        low=min(seen),
        close=price,
        volume=bar.volume * done,
        bid=price,
        ask=price,
    )


class ReplayFeed:
    """Replays a stored series, one bar every timeframe / ``speed`` seconds.

    The first time the first ``warmup`` bars are history; after ``last`` it continues with the
    first stored bar later than it (no history: those bars were published already).
    """

    def __init__(
        self,
        series: BarSeries,
        *,
        warmup: int = WARMUP_BARS,
        last: LastBar | None = None,
        speed: float = 1.0,
        wall: Callable[[], float] = time.time,
    ) -> None:
        if not series.timeframe:
            raise DataError("a replay needs data with a regular timeframe", source=series.symbol)
        self.symbol = series.symbol
        self.timeframe = series.timeframe
        self._series = series
        if last is None:
            self._first = self._next = min(warmup, len(series))
            self._start = 0
        else:
            after = int(last["time"])
            self._start = self._next = self._first = next(
                (i for i, t in enumerate(series.timestamp.tolist()) if t > after), len(series)
            )
        self._interval_s = parse_timeframe(series.timeframe).ms / 1000 / speed
        self._wall = wall
        self._started = wall()

    def history(self) -> list[Bar]:
        """The first ``warmup`` bars (none when continuing)."""
        return [self._series.bar(i) for i in range(self._start, self._first)]

    def next_bar(self) -> Bar | None:
        """The next stored bar, None at the end of the data."""
        if self._next >= len(self._series):
            return None
        bar = self._series.bar(self._next)
        self._next += 1
        return bar

    def seconds_to_next(self) -> float:
        """Until the next bar's replay time (an hour once the data ended)."""
        if self._next >= len(self._series):
            return 3600.0
        due = self._started + (self._next - self._first + 1) * self._interval_s
        lag = self._wall() - due
        if lag > max(self._interval_s, 1.0):  # the engine was late: delay, never flood
            self._started += lag
            due += lag
        return max(0.0, due - self._wall())

    def forming(self) -> Bar | None:
        """A replay has no forming bar."""
        return None


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
        last: LastBar | None = None,
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
        self._last_ms: int | None = None if last is None else int(last["time"])
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
        """The last ``warmup`` closed candles after ``last``: stored ones first, then the rest
        fetched paging by ``since`` (pages of up to 1000)."""
        since = int(self._clock() * 1000) - (self._warmup + 1) * self._tf_ms
        if self._last_ms is not None:
            since = max(since, self._last_ms + self._tf_ms)
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

    def seconds_to_next(self) -> float:
        """0 while candles are pending or a poll is due, else until the next poll."""
        if self._pending:
            return 0.0
        return max(0.0, self._next_poll - self._clock())

    def forming(self) -> Bar | None:
        """Exchange candles are published when closed only."""
        return None
