"""Numeric primitives over whole arrays, in numpy only (no scipy, no pandas): the first-order
linear recursion behind exponential averages and the simulated market's volatility, and
rolling sums/extremes in O(n) for any window.

Used by :mod:`engine.data.simulated` and :mod:`engine.indicators.vectorized`.
"""

from __future__ import annotations

import math

import numpy as np

from engine.errors import ConfigError

#: Longest block in :func:`ar1_filter` has scale factors up to ``e**_AR1_MAX_EXPONENT``, far
#: from float overflow (``e**709``) and underflow of their inverses.
_AR1_MAX_EXPONENT = 200.0


def ar1_filter(shocks: np.ndarray, phi: float, start: float) -> np.ndarray:
    """``h[t] = phi * h[t-1] + shocks[t]`` with ``h[-1] = start``, vectorized.

    Closed form per block: ``h[t] = phi**(t+1) * h0 + phi**t * cumsum(shocks[k] * phi**-k)``.
    Every term ``k <= t`` of the sum is at most ``phi**-t`` times its shock, so after scaling
    back by ``phi**t`` the rounding error stays that of the plain recursion (~1e-15 relative);
    blocks only keep ``phi**-k`` finite.
    """
    if not 0.0 <= phi < 1.0:
        raise ConfigError(f"AR(1) coefficient must be in [0, 1), got {phi}")
    shocks = np.asarray(shocks, dtype=np.float64)
    if phi == 0.0:
        return shocks.copy()
    out = np.empty(len(shocks))
    block = max(1, int(_AR1_MAX_EXPONENT / -math.log(phi)))
    powers_full = phi ** np.arange(min(block, len(shocks)), dtype=np.float64)
    level = float(start)
    for begin in range(0, len(shocks), block):
        chunk = shocks[begin : begin + block]
        powers = powers_full[: len(chunk)]
        values = powers * (phi * level + np.cumsum(chunk / powers))
        out[begin : begin + len(chunk)] = values
        level = float(values[-1])
    return out


def ewm_mean(values: np.ndarray, alpha: float, min_periods: int) -> np.ndarray:
    """pandas' ``Series.ewm(alpha=alpha, adjust=False, min_periods=min_periods).mean()``.

    The average starts at the first non-NaN value (leading NaNs stay NaN) and is NaN until
    ``min_periods`` values were seen. NaN after the first value is not supported (indicator
    inputs are finite): ConfigError.
    """
    values = np.asarray(values, dtype=np.float64)
    out = np.full(len(values), np.nan)
    valid = ~np.isnan(values)
    if not valid.any():
        return out
    first = int(np.argmax(valid))
    if not valid[first:].all():
        raise ConfigError("ewm_mean: NaN after the first value is not supported")
    out[first] = values[first]
    out[first + 1 :] = ar1_filter(alpha * values[first + 1 :], 1.0 - alpha, values[first])
    out[first : first + max(min_periods, 1) - 1] = np.nan
    return out


def _blockwise(values: np.ndarray, window: int, op: np.ufunc, identity: float) -> np.ndarray:
    """``op`` over each full window ``[i-window+1, i]`` (van Herk / Gil-Werman): prefix and
    suffix accumulations inside blocks of ``window``; index ``i - window + 1`` of the result."""
    n = len(values)
    blocks = -(-n // window)
    padded = np.full(blocks * window, identity)
    padded[:n] = values
    grid = padded.reshape(blocks, window)
    prefix = op.accumulate(grid, axis=1).ravel()
    suffix = op.accumulate(grid[:, ::-1], axis=1)[:, ::-1].ravel()
    ends = np.arange(window - 1, n)
    starts = ends - window + 1
    result = op(suffix[starts], prefix[ends])
    aligned = starts % window == 0  # the window is exactly one block: its prefix alone
    result[aligned] = prefix[ends[aligned]]
    return result


#: Aggregation name -> (binary ufunc, its identity element).
_AGGREGATIONS: dict[str, tuple[np.ufunc, float]] = {
    "max": (np.maximum, -np.inf),
    "min": (np.minimum, np.inf),
    "sum": (np.add, 0.0),
    "mean": (np.add, 0.0),
}


def rolling(values: np.ndarray, window: int, how: str, min_periods: int) -> np.ndarray:
    """pandas' ``Series.rolling(window, min_periods).<how>()`` for ``how`` in sum, mean, max,
    min, over finite or NaN-containing input (a window with NaN gives NaN for sum/mean, as
    pandas does when fewer than ``min_periods`` values remain; here any NaN makes it NaN)."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if window < 1 or not 1 <= min_periods <= window:
        raise ConfigError(
            f"rolling: need window >= 1 and 1 <= min_periods <= window, got {window}, {min_periods}"
        )
    out = np.full(n, np.nan)
    if n == 0:
        return out
    if how not in _AGGREGATIONS:
        raise ConfigError(f"rolling: unknown aggregation {how!r}")
    op, identity = _AGGREGATIONS[how]
    head = min(window - 1, n)
    start_values = op.accumulate(values[:head]) if head else np.empty(0)
    if how == "mean":
        start_values = start_values / np.arange(1, head + 1)
    out[:head] = start_values
    out[: min_periods - 1] = np.nan
    if n >= window:
        full = _blockwise(values, window, op, identity)
        out[window - 1 :] = full / window if how == "mean" else full
    return out
