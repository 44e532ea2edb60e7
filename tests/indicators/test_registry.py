"""engine.indicators.registry on real market data.

1. Every indicator agrees with TA-Lib within 1e-9 (relative to the series' magnitude). Where
   ``ta`` (our definition) and TA-Lib seed a recursive average differently, both run the same
   linear recursion afterwards, so the gap left by the seed shrinks by a known factor per bar;
   each test bounds that gap from the data and compares only the bars where the bound is below
   a tenth of the tolerance (see ``_converged_from``).
2. The numpy re-implementations (WMA, RSI, ATR, ADX) equal ``ta``'s classes.
3. Feeding bars one at a time gives the vectorized values at every bar, warm-up included.
4. Values are causal: a prefix of the bars gives a prefix of the values.
5. The registry is exactly the contract's list; bad parameters give clear ConfigErrors.
6. The runner's window fields equal a plain-Python loop.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
import talib
from ta.momentum import RSIIndicator
from ta.trend import ADXIndicator, WMAIndicator
from ta.volatility import AverageTrueRange

from engine.errors import ConfigError
from engine.indicators.registry import (
    REGISTRY,
    WindowFields,
    compute_indicator,
    normalize_args,
    window_fields,
)
from engine.strategy.contract import INDICATOR_FIELDS, INDICATOR_FUNCTIONS
from tests.conftest import SHARED_DATA

TOL = 1e-9
COLUMNS = ("open", "high", "low", "close", "volume")
Bars = dict[str, np.ndarray]

#: Argument sets per indicator: defaults (or a typical period) and edge cases. Periods of 1
#: on ALTBTC-1m (1,935 bars with high == low) reach the undefined-%K and zero-range branches.
CASES: dict[str, list[tuple[float, ...]]] = {
    "sma": [(20,), (1,)],
    "ema": [(20,), (1,)],
    "wma": [(10,), (1,)],
    "rsi": [(), (2,), (1,)],
    "macd": [(), (5, 35, 5), (1, 2, 1)],
    "bollinger": [(), (10, 1.5), (1, 1)],
    "atr": [(), (1,)],
    "highest": [(20,), (1,)],
    "lowest": [(20,), (1,)],
    "volume_sma": [(), (5,)],
    "stoch": [(), (3, 3), (1, 1)],
    "adx": [(), (5,), (1,)],
}
ALL_CASES = [(name, args) for name, arg_sets in CASES.items() for args in arg_sets]


def _load(name: str) -> Bars:
    frame = pd.read_csv(SHARED_DATA / f"{name}.csv")
    return {column: frame[column].to_numpy(dtype=np.float64) for column in COLUMNS}


@pytest.fixture(scope="module", params=["GOOG", "EURUSD"])
def bars(request: pytest.FixtureRequest) -> Bars:
    """GOOG (daily, prices 100..800) and EURUSD (hourly, prices near 1.1)."""
    return _load(request.param)


@pytest.fixture(scope="module", params=["GOOG", "EURUSD", "ALTBTC-1m"])
def all_bars(request: pytest.FixtureRequest) -> Bars:
    """Also ALTBTC-1m: tiny prices, flat minutes (high == low, zero true range)."""
    return _load(request.param)


def _first_value(values: np.ndarray) -> int:
    return int(np.argmax(~np.isnan(values)))


def assert_close(
    actual: np.ndarray, expected: np.ndarray, *, start: int = 0, tol: float = TOL, label: str = ""
) -> None:
    """From ``start`` on: NaN exactly where ``expected`` is NaN, elsewhere
    ``|actual - expected| <= tol * max|expected|``."""
    a, e = actual[start:], expected[start:]
    assert len(a) == len(e)
    assert np.array_equal(np.isnan(a), np.isnan(e)), (
        f"{label}: NaN at different bars, first at {start + np.argmax(np.isnan(a) != np.isnan(e))}"
    )
    defined = ~np.isnan(e)
    assert defined.any(), f"{label}: nothing to compare"
    scale = np.max(np.abs(e[defined]))
    worst = np.max(np.abs(a[defined] - e[defined]))
    assert worst <= tol * scale, f"{label}: max diff {worst:.3g} > {tol:g} x {scale:.3g}"


# -- 1. TA-Lib ---------------------------------------------------------------------------------


def _decayed(gap: float, rho: float, seed: int, size: int) -> np.ndarray:
    """Bound on the gap between two runs of one linear recursion ``y = rho*y + (1-rho)*x``
    that differ by at most ``gap`` at bar ``seed``: ``gap * rho**(i - seed)``; inf before."""
    bound = np.full(size, np.inf)
    bound[seed:] = gap * rho ** np.arange(size - seed)
    return bound


def _converged_from(bound: np.ndarray, scale: float) -> int:
    """First bar from which ``bound`` stays below a tenth of the tolerance (the rest is
    headroom for rounding); at least half the series must remain to compare."""
    above = np.nonzero(~(bound < TOL * scale / 10))[0]
    start = int(above[-1]) + 1 if len(above) else 0
    assert start < len(bound) // 2, f"seeding gap decays too slowly (bar {start})"
    return start


def _true_range(b: Bars) -> np.ndarray:
    """True range per bar (high - low on the first bar)."""
    prev = np.r_[np.nan, b["close"][:-1]]
    return np.fmax(b["high"], prev) - np.fmin(b["low"], prev)


@pytest.mark.parametrize(
    ("name", "args", "reference"),
    [
        ("sma", (20,), lambda b, a: {"value": talib.SMA(b["close"], *a)}),
        ("sma", (3,), lambda b, a: {"value": talib.SMA(b["close"], *a)}),
        ("wma", (20,), lambda b, a: {"value": talib.WMA(b["close"], *a)}),
        ("wma", (3,), lambda b, a: {"value": talib.WMA(b["close"], *a)}),
        ("highest", (20,), lambda b, a: {"value": talib.MAX(b["high"], *a)}),
        ("lowest", (20,), lambda b, a: {"value": talib.MIN(b["low"], *a)}),
        ("volume_sma", (20,), lambda b, a: {"value": talib.SMA(b["volume"], *a)}),
        (
            "bollinger",
            (20, 2.0),
            lambda b, a: dict(
                zip(
                    ("upper", "middle", "lower"),
                    talib.BBANDS(b["close"], a[0], a[1], a[1], 0),
                    strict=True,
                )
            ),
        ),
        (
            "bollinger",
            (10, 1.5),
            lambda b, a: dict(
                zip(
                    ("upper", "middle", "lower"),
                    talib.BBANDS(b["close"], a[0], a[1], a[1], 0),
                    strict=True,
                )
            ),
        ),
        (
            "stoch",
            (14, 3),
            lambda b, a: dict(
                zip(
                    ("k", "d"),
                    talib.STOCH(b["high"], b["low"], b["close"], a[0], 1, 0, a[1], 0),
                    strict=True,
                )
            ),
        ),
        (
            "stoch",
            (5, 1),
            lambda b, a: dict(
                zip(
                    ("k", "d"),
                    talib.STOCH(b["high"], b["low"], b["close"], a[0], 1, 0, a[1], 0),
                    strict=True,
                )
            ),
        ),
    ],
)
def test_same_definition_as_talib_from_the_first_value(
    bars: Bars, name: str, args: tuple[float, ...], reference: Callable[..., dict]
) -> None:
    """No recursive seed: same lookback as TA-Lib and the same values on every bar.

    (STOCH with slow-%K period 1 is the fast stochastic: %K, and %D = SMA of %K.)
    """
    ours = compute_indicator(name, bars, *args)
    theirs = reference(bars, args)
    for output in REGISTRY[name].outputs:
        assert _first_value(theirs[output]) == REGISTRY[name].warmup(*args)
        assert_close(ours[output], theirs[output], label=f"{name}{args}.{output}")


@pytest.mark.parametrize("n", [20, 5])
def test_ema_matches_talib_once_the_seed_has_decayed(bars: Bars, n: int) -> None:
    """ta seeds with the first close, TA-Lib with the SMA of the first n closes; both are
    averages of closes 0..n-1, so at bar n-1 they differ by at most the range of those closes,
    and the gap shrinks by ``1 - 2/(n+1)`` per bar. Both start at bar n-1."""
    close = bars["close"]
    ours = compute_indicator("ema", bars, n)["value"]
    theirs = talib.EMA(close, n)
    assert _first_value(ours) == _first_value(theirs) == n - 1
    bound = _decayed(np.ptp(close[:n]), 1 - 2 / (n + 1), n - 1, len(close))
    start = _converged_from(bound, np.nanmax(np.abs(theirs)))
    assert_close(ours, theirs, start=start, label=f"ema({n}) from bar {start}")


@pytest.mark.parametrize("n", [14, 5])
def test_rsi_matches_talib_once_the_seed_has_decayed(bars: Bars, n: int) -> None:
    """ta's Wilder averages of gains/losses start at bar 0 (a move of 0) and give a first RSI
    at bar n-1; TA-Lib's start at bar n as the mean of moves 1..n. At bar n both averages lie
    in [0, largest gain (loss) of bars 0..n]; then the gaps eu, ed shrink by ``1 - 1/n`` per
    bar, and RSI = 100 u/(u+d) moves by at most ``100 max(eu, ed) / (u + d - eu - ed)``."""
    close = bars["close"]
    ours = compute_indicator("rsi", bars, n)["value"]
    theirs = talib.RSI(close, n)
    assert _first_value(ours) == n - 1 and _first_value(theirs) == n
    move = np.r_[0.0, np.diff(close)]
    eu = _decayed(np.max(np.fmax(move[: n + 1], 0)), 1 - 1 / n, n, len(close))
    ed = _decayed(np.max(np.fmax(-move[: n + 1], 0)), 1 - 1 / n, n, len(close))
    total = pd.Series(np.abs(move)).ewm(alpha=1 / n, adjust=False).mean().to_numpy()  # u + d
    room = total - eu - ed
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = np.where(room > 0, 100 * np.fmax(eu, ed) / room, np.inf)
    start = _converged_from(bound, 100)
    assert_close(ours, theirs, start=start, label=f"rsi({n}) from bar {start}")


@pytest.mark.parametrize("n", [14, 5])
def test_atr_matches_talib_once_the_seed_has_decayed(bars: Bars, n: int) -> None:
    """ta's first ATR is at bar n-1 (mean of true ranges 0..n-1, bar 0's being high - low);
    TA-Lib's at bar n (mean of 1..n). At bar n both are averages of true ranges 0..n, so they
    differ by at most their range, and the gap shrinks by ``1 - 1/n`` per bar."""
    ours = compute_indicator("atr", bars, n)["value"]
    theirs = talib.ATR(bars["high"], bars["low"], bars["close"], n)
    assert _first_value(ours) == n - 1 and _first_value(theirs) == n
    tr = _true_range(bars)
    bound = _decayed(np.ptp(tr[: n + 1]), 1 - 1 / n, n, len(tr))
    start = _converged_from(bound, np.nanmax(theirs))
    assert_close(ours, theirs, start=start, label=f"atr({n}) from bar {start}")


@pytest.mark.parametrize(("fast", "slow", "signal"), [(12, 26, 9), (5, 35, 5)])
def test_macd_matches_talib_once_the_seeds_have_decayed(
    bars: Bars, fast: int, slow: int, signal: int
) -> None:
    """At bar s = slow-1 both libraries' fast and slow EMAs are averages of closes 0..s (ta
    from the first close, TA-Lib from SMA seeds there), so each gap is at most R, the range of
    those closes, and shrinks by its EMA's ``1 - alpha``. The signal lines first meet at
    q = s+signal-1, each an average of its own MACD line over s..q: their gap is at most the
    spread of one line there plus the lines' largest gap; afterwards it follows
    ``e = (1-a) e + a * e_macd``. Histogram gap <= MACD gap + signal gap."""
    close = bars["close"]
    ours = compute_indicator("macd", bars, fast, slow, signal)
    theirs = dict(
        zip(("macd", "signal", "histogram"), talib.MACD(close, fast, slow, signal), strict=True)
    )
    s, q, size = slow - 1, slow + signal - 2, len(close)
    for output in ("macd", "signal", "histogram"):
        assert _first_value(ours[output]) == _first_value(theirs[output]) == q
    spread = np.ptp(close[: s + 1])
    e_macd = _decayed(spread, 1 - 2 / (fast + 1), s, size) + _decayed(
        spread, 1 - 2 / (slow + 1), s, size
    )
    line = (
        pd.Series(close).ewm(span=fast, adjust=False).mean()
        - pd.Series(close).ewm(span=slow, adjust=False).mean()
    ).to_numpy()
    alpha = 2 / (signal + 1)
    e_signal = np.full(size, np.inf)
    e_signal[q] = np.ptp(line[s : q + 1]) + np.max(e_macd[s : q + 1])
    for i in range(q + 1, size):
        e_signal[i] = (1 - alpha) * e_signal[i - 1] + alpha * e_macd[i]
    bounds = {"macd": e_macd, "signal": e_signal, "histogram": e_macd + e_signal}
    for output, bound in bounds.items():
        start = _converged_from(bound, np.nanmax(np.abs(theirs[output])))
        assert_close(ours[output], theirs[output], start=start, label=f"macd.{output} @{start}")


def _wilder_sums(values: np.ndarray, n: int) -> np.ndarray:
    """ta's Wilder sums: bars 1..n summed at bar n, then ``S = S - S/n + x``; NaN before."""
    sums = np.full(len(values), np.nan)
    total = math.fsum(values[1 : n + 1])
    sums[n] = total
    for i in range(n + 1, len(values)):
        total = total - total / n + values[i]
        sums[i] = total
    return sums


