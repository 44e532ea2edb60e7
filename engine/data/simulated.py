"""The offline default data source: seeded, deterministic, realistic simulated bars.

Model, per bar of length dt (annualized with 365 days for 24/7 markets, 252 otherwise):

- log-volatility ``h`` is a stationary AR(1) process (mean reversion time ``_VOL_TAU_MS``,
  stationary std ``_VOL_STD``), so calm and turbulent periods cluster; the bar's volatility is
  ``annual_volatility * sqrt(dt) * exp(h - _VOL_STD**2)``, whose mean square matches the spec;
- log returns are that volatility times unit-variance Student-t noise (fat tails), no drift;
- open = previous close (daily stock bars also get a small overnight gap); high and low are
  drawn from the exact distribution of a Brownian bridge's maximum/minimum between open and
  close, so they are consistent with both;
- bid/ask sit ``spread_bps / 2`` either side of close; volume is lognormal and rises with
  |return| and with volatility;
- prices are rounded to the symbol's ``price_decimals`` while that keeps them positive.

Timestamps are continuous for every market (stocks and forex too: no weekends or nights).
Bars are generated in chunks of ``CHUNK_BARS``, each from its own random stream derived from
(seed, symbol, timeframe, chunk number) with ``zlib.crc32`` (stable across runs, unlike
``hash()``). Hence ``SimulatedFeed(s, tf, seed=x, start_ms=t, history=h)`` yields exactly the
bars of ``generate_history(s, tf, h + k, seed=x, start_ms=t)``: its history series is the first
``h`` bars and its k-th ``next_bar()`` is bar ``h + k - 1``. Changing ``start_ms``/``end_ms``
shifts the timestamps only; the prices depend on (seed, symbol, timeframe) alone.
"""

from __future__ import annotations

import math
import zlib
from datetime import UTC, datetime

import numpy as np

from engine.data.bars import COLUMNS, Bar, BarSeries
from engine.data.symbols import SymbolSpec, get_symbol
from engine.data.timeframes import DAY_MS, MINUTE_MS, Timeframe, parse_timeframe
from engine.errors import ConfigError

DEFAULT_START_MS = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)
CHUNK_BARS = 4096

_T_DF = 5.0  # Student-t degrees of freedom of the return noise
_VOL_STD = 0.45  # stationary standard deviation of log-volatility
_VOL_TAU_MS = 5 * DAY_MS  # mean reversion time of log-volatility
_GAP_SHARE = 0.2  # share of daily stock variance that happens overnight (open gap)
_PRICES = ("open", "high", "low", "close", "bid", "ask")


#: Longest block in ``ar1_filter`` whose scale factors stay far from float overflow.
_AR1_MAX_EXPONENT = 30.0


def ar1_filter(shocks: np.ndarray, phi: float, start: float) -> np.ndarray:
    """``h[t] = phi * h[t-1] + shocks[t]`` with ``h[-1] = start``, vectorized.

    Closed form per block: ``h[t] = phi**(t+1) * h0 + phi**t * cumsum(shocks[k] * phi**-k)``;
    blocks are short enough that ``phi**-k`` stays below ``e**30``, so it never overflows and
    keeps the recursion's rounding (relative error ~1e-15).
    """
    if not 0.0 < phi < 1.0:
        raise ConfigError(f"AR(1) coefficient must be in (0, 1), got {phi}")
    out = np.empty(len(shocks))
    block = max(1, int(_AR1_MAX_EXPONENT / -math.log(phi)))
    level = start
    for begin in range(0, len(shocks), block):
        chunk = shocks[begin : begin + block]
        powers = phi ** np.arange(len(chunk), dtype=float)
        values = powers * (phi * level + np.cumsum(chunk / powers))
        out[begin : begin + len(chunk)] = values
        level = float(values[-1])
    return out


