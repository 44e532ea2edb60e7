"""Technical indicators for strategies: one registry, computed vectorized or bar by bar.

``REGISTRY`` maps each name of :data:`engine.strategy.contract.INDICATOR_FUNCTIONS` to an
:class:`IndicatorSpec`: its positional parameters, outputs and input columns, a vectorized
``compute`` over whole numpy arrays (the backtester) and an ``incremental`` form fed one bar at a
time (live runners, :mod:`engine.indicators.incremental`). Both give the same values.

The formulas are those of the ``ta`` library (``fillna=False``); the kernels are in
:mod:`engine.indicators.vectorized`.

Every value is causal (bar ``i`` uses bars ``<= i`` only). An indicator has no value (NaN, and
``None`` from ``update``) during its first ``warmup(*args)`` bars; multi-output indicators
start all outputs together, at the bar where the last of them is defined. Non-finite values
(the stochastic %K over a window whose high equals its low) are NaN too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Real
from types import MappingProxyType

import numpy as np

from engine.data.filters import rolling
from engine.errors import ConfigError
from engine.indicators import incremental as inc
from engine.indicators import streaming
from engine.indicators import vectorized as vec
from engine.indicators.incremental import WindowFields, check_window
from engine.indicators.streaming import IncrementalIndicator

__all__ = [
    "MAX_PERIOD",
    "REGISTRY",
    "IncrementalIndicator",
    "IndicatorSpec",
    "ParamSpec",
    "WindowFields",
    "compute_indicator",
    "normalize_args",
    "window_fields",
]

#: Longest period accepted (about two years of one-minute bars).
MAX_PERIOD = 1_000_000

Args = tuple[float, ...]
Arrays = dict[str, np.ndarray]


def _fmt(value: float) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)


@dataclass(frozen=True, kw_only=True)
class ParamSpec:
    """One positional parameter: a period (integer >= 1) unless ``integer`` is False (> 0)."""

    name: str
    default: float | None = None  # None: the argument is required
    integer: bool = True
    description: str = ""

    def validate(self, signature: str, value: object) -> float:
        """``value`` checked and normalized (an int for periods); ConfigError if invalid."""
        if isinstance(value, bool) or not isinstance(value, Real):
            raise ConfigError(f"{signature}: {self.name} must be a number, got {value!r}")
        number = float(value)
        if not self.integer:
            if not (math.isfinite(number) and number > 0):
                raise ConfigError(
                    f"{signature}: {self.name} must be a number > 0, got {_fmt(number)}"
                )
            return number
        if not (math.isfinite(number) and number.is_integer() and number >= 1):
            raise ConfigError(
                f"{signature}: {self.name} must be an integer >= 1, got {_fmt(number)}"
            )
        if number > MAX_PERIOD:
            raise ConfigError(
                f"{signature}: {self.name} must be at most {MAX_PERIOD}, got {_fmt(number)}"
            )
        return int(number)


@dataclass(frozen=True, kw_only=True)
class IndicatorSpec:
    """One indicator: parameters, outputs, inputs and its two ways of computing.

    ``kernel``, ``stepper`` and ``lookback`` take normalized arguments; call ``compute``,
    ``incremental`` and ``warmup`` instead, which normalize and validate them first.
    """

    name: str
    params: tuple[ParamSpec, ...]
    outputs: tuple[str, ...]
    inputs: tuple[str, ...]
    description: str
    kernel: Callable[[Arrays, Args], Arrays] = field(repr=False, compare=False)
    stepper: Callable[[Args], streaming.Stepper] = field(repr=False, compare=False)
    lookback: Callable[[Args], int] = field(repr=False, compare=False)
    check: Callable[[Args], str | None] | None = field(default=None, repr=False, compare=False)

    @property
    def signature(self) -> str:
        """How the indicator is called, e.g. ``macd(fast, slow, signal)``."""
        return f"{self.name}({', '.join(p.name for p in self.params)})"

    def normalize(self, args: Sequence[object]) -> Args:
        """Arguments with defaults filled in and validated; ConfigError if invalid."""
        if len(args) > len(self.params):
            raise ConfigError(
                f"{self.signature}: takes at most {len(self.params)} argument(s), got {len(args)}"
            )
        values: list[float] = []
        for i, param in enumerate(self.params):
            if i < len(args):
                values.append(param.validate(self.signature, args[i]))
            elif param.default is None:
                raise ConfigError(f"{self.signature}: missing argument {param.name}")
            else:
                values.append(param.validate(self.signature, param.default))
        norm = tuple(values)
        problem = self.check(norm) if self.check else None
        if problem:
            raise ConfigError(f"{self.signature}: {problem}")
        return norm

    def compute(self, columns: Mapping[str, np.ndarray], *args: float) -> Arrays:
        """All outputs over whole columns (only ``inputs`` are read); NaN where no value yet."""
        norm = self.normalize(args)
        missing = [name for name in self.inputs if name not in columns]
        if missing:
            raise ConfigError(f"{self.name} needs the column(s) {', '.join(missing)}")
        arrays = {name: np.asarray(columns[name], dtype=np.float64) for name in self.inputs}
        if len({a.shape for a in arrays.values()}) != 1 or arrays[self.inputs[0]].ndim != 1:
            raise ConfigError(f"{self.name}: input columns must be 1-D arrays of equal length")
        raw = self.kernel(arrays, norm)
        warmup = self.lookback(norm)
        result: Arrays = {}
        for name in self.outputs:
            values = np.array(raw[name], dtype=np.float64)
            values[np.isinf(values)] = np.nan
            values[:warmup] = np.nan
            result[name] = values
        return result

    def incremental(self, *args: float) -> IncrementalIndicator:
        """A fresh one-bar-at-a-time instance: ``update`` gives ``compute``'s values at that bar."""
        norm = self.normalize(args)
        return streaming.Warmed(self.stepper(norm), self.outputs, self.lookback(norm))

    def warmup(self, *args: float) -> int:
        """Bars before the first value (of every output)."""
        return self.lookback(self.normalize(args))