@pytest.mark.parametrize("n", [14, 5])
def test_adx_matches_talib_once_the_seeds_have_decayed(bars: Bars, n: int) -> None:
    """ta's Wilder sums of true range and +/-DM at bar n hold moves 1..n; TA-Lib's hold moves
    1..n-1 times ``1 - 1/n`` plus move n: the exact gap is ``sum(moves 1..n-1) / n``, shrinking
    by ``1 - 1/n`` per bar. With P <= T, DI = 100 P/T moves by at most 100 (eP + eT)/T'
    (T' = TA-Lib's sum = T - eT); DX = 100|p-m|/(p+m) by at most 200 max(ep, em)/(p+m-ep-em).
    Both ADX lie in [0, 100] at bar 2n-1 and then follow ``e = (1 - 1/n) e + e_dx / n``.

    TA-Lib's +DI/-DI start at bar n; ours with the ADX, at bar 2n-1."""
    high, low, close = bars["high"], bars["low"], bars["close"]
    ours = compute_indicator("adx", bars, n)
    theirs = {
        "adx": talib.ADX(high, low, close, n),
        "plus_di": talib.PLUS_DI(high, low, close, n),
        "minus_di": talib.MINUS_DI(high, low, close, n),
    }
    assert _first_value(theirs["adx"]) == 2 * n - 1
    assert _first_value(theirs["plus_di"]) == _first_value(theirs["minus_di"]) == n
    for output in ("adx", "plus_di", "minus_di"):
        assert _first_value(ours[output]) == 2 * n - 1

    size, rho = len(close), 1 - 1 / n
    up, down = np.r_[0.0, np.diff(high)], np.r_[0.0, -np.diff(low)]
    moves = {
        "tr": _true_range(bars),
        "plus": np.where((up > down) & (up > 0), up, 0.0),
        "minus": np.where((down > up) & (down > 0), down, 0.0),
    }
    sums = {key: _wilder_sums(x, n) for key, x in moves.items()}
    gaps = {key: _decayed(math.fsum(x[1:n]) / n, rho, n, size) for key, x in moves.items()}
    t_theirs = sums["tr"] - gaps["tr"]
    with np.errstate(divide="ignore", invalid="ignore"):
        e_di = {
            side: np.where(t_theirs > 0, 100 * (gaps[side] + gaps["tr"]) / t_theirs, np.inf)
            for side in ("plus", "minus")
        }
        di_total = 100 * (sums["plus"] + sums["minus"]) / sums["tr"]
        room = di_total - e_di["plus"] - e_di["minus"]
        e_dx = np.where(room > 0, 200 * np.fmax(e_di["plus"], e_di["minus"]) / room, np.inf)
    e_adx = np.full(size, np.inf)
    e_adx[2 * n - 1] = 100.0
    for i in range(2 * n, size):
        e_adx[i] = rho * e_adx[i - 1] + e_dx[i] / n
    bounds = {"adx": e_adx, "plus_di": e_di["plus"], "minus_di": e_di["minus"]}
    for output, bound in bounds.items():
        start = max(_converged_from(bound, 100), 2 * n - 1)
        assert_close(ours[output], theirs[output], start=start, label=f"adx.{output} @{start}")