class _Generator:
    """Produces consecutive chunks of bars for one (symbol, timeframe, seed)."""

    def __init__(
        self,
        spec: SymbolSpec,
        timeframe: Timeframe,
        seed: int,
        start_ms: int,
        start_price: float | None = None,
    ) -> None:
        if seed < 0:
            raise ConfigError(f"seed must be >= 0, got {seed}")
        self.spec = spec
        self.timeframe = timeframe
        self._key = [seed, zlib.crc32(spec.symbol.encode()), zlib.crc32(timeframe.value.encode())]
        periods = 365 if spec.trading_24_7 else 252
        self._sigma = spec.annual_volatility * math.sqrt(timeframe.ms / (DAY_MS * periods))
        self._phi = math.exp(-timeframe.ms / _VOL_TAU_MS)
        self._eta = _VOL_STD * math.sqrt(1 - self._phi**2)
        self._gap_share = (
            _GAP_SHARE if spec.asset_class == "stock" and timeframe.ms >= DAY_MS else 0
        )
        self._base_volume = spec.volume_1m * timeframe.ms / MINUTE_MS
        self._volume_decimals = 4 if spec.asset_class == "crypto" else 0
        self._next_ms = start_ms
        self._chunk = 0
        if start_price is not None and not start_price > 0:
            raise ConfigError(f"start price must be > 0, got {start_price}")
        self._log_close = math.log(start_price or spec.start_price)
        self._log_vol = 0.0

    def next_chunk(self) -> dict[str, np.ndarray]:
        """The next ``CHUNK_BARS`` bars as columns (see ``COLUMNS``)."""
        n = CHUNK_BARS
        rng = np.random.default_rng([*self._key, self._chunk])
        h = ar1_filter(self._eta * rng.standard_normal(n), self._phi, self._log_vol)
        sigma = self._sigma * np.exp(h - _VOL_STD**2)
        z = rng.standard_t(_T_DF, n) * math.sqrt((_T_DF - 2) / _T_DF)
        intraday_sigma = sigma * math.sqrt(1 - self._gap_share)
        body = intraday_sigma * z  # log(close / open)
        gap = sigma * math.sqrt(self._gap_share) * rng.standard_normal(n) if self._gap_share else 0
        log_close = self._log_close + np.cumsum(body + gap)
        log_open = np.empty(n)
        log_open[0] = self._log_close
        log_open[1:] = log_close[:-1]
        log_open += gap
        # Extremes of a Brownian bridge from 0 to `body` with variance intraday_sigma**2.
        spread2 = -2 * intraday_sigma**2 * np.log1p(-rng.random((2, n)))
        up = (body + np.sqrt(body**2 + spread2[0])) / 2
        down = (body - np.sqrt(body**2 + spread2[1])) / 2
        open_, close = np.exp(log_open), np.exp(log_close)
        high = np.maximum(np.exp(log_open + up), np.maximum(open_, close))
        low = np.minimum(np.exp(log_open + down), np.minimum(open_, close))
        noise = rng.standard_normal(n)
        # Lognormal volume, higher on big moves and in volatile regimes; median near the base.
        volume = self._base_volume * np.exp(0.4 * (np.abs(z) - 0.8) + 0.8 * h + 0.35 * noise - 0.3)
        half_spread = close * (self.spec.spread_bps / 20_000)
        columns = {
            "timestamp": self._next_ms + np.arange(n, dtype=np.int64) * self.timeframe.ms,
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": np.round(volume, self._volume_decimals),
            "bid": close - half_spread,
            "ask": close + half_spread,
        }
        decimals = self.spec.price_decimals
        rounded = {k: np.round(columns[k], decimals) for k in _PRICES}
        if rounded["low"].min() > 0 and rounded["bid"].min() > 0:
            # keep the quoted spread at least one tick wide
            rounded["ask"] = np.round(
                np.maximum(rounded["ask"], rounded["bid"] + 10.0**-decimals), decimals
            )
            columns.update(rounded)
        self._chunk += 1
        self._next_ms += n * self.timeframe.ms
        self._log_close = float(log_close[-1])
        self._log_vol = float(h[-1])
        return columns


