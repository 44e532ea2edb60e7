"""Streaming building blocks of the incremental indicators: O(1) per value, bar by bar.

- :class:`IncrementalIndicator` (what the registry hands out) and :class:`Stepper` (the raw
  per-bar computation behind one), joined by :class:`Warmed` (masks the warm-up bars);
- :class:`Ewm` runs pandas' ``ewm(adjust=False)`` update, operation for operation
  (``pandas/_libs/window/aggregations.pyx: ewm``), one value at a time;
- :class:`RollingStats` updates windowed sums by add/remove and recomputes them from the window
  every ``n`` values, so rounding never builds up over more than one window (amortized O(1));
- :class:`RollingExtreme` uses a monotonic deque (amortized O(1)).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Protocol

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