# -- 2. the numpy re-implementations equal ta ---------------------------------------------------


@pytest.mark.parametrize("n", [14, 3])
def test_numpy_implementations_equal_ta(bars: Bars, n: int) -> None:
    """WMA, RSI, ATR and ADX are computed with numpy/pandas (ta loops in Python): same values
    as ta's classes. ta reports 0 during ATR/ADX warm-up; ours has no value there."""
    h, lo, c = (pd.Series(bars[k]) for k in ("high", "low", "close"))
    ta_atr = AverageTrueRange(h, lo, c, n).average_true_range().to_numpy()
    assert not ta_atr[: n - 1].any()
    ta_adx = ADXIndicator(h, lo, c, n)
    references = {
        ("wma", "value"): WMAIndicator(c, n).wma().to_numpy(),
        ("rsi", "value"): RSIIndicator(c, n).rsi().to_numpy(),
        ("atr", "value"): ta_atr,
        ("adx", "adx"): ta_adx.adx().to_numpy(),
        ("adx", "plus_di"): ta_adx.adx_pos().to_numpy(),
        ("adx", "minus_di"): ta_adx.adx_neg().to_numpy(),
    }
    for (name, output), reference in references.items():
        ours = compute_indicator(name, bars, n)[output]
        warmup = REGISTRY[name].warmup(n)
        assert np.isnan(ours[:warmup]).all()
        assert_close(ours, reference, start=warmup, tol=1e-12, label=f"{name}({n}).{output}")


