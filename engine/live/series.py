"""Indicator series for live runners: incremental, fed one bar at a time.

The kernel asks for a series the first time a strategy calls an indicator; this provider
replays the bars it has kept through a fresh incremental indicator (so the first value equals
the vectorized one over the same bars), then extends every tracked series by one value per bar.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.data.bars import Bar
from engine.indicators.registry import REGISTRY, IncrementalIndicator, WindowFields

SeriesKey = tuple[str, tuple[float, ...]]
HISTORY_KEPT = 600
"""Bars a series keeps (at least; twice the window when larger) to compute an indicator a
strategy asks for only later: enough for the usual periods, and flat memory per runner."""
SPARKLINE = 20


@dataclass
class Tracked:
    """One tracked indicator: its incremental state and the last values per output."""

    label: str
    outputs: tuple[str, ...]
    indicator: IncrementalIndicator | WindowFields
    recent: dict[str, deque[float]] = field(default_factory=dict)


def _label(name: str, args: tuple[float, ...]) -> str:
    if name == "window":
        return "window"
    return f"{name}({', '.join(f'{a:g}' for a in args)})"


class IncrementalSeries:
    """SeriesProvider for live runners (see :class:`engine.strategy.instance.SeriesProvider`)."""

    def __init__(self, keep: int = HISTORY_KEPT) -> None:
        self._bars: deque[tuple[float, float, float, float, float]] = deque(maxlen=keep)
        self._offset = 0  # bars dropped from the front of _bars
        self.tracked: dict[SeriesKey, Tracked] = {}

    @property
    def count(self) -> int:
        """Bars seen so far (the index of the latest bar, 1-based)."""
        return self._offset + len(self._bars)

    def series(self, name: str, args: tuple[float, ...]) -> dict[str, np.ndarray]:
        """Full arrays (index 0 = bar 1) for a newly requested indicator; NaN where unknown."""
        if name == "window":
            indicator: Any = WindowFields(int(args[0]))
            outputs: tuple[str, ...] = ("high", "low", "range", "avg_volume")
        else:
            spec = REGISTRY[name]
            indicator, outputs = spec.incremental(*args), spec.outputs
        tracked = Tracked(_label(name, args), outputs, indicator)
        tracked.recent = {out: deque(maxlen=SPARKLINE) for out in outputs}
        arrays = {out: np.full(self.count, np.nan) for out in outputs}
        for k, bar in enumerate(self._bars, start=self._offset):
            values = self._update(tracked, bar)
            if values:
                for out in outputs:
                    arrays[out][k] = values[out]
        self.tracked[(name, args)] = tracked
        return arrays

    def append(self, bar: Bar) -> dict[SeriesKey, dict[str, float]]:
        """Add the next bar; the new value of every tracked output (NaN = no value)."""
        row = (bar.open, bar.high, bar.low, bar.close, bar.volume)
        if len(self._bars) == self._bars.maxlen:
            self._offset += 1
        self._bars.append(row)
        out: dict[SeriesKey, dict[str, float]] = {}
        for key, tracked in self.tracked.items():
            values = self._update(tracked, row)
            out[key] = values or dict.fromkeys(tracked.outputs, math.nan)
        return out

    @staticmethod
    def _update(
        tracked: Tracked, row: tuple[float, float, float, float, float]
    ) -> dict[str, float] | None:
        o, h, lo, c, v = row
        if isinstance(tracked.indicator, WindowFields):
            values: dict[str, float] | None = tracked.indicator.update(h, lo, v)
        else:
            values = tracked.indicator.update(o, h, lo, c, v)
        if values:
            for out, value in values.items():
                if math.isfinite(value):
                    tracked.recent[out].append(value)
        return values

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """``{label[.output]: {value, previous, history}}`` for every tracked output."""
        result: dict[str, dict[str, Any]] = {}
        for tracked in self.tracked.values():
            for out, recent in tracked.recent.items():
                label = tracked.label if len(tracked.outputs) == 1 else f"{tracked.label}.{out}"
                history = list(recent)
                result[label] = {
                    "value": history[-1] if history else None,
                    "previous": history[-2] if len(history) > 1 else None,
                    "history": history,
                }
        return result
