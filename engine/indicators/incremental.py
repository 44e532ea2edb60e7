"""Incremental indicators: one bar at a time, O(1) per update (live runners).

Every class here reproduces, bar by bar, the vectorized formula of the same name in
:mod:`engine.indicators.vectorized`, so feeding bars one by one gives the values the backtester
computes over the whole series (to ~1e-14 relative; the tests allow 1e-9):

- exponential averages run pandas' ``ewm(adjust=False)`` update, operation for operation
  (``pandas/_libs/window/aggregations.pyx: ewm``), one value at a time;
- windowed sums are updated by add/remove and recomputed from the window every ``n`` bars, so
  rounding never builds up over more than one window (amortized O(1));
- rolling extremes use a monotonic deque (amortized O(1)).

Inputs are finite OHLCV values (the data loaders guarantee it); a derived NaN (the stochastic
%K over a window with no range) makes the values that depend on it NaN, as in pandas.
"""

from __future__ import annotations

import math
from collections import deque
from numbers import Real
from typing import Protocol

from engine.errors import ConfigError

NAN = math.nan


class IncrementalIndicator(Protocol):
    """One indicator fed bar by bar."""

    def update(
        self, open: float, high: float, low: float, close: float, volume: float
    ) -> dict[str, float] | None:
        """Add the next bar; return its values by output name, or None before warm-up.

        After warm-up a value is NaN only where the vectorized series is NaN too.
        """
        ...


class Stepper(Protocol):
    """Raw per-bar computation behind an :class:`IncrementalIndicator` (no warm-up masking)."""

    def step(
        self, open: float, high: float, low: float, close: float, volume: float
    ) -> tuple[float, ...]:
        """Add the next bar; return the outputs in declaration order (NaN where undefined)."""
        ...


class Warmed:
    """An :class:`IncrementalIndicator`: a stepper's outputs by name once ``warmup`` bars passed.

    Non-finite values are reported as NaN ("no value"), as the vectorized form does.
    """

    def __init__(self, stepper: Stepper, outputs: tuple[str, ...], warmup: int) -> None:
        self._stepper = stepper
        self._outputs = outputs
        self._warmup = warmup
        self._seen = 0

    def update(
        self, open: float, high: float, low: float, close: float, volume: float
    ) -> dict[str, float] | None:
        """Add the next bar; its values by output name, or None during the first ``warmup`` bars."""
        values = self._stepper.step(open, high, low, close, volume)
        self._seen += 1
        if self._seen <= self._warmup:
            return None
        return {
            name: value if math.isfinite(value) else NAN
            for name, value in zip(self._outputs, values, strict=True)
        }


class Ewm:
    """``pd.Series.ewm(com=com, adjust=False, min_periods=min_periods).mean()``, value by value.

    Leading NaNs are skipped (the average starts at the first value), as in pandas.
    """

    def __init__(self, com: float, min_periods: int) -> None:
        self._com = com
        self._alpha = 1.0 / (1.0 + com)
        self._keep = 1.0 - self._alpha
        self._min_periods = min_periods
        self._nobs = 0
        self._old_wt = 1.0
        self._value = NAN

    @classmethod
    def span(cls, span: int, min_periods: int) -> Ewm:
        """As ``ewm(span=span)``: ``alpha = 2 / (span + 1)``."""
        return cls((span - 1) / 2, min_periods)

    @classmethod
    def alpha(cls, alpha: float, min_periods: int) -> Ewm:
        """As ``ewm(alpha=alpha)``."""
        return cls((1 - alpha) / alpha, min_periods)

    def push(self, x: float) -> float:
        """Add ``x``; return the average (NaN before ``min_periods`` values)."""
        observed = x == x
        self._nobs += observed
        if self._value == self._value:
            self._old_wt *= self._keep
            if observed:
                if self._value != x:
                    new_wt = 1.0 - self._old_wt if self._com == 1 else self._alpha
                    self._value = (self._old_wt * self._value + new_wt * x) / (
                        self._old_wt + new_wt
                    )
                self._old_wt = 1.0
        elif observed:
            self._value = x
        return self._value if self._nobs >= self._min_periods else NAN