# -- registry ------------------------------------------------------------------------------------


def _period(name: str = "n", default: float | None = None, description: str = "") -> ParamSpec:
    return ParamSpec(name=name, default=default, description=description or "period in bars")


def _i(args: Args, index: int = 0) -> int:
    return int(args[index])


def _value(values: np.ndarray) -> Arrays:
    return {"value": values}


_CLOSE = ("close",)
_HLC = ("high", "low", "close")
_VALUE = ("value",)

_SPECS = (
    IndicatorSpec(
        name="sma",
        params=(_period(),),
        outputs=_VALUE,
        inputs=_CLOSE,
        description="Simple moving average of the close over n bars.",
        kernel=lambda c, a: _value(vec.sma(c["close"], _i(a))),
        stepper=lambda a: inc.Sma(_i(a)),
        lookback=lambda a: _i(a) - 1,
    ),
    IndicatorSpec(
        name="ema",
        params=(_period(),),
        outputs=_VALUE,
        inputs=_CLOSE,
        description="Exponential moving average of the close, alpha = 2/(n+1), "
        "seeded with the first close; first value at bar n-1.",
        kernel=lambda c, a: _value(vec.ema(c["close"], _i(a))),
        stepper=lambda a: inc.Ema(_i(a)),
        lookback=lambda a: _i(a) - 1,
    ),
    IndicatorSpec(
        name="wma",
        params=(_period(),),
        outputs=_VALUE,
        inputs=_CLOSE,
        description="Linearly weighted moving average of the close (newest bar weighs n).",
        kernel=lambda c, a: _value(vec.wma(c["close"], _i(a))),
        stepper=lambda a: inc.Wma(_i(a)),
        lookback=lambda a: _i(a) - 1,
    ),
    IndicatorSpec(
        name="rsi",
        params=(_period(default=14),),
        outputs=_VALUE,
        inputs=_CLOSE,
        description="Relative strength index (0..100) with Wilder's smoothing.",
        kernel=lambda c, a: _value(vec.rsi(c["close"], _i(a))),
        stepper=lambda a: inc.Rsi(_i(a)),
        lookback=lambda a: _i(a) - 1,
    ),
    IndicatorSpec(
        name="macd",
        params=(
            _period("fast", 12, "fast EMA period"),
            _period("slow", 26, "slow EMA period"),
            _period("signal", 9, "signal EMA period"),
        ),
        outputs=("macd", "signal", "histogram"),
        inputs=_CLOSE,
        description="MACD line (fast EMA - slow EMA), its signal EMA and the histogram "
        "(line - signal).",
        kernel=lambda c, a: vec.macd(c["close"], _i(a, 0), _i(a, 1), _i(a, 2)),
        stepper=lambda a: inc.Macd(_i(a, 0), _i(a, 1), _i(a, 2)),
        lookback=lambda a: _i(a, 1) + _i(a, 2) - 2,
        check=lambda a: (
            None
            if a[0] < a[1]
            else f"fast must be less than slow, got fast={_fmt(a[0])}, slow={_fmt(a[1])}"
        ),
    ),
    IndicatorSpec(
        name="bollinger",
        params=(
            _period(default=20),
            ParamSpec(name="k", default=2.0, integer=False, description="width in std devs"),
        ),
        outputs=("upper", "middle", "lower"),
        inputs=_CLOSE,
        description="Bollinger bands: SMA(n) ± k population (ddof=0) standard deviations.",
        kernel=lambda c, a: vec.bollinger(c["close"], _i(a), a[1]),
        stepper=lambda a: inc.Bollinger(_i(a), a[1]),
        lookback=lambda a: _i(a) - 1,
    ),
    IndicatorSpec(
        name="atr",
        params=(_period(default=14),),
        outputs=_VALUE,
        inputs=_HLC,
        description="Average true range: mean of the first n true ranges, then Wilder's smoothing.",
        kernel=lambda c, a: _value(vec.atr(c["high"], c["low"], c["close"], _i(a))),
        stepper=lambda a: inc.Atr(_i(a)),
        lookback=lambda a: _i(a) - 1,
    ),
    IndicatorSpec(
        name="highest",
        params=(_period(),),
        outputs=_VALUE,
        inputs=("high",),
        description="Highest high of the last n bars, current bar included.",
        kernel=lambda c, a: _value(rolling(c["high"], _i(a), "max", _i(a))),
        stepper=lambda a: inc.Extreme(_i(a), lowest=False),
        lookback=lambda a: _i(a) - 1,
    ),
    IndicatorSpec(
        name="lowest",
        params=(_period(),),
        outputs=_VALUE,
        inputs=("low",),
        description="Lowest low of the last n bars, current bar included.",
        kernel=lambda c, a: _value(rolling(c["low"], _i(a), "min", _i(a))),
        stepper=lambda a: inc.Extreme(_i(a), lowest=True),
        lookback=lambda a: _i(a) - 1,
    ),
    IndicatorSpec(
        name="volume_sma",
        params=(_period(default=20),),
        outputs=_VALUE,
        inputs=("volume",),
        description="Simple moving average of the volume over n bars.",
        kernel=lambda c, a: _value(vec.sma(c["volume"], _i(a))),
        stepper=lambda a: inc.Sma(_i(a), volume=True),
        lookback=lambda a: _i(a) - 1,
    ),
    IndicatorSpec(
        name="stoch",
        params=(_period(default=14), _period("d", 3, "%D smoothing period")),
        outputs=("k", "d"),
        inputs=_HLC,
        description="Stochastic oscillator: %K = 100 (close - lowest low) / (highest high - "
        "lowest low) over n bars; %D = SMA(d) of %K.",
        kernel=lambda c, a: vec.stoch(c["high"], c["low"], c["close"], _i(a, 0), _i(a, 1)),
        stepper=lambda a: inc.Stoch(_i(a, 0), _i(a, 1)),
        lookback=lambda a: _i(a, 0) + _i(a, 1) - 2,
    ),
    IndicatorSpec(
        name="adx",
        params=(_period(default=14),),
        outputs=("adx", "plus_di", "minus_di"),
        inputs=_HLC,
        description="Average directional index with +DI and -DI (Wilder's smoothing).",
        kernel=lambda c, a: vec.adx(c["high"], c["low"], c["close"], _i(a)),
        stepper=lambda a: inc.Adx(_i(a)),
        lookback=lambda a: 2 * _i(a) - 1,
    ),
)