# -- 3. incremental == vectorized ---------------------------------------------------------------


@pytest.mark.parametrize(("name", "args"), ALL_CASES)
def test_incremental_equals_vectorized_on_every_bar(
    all_bars: Bars, name: str, args: tuple[float, ...]
) -> None:
    """``update`` returns None exactly during warm-up, then the vectorized values (NaN where
    they are NaN, e.g. %K over a flat window)."""
    spec = REGISTRY[name]
    vectorized = spec.compute(all_bars, *args)
    stepper = spec.incremental(*args)
    warmup = spec.warmup(*args)
    rows = [stepper.update(*bar) for bar in zip(*(all_bars[k] for k in COLUMNS), strict=True)]
    assert all(row is None for row in rows[:warmup])
    assert all(row is not None and tuple(row) == spec.outputs for row in rows[warmup:])
    for output in spec.outputs:
        stepped = np.array([math.nan if row is None else row[output] for row in rows])
        assert_close(stepped, vectorized[output], label=f"{name}{args}.{output}")


def test_the_flat_minutes_of_altbtc_reach_the_undefined_branches() -> None:
    """Guards the edge coverage above: %K has no value on flat bars, DI is 0 on zero range."""
    bars = _load("ALTBTC-1m")
    k = compute_indicator("stoch", bars, 1, 1)["k"]
    assert np.isnan(k).sum() == np.sum(bars["high"] == bars["low"]) > 0
    adx = compute_indicator("adx", bars, 1)
    flat = _true_range(bars)[1:] == 0
    assert flat.any() and (adx["plus_di"][1:][flat] == 0).all()