class RollingStats:
    """Mean and population standard deviation of the last ``n`` values.

    NaN until the window holds ``min_periods`` values, and while it holds a NaN. The sums are
    taken about a shift (a value of the window at the last recompute) so the variance does not
    cancel catastrophically on prices far from zero.
    """

    def __init__(self, n: int, *, min_periods: int | None = None) -> None:
        self._n = n
        self._min_periods = n if min_periods is None else min_periods
        self._window: deque[float] = deque()
        self._nans = 0
        self._shift = 0.0
        self._sum = 0.0
        self._sumsq = 0.0
        self._until_recompute = n

    def push(self, x: float) -> None:
        """Add ``x``, dropping the value that falls out of the window."""
        window = self._window
        window.append(x)
        if x == x:
            d = x - self._shift
            self._sum += d
            self._sumsq += d * d
        else:
            self._nans += 1
        if len(window) > self._n:
            old = window.popleft()
            if old == old:
                d = old - self._shift
                self._sum -= d
                self._sumsq -= d * d
            else:
                self._nans -= 1
        self._until_recompute -= 1
        if self._until_recompute == 0:
            self._recompute()

    def _recompute(self) -> None:
        finite = [v for v in self._window if v == v]
        self._shift = finite[-1] if finite else 0.0
        self._sum = math.fsum(v - self._shift for v in finite)
        self._sumsq = math.fsum((v - self._shift) ** 2 for v in finite)
        self._until_recompute = self._n

    def _ready(self) -> bool:
        return len(self._window) >= self._min_periods and not self._nans

    def mean(self) -> float:
        """Mean of the window (NaN if not ready)."""
        if not self._ready():
            return NAN
        return self._shift + self._sum / len(self._window)

    def std(self) -> float:
        """Population (ddof=0) standard deviation of the window (NaN if not ready)."""
        if not self._ready():
            return NAN
        count = len(self._window)
        return math.sqrt(max(self._sumsq - self._sum * self._sum / count, 0.0) / count)


class RollingExtreme:
    """Largest (or smallest) of the last ``n`` values; NaN before ``min_periods`` values."""

    def __init__(self, n: int, *, lowest: bool = False, min_periods: int | None = None) -> None:
        self._n = n
        self._lowest = lowest
        self._min_periods = n if min_periods is None else min_periods
        self._count = 0
        self._deque: deque[tuple[int, float]] = deque()

    def push(self, x: float) -> float:
        """Add ``x``; return the extreme of the window."""
        i = self._count
        self._count += 1
        dq = self._deque
        if self._lowest:
            while dq and dq[-1][1] >= x:
                dq.pop()
        else:
            while dq and dq[-1][1] <= x:
                dq.pop()
        dq.append((i, x))
        if dq[0][0] <= i - self._n:
            dq.popleft()
        return dq[0][1] if self._count >= self._min_periods else NAN


class Sma:
    """Simple moving average of the close (or of the volume)."""

    def __init__(self, n: int, *, volume: bool = False) -> None:
        self._stats = RollingStats(n)
        self._volume = volume

    def step(
        self, open: float, high: float, low: float, close: float, volume: float
    ) -> tuple[float, ...]:
        """See :class:`Stepper`."""
        self._stats.push(volume if self._volume else close)
        return (self._stats.mean(),)


class Ema:
    """Exponential moving average of the close, ``alpha = 2 / (n + 1)``, first value as seed."""

    def __init__(self, n: int) -> None:
        self._ewm = Ewm.span(n, n)

    def step(
        self, open: float, high: float, low: float, close: float, volume: float
    ) -> tuple[float, ...]:
        """See :class:`Stepper`."""
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
        """See :class:`Stepper`."""
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
        """See :class:`Stepper`."""
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
        """See :class:`Stepper`."""
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
        """See :class:`Stepper`."""
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
        """See :class:`Stepper`."""
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
        """See :class:`Stepper`."""
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
        """See :class:`Stepper`."""
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
        """See :class:`Stepper`."""
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