def _start(timeframe: Timeframe, bars: int, start_ms: int | None, end_ms: int | None) -> int:
    """Open time of the first bar, aligned down to the timeframe grid."""
    if start_ms is not None and end_ms is not None:
        raise ConfigError("give start_ms or end_ms, not both")
    step = timeframe.ms
    if end_ms is not None:
        return end_ms // step * step - bars * step
    return (DEFAULT_START_MS if start_ms is None else start_ms) // step * step


def _take(generator: _Generator, bars: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """``bars`` bars from the generator as columns, plus the unused rest of the last chunk."""
    chunks = [generator.next_chunk() for _ in range(-(-bars // CHUNK_BARS))]
    if not chunks:
        empty = {n: np.empty(0, np.int64 if n == "timestamp" else np.float64) for n in COLUMNS}
        return empty, empty
    columns = {n: np.concatenate([c[n] for c in chunks]) for n in COLUMNS}
    return {n: a[:bars] for n, a in columns.items()}, {n: a[bars:] for n, a in columns.items()}


def generate_history(
    symbol: str,
    timeframe: Timeframe | str,
    bars: int,
    *,
    seed: int = 1,
    end_ms: int | None = None,
    start_ms: int | None = None,
) -> BarSeries:
    """``bars`` simulated bars of a curated symbol (see the module docstring for the model).

    Bars start at ``start_ms`` (default 2024-01-01 00:00 UTC) or end so that the last bar
    closes at or before ``end_ms``; either is aligned down to the timeframe grid. Same
    arguments, same series. ConfigError for an unknown symbol/timeframe or bad counts.
    """
    spec, tf = get_symbol(symbol), parse_timeframe(timeframe)
    if bars < 0:
        raise ConfigError(f"bars must be >= 0, got {bars}")
    columns, _ = _take(_Generator(spec, tf, seed, _start(tf, bars, start_ms, end_ms)), bars)
    return BarSeries.from_arrays(symbol=spec.symbol, timeframe=tf.value, **columns)


class SimulatedFeed:
    """A live stream of simulated bars continuing ``history`` bars of generated history.

    ``start_price`` (default: the symbol's) is the close before the first bar, so a stream can
    continue an earlier one.

    ``next_bar()`` costs a few µs (chunks of bars are generated ahead in one vectorized step);
    the bars equal those of ``generate_history`` with the same symbol, timeframe, seed and
    start (see the module docstring).
    """

    def __init__(
        self,
        symbol: str,
        timeframe: Timeframe | str,
        *,
        seed: int = 1,
        start_ms: int | None = None,
        history: int = 0,
        start_price: float | None = None,
    ) -> None:
        self.spec = get_symbol(symbol)
        self.timeframe = parse_timeframe(timeframe)
        if history < 0:
            raise ConfigError(f"history must be >= 0, got {history}")
        start = _start(self.timeframe, history, start_ms, None)
        self._generator = _Generator(self.spec, self.timeframe, seed, start, start_price)
        past, rest = _take(self._generator, history)
        self._history = BarSeries.from_arrays(
            symbol=self.spec.symbol, timeframe=self.timeframe.value, **past
        )
        self._load(rest)

    @property
    def symbol(self) -> str:
        """Canonical symbol name, e.g. ``"BTCUSDT"``."""
        return self.spec.symbol

    def history_series(self) -> BarSeries:
        """The first ``history`` bars (the ones before the first ``next_bar()``)."""
        return self._history

    def next_bar(self) -> Bar:
        """The next bar of the stream."""
        if self._pos == len(self._rows):
            self._load(self._generator.next_chunk())
        row = self._rows[self._pos]
        self._pos += 1
        return Bar(
            symbol=self.spec.symbol,
            timeframe=self.timeframe.value,
            timestamp=row[0],
            open=row[1],
            high=row[2],
            low=row[3],
            close=row[4],
            volume=row[5],
            bid=row[6],
            ask=row[7],
        )

    def _load(self, columns: dict[str, np.ndarray]) -> None:
        self._rows = list(zip(*(columns[n].tolist() for n in COLUMNS), strict=True))
        self._pos = 0
