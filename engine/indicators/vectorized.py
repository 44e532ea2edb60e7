"""Vectorized indicator kernels over whole numpy arrays (the backtester's path).

The formulas are those of the ``ta`` library (``fillna=False``). Exponential and windowed
averages run on the numpy primitives of :mod:`engine.data.filters` (``ta`` itself needs pandas,
whose import alone costs more than a whole backtest's indicators; WMA, ATR and ADX loop in
Python inside ``ta``); Bollinger bands and the stochastic oscillator call ``ta``'s classes,
imported on first use. The tests hold every kernel equal to ``ta`` and to TA-Lib on real data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from engine.data.filters import ewm_mean, rolling

if TYPE_CHECKING:
    import pandas as pd

Arrays = dict[str, np.ndarray]


def _series(values: np.ndarray) -> pd.Series:
    import pandas as pd

    return pd.Series(values, copy=False)


def ema(values: np.ndarray, n: int) -> np.ndarray:
    """``ta``'s EMAIndicator: ``ewm(span=n, adjust=False, min_periods=n)``, from the first value."""
    return ewm_mean(values, 2.0 / (n + 1), n)


def sma(values: np.ndarray, n: int) -> np.ndarray:
    """``ta``'s SMAIndicator: the mean of the last n values, NaN before n values."""
    return rolling(values, n, "mean", n)


def wma(close: np.ndarray, n: int) -> np.ndarray:
    """``ta``'s WMAIndicator (weights ``i * 2 / (n * (n + 1))``, i = 1..n, newest heaviest)."""
    out = np.full(len(close), np.nan)
    if len(close) >= n:
        weights = np.arange(1, n + 1) * 2 / (n * (n + 1))
        out[n - 1 :] = np.convolve(close, weights[::-1], mode="valid")
    return out


def rsi(close: np.ndarray, n: int) -> np.ndarray:
    """``ta``'s RSIIndicator: Wilder averages (pandas ewm, alpha=1/n) of gains and losses, and
    ``100 - 100 / (1 + gain / loss)`` (100 where the average loss is 0).

    As in ``ta``, the first bar counts as a move of 0, so the first value is at bar n-1.
    """
    move = np.zeros(len(close))
    np.subtract(close[1:], close[:-1], out=move[1:])
    up = ewm_mean(np.maximum(move, 0.0), 1 / n, n)
    down = ewm_mean(np.maximum(-move, 0.0), 1 / n, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        rsi = up / down
    rsi += 1
    np.divide(100.0, rsi, out=rsi)
    np.subtract(100.0, rsi, out=rsi)
    rsi[down == 0] = 100.0
    return rsi


def true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """``max(high, prev close) - min(low, prev close)``; ``high - low`` on the first bar."""
    tr = high - low
    tr[1:] = np.maximum(high[1:], close[:-1]) - np.minimum(low[1:], close[:-1])
    return tr


def wilder(values: np.ndarray, n: int, start: int) -> np.ndarray:
    """Wilder's average: the mean of ``values[start-n+1 : start+1]`` at ``start``, then
    ``a = (a * (n - 1) + x) / n`` (as pandas ewm with alpha=1/n); NaN before ``start``."""
    seeded = np.full(len(values), np.nan)
    if start < len(values):
        seeded[start] = values[start - n + 1 : start + 1].sum() / n
        seeded[start + 1 :] = values[start + 1 :]
    return ewm_mean(seeded, 1 / n, 1)


def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int) -> np.ndarray:
    """``ta``'s AverageTrueRange (first value at bar n-1: the mean of true ranges 0..n-1)."""
    return wilder(true_range(high, low, close), n, n - 1)


def adx(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int) -> Arrays:
    """``ta``'s ADXIndicator: Wilder averages of true range and directional movement seeded
    over bars 1..n; DI at bar >= n; ADX seeded with the mean DX of bars n..2n-1."""
    up = np.zeros(len(close))
    down = np.zeros(len(close))
    up[1:] = high[1:] - high[:-1]
    down[1:] = low[:-1] - low[1:]
    plus = np.where((up > down) & (up > 0), up, 0.0)
    minus = np.where((down > up) & (down > 0), down, 0.0)
    tr, plus, minus = (wilder(x, n, n) for x in (true_range(high, low, close), plus, minus))
    with np.errstate(divide="ignore", invalid="ignore"):
        plus_di = np.where(tr != 0, 100 * (plus / tr), 0.0)
        minus_di = np.where(tr != 0, 100 * (minus / tr), 0.0)
        total = plus_di + minus_di
        dx = np.where(total != 0, 100 * np.abs((plus_di - minus_di) / total), 0.0)
    return {"adx": wilder(dx, n, 2 * n - 1), "plus_di": plus_di, "minus_di": minus_di}


def macd(close: np.ndarray, fast: int, slow: int, signal: int) -> Arrays:
    """``ta``'s MACD: EMA(fast) - EMA(slow), its EMA(signal) (from the line's first value) and
    the histogram (line - signal)."""
    line = ema(close, fast) - ema(close, slow)
    signal_line = ewm_mean(line, 2.0 / (signal + 1), signal)
    return {"macd": line, "signal": signal_line, "histogram": line - signal_line}


def bollinger(close: np.ndarray, n: int, k: float) -> Arrays:
    """``ta``'s BollingerBands: SMA(n) ± k population standard deviations."""
    from ta.volatility import BollingerBands

    b = BollingerBands(_series(close), window=n, window_dev=k)
    return {
        "upper": b.bollinger_hband().to_numpy(),
        "middle": b.bollinger_mavg().to_numpy(),
        "lower": b.bollinger_lband().to_numpy(),
    }


def stoch(high: np.ndarray, low: np.ndarray, close: np.ndarray, n: int, d: int) -> Arrays:
    """``ta``'s StochasticOscillator: %K over n bars and %D = SMA(d) of %K."""
    from ta.momentum import StochasticOscillator

    s = StochasticOscillator(_series(high), _series(low), _series(close), window=n, smooth_window=d)
    return {"k": s.stoch().to_numpy(), "d": s.stoch_signal().to_numpy()}