# -- 4. causality ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "args"), ALL_CASES)
def test_values_are_causal(all_bars: Bars, name: str, args: tuple[float, ...]) -> None:
    """Computing on bars[:k] gives the first k values of computing on all bars."""
    spec = REGISTRY[name]
    full = spec.compute(all_bars, *args)
    size = len(all_bars["close"])
    warmup = spec.warmup(*args)
    for k in sorted({1, warmup, warmup + 1, warmup + 7, size // 3, size - 1}):
        prefix = spec.compute({c: v[:k] for c, v in all_bars.items()}, *args)
        for output in spec.outputs:
            head = full[output][:k]
            assert np.array_equal(np.isnan(prefix[output]), np.isnan(head)), (name, args, k)
            if not np.isnan(head).all():
                assert_close(prefix[output], head, tol=1e-12, label=f"{name}{args}[:{k}]")


# -- 5. registry and parameters -------------------------------------------------------------------


def test_registry_is_the_contract() -> None:
    assert set(REGISTRY) == set(INDICATOR_FUNCTIONS)
    assert set(CASES) == set(INDICATOR_FUNCTIONS)
    outputs = {name: spec.outputs for name, spec in REGISTRY.items()}
    assert outputs["macd"] == ("macd", "signal", "histogram")
    assert outputs["bollinger"] == ("upper", "middle", "lower")
    assert outputs["stoch"] == ("k", "d")
    assert outputs["adx"] == ("adx", "plus_di", "minus_di")
    for name in ("sma", "ema", "wma", "rsi", "atr", "highest", "lowest", "volume_sma"):
        assert outputs[name] == ("value",)
    for spec in REGISTRY.values():
        assert set(spec.inputs) <= set(COLUMNS) and spec.description


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("macd", (), (12, 26, 9)),
        ("macd", (8.0,), (8, 26, 9)),
        ("bollinger", (20,), (20, 2.0)),
        ("bollinger", (10, 2.5), (10, 2.5)),
        ("rsi", (), (14,)),
        ("stoch", (), (14, 3)),
        ("adx", (), (14,)),
        ("atr", (), (14,)),
        ("volume_sma", (), (20,)),
        ("ema", (14.0,), (14,)),
    ],
)
def test_normalize_args_fills_defaults(
    name: str, args: tuple[float, ...], expected: tuple[float, ...]
) -> None:
    norm = normalize_args(name, args)
    assert norm == expected
    assert [type(v) for v in norm] == [type(v) for v in expected]


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("ema", (0,), "ema(n): n must be an integer >= 1, got 0"),
        ("sma", (2.5,), "sma(n): n must be an integer >= 1, got 2.5"),
        ("rsi", (-14,), "rsi(n): n must be an integer >= 1, got -14"),
        ("wma", (math.nan,), "wma(n): n must be an integer >= 1, got nan"),
        ("atr", (math.inf,), "atr(n): n must be an integer >= 1, got inf"),
        ("adx", (2e6,), "adx(n): n must be at most 1000000, got 2000000"),
        ("ema", ("10",), "ema(n): n must be a number, got '10'"),
        ("ema", (True,), "ema(n): n must be a number, got True"),
        ("sma", (), "sma(n): missing argument n"),
        ("highest", (), "highest(n): missing argument n"),
        ("sma", (5, 6), "sma(n): takes at most 1 argument(s), got 2"),
        ("bollinger", (20, 0), "bollinger(n, k): k must be a number > 0, got 0"),
        ("bollinger", (20, -1.5), "bollinger(n, k): k must be a number > 0, got -1.5"),
        ("stoch", (14, 0), "stoch(n, d): d must be an integer >= 1, got 0"),
        (
            "macd",
            (26, 12),
            "macd(fast, slow, signal): fast must be less than slow, got fast=26, slow=12",
        ),
        ("macd", (12, 12), "fast must be less than slow, got fast=12, slow=12"),
        ("macd", (12, 26, 0.5), "macd(fast, slow, signal): signal must be an integer >= 1"),
        ("vwap", (), "unknown indicator 'vwap'; valid names: " + ", ".join(INDICATOR_FUNCTIONS)),
    ],
)
def test_bad_parameters_raise_config_error(name: str, args: tuple, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        normalize_args(name, args)
    assert message in str(caught.value)
    with pytest.raises(ConfigError):
        compute_indicator(name, {c: np.ones(3) for c in COLUMNS}, *args)
    if name in REGISTRY:
        with pytest.raises(ConfigError):
            REGISTRY[name].incremental(*args)
        with pytest.raises(ConfigError):
            REGISTRY[name].warmup(*args)


def test_missing_or_ragged_columns_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="atr needs the column"):
        compute_indicator("atr", {"close": np.ones(5)}, 3)
    with pytest.raises(ConfigError, match="equal length"):
        compute_indicator("atr", {"high": np.ones(5), "low": np.ones(4), "close": np.ones(5)})


