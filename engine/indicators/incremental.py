"""Incremental indicators: one bar at a time, O(1) per update (live runners).

Every class here reproduces, bar by bar, the vectorized formula of the same name in
:mod:`engine.indicators.vectorized`, so feeding bars one by one gives the values the backtester
computes over the whole series (to ~1e-14 relative; the tests allow 1e-9). They are built from
the exponential averages, rolling sums and rolling extremes of
:mod:`engine.indicators.streaming`, each a ``Stepper`` there; :class:`WindowFields` keeps the
runner-window fields.

Inputs are finite OHLCV values (the data loaders guarantee it); a derived NaN (the stochastic
%K over a window with no range) makes the values that depend on it NaN, as in pandas.
"""

from __future__ import annotations

import math
from collections import deque
from numbers import Real

from engine.errors import ConfigError
from engine.indicators.streaming import NAN, Ewm, RollingExtreme, RollingStats


class Sma:
    """Simple moving average of the close (or of the volume)."""

    def __init__(self, n: int, *, volume: bool = False) -> None:
        self._stats = RollingStats(n)
        self._volume = volume

    def step(
        self, open: float, high: float, low: float, close: float, volume: float
    ) -> tuple[float, ...]:
        """See :class:`~engine.indicators.streaming.Stepper`."""
        self._stats.push(volume if self._volume else close)
        return (self._stats.mean(),)


class Ema:
    """Exponential moving average of the close, ``alpha = 2 / (n + 1)``, first value as seed."""

    def __init__(self, n: int) -> None:
        self._ewm = Ewm.span(n, n)

    def step(
        self, open: float, high: float, low: float, close: float, volume: float
    ) -> tuple[float, ...]:
        """See :class:`~engine.indicators.streaming.Stepper`."""
        return (self._ewm.push(close),)


class Wma:
    """Linearly weighted moving average of the close (weights 1..n, newest heaviest)."""

    def __init__(self, n: int) -> None:
        self._n = n
        self._window: deque[float] = deque()
        self._sum = 0.0
        self._weighted = 0.0
        self._until_recompute = n

    def step(
        self, open: float, high: float, low: float, close: float, volume: float
    ) -> tuple[float, ...]:
        """See :class:`~engine.indicators.streaming.Stepper`."""
        n = self._n
        window = self._window
        window.append(close)
        if len(window) > n:
            # Every weight drops by one (the oldest's to zero), the new value gets weight n.
            self._weighted += n * close - self._sum
            self._sum += close - window.popleft()
        self._until_recompute -= 1
        if self._until_recompute == 0:
            self._sum = math.fsum(window)
            self._weighted = math.fsum(i * v for i, v in enumerate(window, start=1))
            self._until_recompute = n
        if len(window) < n:
            return (NAN,)
        return (self._weighted * 2 / (n * (n + 1)),)


class Rsi:
    """Relative strength index with Wilder's smoothing, as ``ta``'s RSIIndicator."""

    def __init__(self, n: int) -> None:
        self._up = Ewm.alpha(1 / n, n)
        self._down = Ewm.alpha(1 / n, n)
        self._prev = NAN

    def step(
        self, open: float, high: float, low: float, close: float, volume: float
    ) -> tuple[float, ...]:
        """See :class:`~engine.indicators.streaming.Stepper`."""
        diff = close - self._prev  # NaN on the first bar: counts as no move, as in ``ta``
        self._prev = close
        up = self._up.push(diff if diff > 0 else 0.0)
        down = self._down.push(-diff if diff < 0 else 0.0)
        if down == 0:
            return (100.0,)
        return (100 - 100 / (1 + up / down),)


class Macd:
    """MACD line, signal line and histogram (``ta``'s MACD)."""

    def __init__(self, fast: int, slow: int, signal: int) -> None:
        self._fast = Ewm.span(fast, fast)
        self._slow = Ewm.span(slow, slow)
        self._signal = Ewm.span(signal, signal)

    def step(
        self, open: float, high: float, low: float, close: float, volume: float
    ) -> tuple[float, ...]:
        """See :class:`~engine.indicators.streaming.Stepper`."""
        line = self._fast.push(close) - self._slow.push(close)
        signal = self._signal.push(line)
        return line, signal, line - signal


class Bollinger:
    """Bollinger bands: SMA(n) ± k population standard deviations."""

    def __init__(self, n: int, k: float) -> None:
        self._stats = RollingStats(n)
        self._k = k

    def step(
        self, open: float, high: float, low: float, close: float, volume: float
    ) -> tuple[float, ...]:
        """See :class:`~engine.indicators.streaming.Stepper`."""
        self._stats.push(close)
        mean, std = self._stats.mean(), self._stats.std()
        return mean + self._k * std, mean, mean - self._k * std


def _true_range(high: float, low: float, prev_close: float) -> float:
    """``max(high, prev_close) - min(low, prev_close)``; ``high - low`` without a previous bar."""
    if prev_close != prev_close:
        return high - low
    return max(high, prev_close) - min(low, prev_close)