#: Indicator name -> spec, for exactly the names of
#: ``engine.strategy.contract.INDICATOR_FUNCTIONS``.
REGISTRY: Mapping[str, IndicatorSpec] = MappingProxyType({s.name: s for s in _SPECS})


def _spec(name: str) -> IndicatorSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        valid = ", ".join(REGISTRY)
        raise ConfigError(f"unknown indicator {name!r}; valid names: {valid}") from None


def normalize_args(name: str, args: Sequence[float]) -> tuple[float, ...]:
    """``name``'s arguments with defaults filled in and validated (periods become ints).

    Raises ConfigError for an unknown name or an invalid argument, with a message such as
    ``ema(n): n must be an integer >= 1, got 0``.
    """
    return _spec(name).normalize(args)


def compute_indicator(name: str, columns: Mapping[str, np.ndarray], *args: float) -> Arrays:
    """Outputs of ``name(*args)`` over whole columns (``open``..``volume``); NaN during warm-up."""
    return _spec(name).compute(columns, *args)


def window_fields(
    high: np.ndarray, low: np.ndarray, volume: np.ndarray, window: int
) -> dict[str, np.ndarray]:
    """The runner's window fields at every bar, over the last ``window`` bars incl. the current.

    ``high`` (highest high), ``low`` (lowest low), ``range`` (high - low) and ``avg_volume``
    (mean volume); fewer bars at the start (``min_periods=1``). See :class:`WindowFields`.
    """
    window = check_window(window)
    hh = rolling(np.asarray(high, dtype=np.float64), window, "max", 1)
    ll = rolling(np.asarray(low, dtype=np.float64), window, "min", 1)
    avg = rolling(np.asarray(volume, dtype=np.float64), window, "mean", 1)
    return {"high": hh, "low": ll, "range": hh - ll, "avg_volume": avg}