def test_warmup_is_where_every_output_starts(bars: Bars) -> None:
    """No value before ``warmup``, every output from there on (%K aside: undefined over a
    window whose high equals its low, which EURUSD has for single bars)."""
    for name, args in ALL_CASES:
        spec = REGISTRY[name]
        warmup = spec.warmup(*args)
        for output, values in spec.compute(bars, *args).items():
            assert len(values) == len(bars["close"]) and values.dtype == np.float64
            assert np.isnan(values[:warmup]).all(), (name, args, output)
            assert not np.isnan(values[warmup]), (name, args, output)
            if name != "stoch":
                assert not np.isnan(values[warmup:]).any(), (name, args, output)


# -- 6. window fields -----------------------------------------------------------------------------


def _window_loop(b: Bars, window: int) -> dict[str, list[float]]:
    highs, lows, volumes = b["high"].tolist(), b["low"].tolist(), b["volume"].tolist()
    out: dict[str, list[float]] = {key: [] for key in INDICATOR_FIELDS}
    for i in range(len(highs)):
        lo = max(0, i - window + 1)
        high, low = max(highs[lo : i + 1]), min(lows[lo : i + 1])
        out["high"].append(high)
        out["low"].append(low)
        out["range"].append(high - low)
        out["avg_volume"].append(sum(volumes[lo : i + 1]) / (i + 1 - lo))
    return out