class Atr:
    """Average true range: mean of the first ``n`` true ranges, then Wilder's smoothing."""

    def __init__(self, n: int) -> None:
        self._n = n
        self._count = 0
        self._seed = 0.0
        self._prev_close = NAN
        self._ewm = Ewm.alpha(1 / n, 1)

    def step(
        self, open: float, high: float, low: float, close: float, volume: float
    ) -> tuple[float, ...]:
        """See :class:`~engine.indicators.streaming.Stepper`."""
        tr = _true_range(high, low, self._prev_close)
        self._prev_close = close
        self._count += 1
        if self._count < self._n:
            self._seed += tr
            return (NAN,)
        if self._count == self._n:
            return (self._ewm.push((self._seed + tr) / self._n),)
        return (self._ewm.push(tr),)


class Extreme:
    """Highest high (or lowest low) of the last ``n`` bars, current bar included."""

    def __init__(self, n: int, *, lowest: bool) -> None:
        self._extreme = RollingExtreme(n, lowest=lowest)
        self._lowest = lowest

    def step(
        self, open: float, high: float, low: float, close: float, volume: float
    ) -> tuple[float, ...]:
        """See :class:`~engine.indicators.streaming.Stepper`."""
        return (self._extreme.push(low if self._lowest else high),)


class Stoch:
    """Stochastic oscillator: %K over ``n`` bars and %D, its ``d``-bar simple average."""

    def __init__(self, n: int, d: int) -> None:
        self._highest = RollingExtreme(n)
        self._lowest = RollingExtreme(n, lowest=True)
        self._d = RollingStats(d)

    def step(
        self, open: float, high: float, low: float, close: float, volume: float
    ) -> tuple[float, ...]:
        """See :class:`~engine.indicators.streaming.Stepper`."""
        hh = self._highest.push(high)
        ll = self._lowest.push(low)
        k = NAN if hh == ll else 100 * (close - ll) / (hh - ll)
        self._d.push(k)
        return k, self._d.mean()


class Adx:
    """Average directional index with +DI and -DI (``ta``'s ADXIndicator, Wilder's smoothing).

    True range and directional movement start on the second bar; their Wilder averages are
    seeded with the mean of bars 1..n, the ADX with the mean DX of bars n..2n-1.
    """

    def __init__(self, n: int) -> None:
        self._n = n
        self._count = 0
        self._prev = (NAN, NAN, NAN)
        self._seeds = [0.0, 0.0, 0.0]
        self._tr = Ewm.alpha(1 / n, 1)
        self._plus = Ewm.alpha(1 / n, 1)
        self._minus = Ewm.alpha(1 / n, 1)
        self._dx_seed = 0.0
        self._adx = Ewm.alpha(1 / n, 1)

    def step(
        self, open: float, high: float, low: float, close: float, volume: float
    ) -> tuple[float, ...]:
        """See :class:`~engine.indicators.streaming.Stepper`."""
        prev_high, prev_low, prev_close = self._prev
        self._prev = (high, low, close)
        i = self._count
        self._count += 1
        n = self._n
        if i == 0:
            return NAN, NAN, NAN
        up, down = high - prev_high, prev_low - low
        moves: tuple[float, ...] = (
            max(high, prev_close) - min(low, prev_close),
            up if up > down and up > 0 else 0.0,
            down if down > up and down > 0 else 0.0,
        )
        if i < n:
            self._seeds = [s + m for s, m in zip(self._seeds, moves, strict=True)]
            return NAN, NAN, NAN
        if i == n:
            moves = tuple((s + m) / n for s, m in zip(self._seeds, moves, strict=True))
        tr, plus, minus = (
            self._tr.push(moves[0]),
            self._plus.push(moves[1]),
            self._minus.push(moves[2]),
        )
        plus_di = 100 * (plus / tr) if tr != 0 else 0.0
        minus_di = 100 * (minus / tr) if tr != 0 else 0.0
        total = plus_di + minus_di
        dx = 100 * abs((plus_di - minus_di) / total) if total != 0 else 0.0
        if i < 2 * n - 1:
            self._dx_seed += dx
            return NAN, plus_di, minus_di
        adx = self._adx.push((self._dx_seed + dx) / n if i == 2 * n - 1 else dx)
        return adx, plus_di, minus_di


def check_window(window: object) -> int:
    """``window`` as an int, or ConfigError unless it is an integer >= 1."""
    number = float(window) if isinstance(window, Real) and not isinstance(window, bool) else NAN
    if not (number.is_integer() and number >= 1):
        raise ConfigError(f"window must be an integer >= 1, got {window!r}")
    return int(number)


class WindowFields:
    """Incremental :func:`engine.indicators.registry.window_fields`: the runner's window fields.

    ``update`` returns the highest high, lowest low, their range and the mean volume over the
    last ``window`` bars, current bar included (fewer at the start).
    """

    def __init__(self, window: int) -> None:
        window = check_window(window)
        self._high = RollingExtreme(window, min_periods=1)
        self._low = RollingExtreme(window, lowest=True, min_periods=1)
        self._volume = RollingStats(window, min_periods=1)

    def update(self, high: float, low: float, volume: float) -> dict[str, float]:
        """Add the next bar; return ``high``, ``low``, ``range`` and ``avg_volume``."""
        hh = self._high.push(high)
        ll = self._low.push(low)
        self._volume.push(volume)
        return {"high": hh, "low": ll, "range": hh - ll, "avg_volume": self._volume.mean()}