@pytest.mark.parametrize("window", [1, 100, 2_500])
def test_window_fields_equal_a_plain_loop(all_bars: Bars, window: int) -> None:
    """Vectorized and incremental window fields equal a loop over the last ``window`` bars
    (2,500 is longer than GOOG: the window never fills there)."""
    expected = _window_loop(all_bars, window)
    vectorized = window_fields(all_bars["high"], all_bars["low"], all_bars["volume"], window)
    fields = WindowFields(window)
    stepped = [
        fields.update(h, lo, v)
        for h, lo, v in zip(all_bars["high"], all_bars["low"], all_bars["volume"], strict=True)
    ]
    assert set(vectorized) == set(INDICATOR_FIELDS)
    for key in INDICATOR_FIELDS:
        reference = np.array(expected[key])
        assert_close(vectorized[key], reference, tol=1e-12, label=f"window {key}")
        assert_close(np.array([row[key] for row in stepped]), reference, label=f"step {key}")


@pytest.mark.parametrize("window", [0, -5, 2.5, math.nan, "100", True])
def test_bad_window_raises_config_error(window: object) -> None:
    ones = np.ones(4)
    with pytest.raises(ConfigError, match="window must be an integer >= 1"):
        window_fields(ones, ones, ones, window)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="window must be an integer >= 1"):
        WindowFields(window)  # type: ignore[arg-type]
