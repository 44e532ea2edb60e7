"""Monte Carlo robustness of a backtest from its closed trades.

Each of ``simulations`` seeded resamples reorders the trade P&Ls (``shuffle``: a random
permutation, so the final return is unchanged and only the path — hence the drawdown —
varies) or draws them with replacement (``bootstrap``: the final return varies too). Each
path is the trade-by-trade equity ``capital + cumsum(pnl)``; its max drawdown is the largest
peak-to-trough fall in % (the peak includes the starting capital). Draw order: one
``Generator.permutation`` / ``Generator.integers`` call per simulation, in order, from
``numpy.random.default_rng(seed)`` — the tests rebuild the same numbers with a plain loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.errors import ConfigError

METHODS = ("shuffle", "bootstrap")
PERCENTILES = (5, 50, 95)
FAN_PERCENTILES = (5, 25, 50, 75, 95)
MAX_SIMULATIONS = 10_000
MAX_CELLS = 20_000_000
"""Simulations × trades at most (memory of the paths)."""
MAX_FAN_POINTS = 400


@dataclass(frozen=True, kw_only=True)
class MonteCarloResult:
    """Percentiles of final return and max drawdown, probability of loss, the fan."""

    method: str
    simulations: int
    seed: int
    trades: int
    final_return_pct: dict[str, float]
    max_drawdown_pct: dict[str, float]
    probability_of_loss: float
    original: dict[str, float]
    fan: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "method": self.method,
            "simulations": self.simulations,
            "seed": self.seed,
            "trades": self.trades,
            "final_return_pct": self.final_return_pct,
            "max_drawdown_pct": self.max_drawdown_pct,
            "probability_of_loss": self.probability_of_loss,
            "original": self.original,
            "fan": self.fan,
        }


def resample(pnl: np.ndarray, simulations: int, seed: int, method: str) -> np.ndarray:
    """``simulations`` × ``len(pnl)`` resampled P&L sequences (see the module docstring)."""
    rng = np.random.default_rng(seed)
    m = len(pnl)
    out = np.empty((simulations, m))
    for i in range(simulations):
        if method == "shuffle":
            out[i] = pnl[rng.permutation(m)]
        else:
            out[i] = pnl[rng.integers(0, m, size=m)]
    return out


def paths(pnl: np.ndarray, capital: float) -> np.ndarray:
    """Equity after each trade, with the starting capital as column 0."""
    start = np.full((pnl.shape[0], 1), capital)
    return np.hstack([start, capital + np.cumsum(pnl, axis=1)])


def max_drawdown_pct(equity: np.ndarray) -> np.ndarray:
    """Largest peak-to-trough fall of each row, in % of the peak."""
    peak = np.maximum.accumulate(equity, axis=1)
    return np.max((peak - equity) / peak, axis=1) * 100.0


def monte_carlo(
    pnl: Sequence[float],
    *,
    capital: float,
    simulations: int = 1000,
    seed: int = 1,
    method: str = "shuffle",
) -> MonteCarloResult:
    """Run the resamples and summarize them; ConfigError for bad arguments."""
    if method not in METHODS:
        raise ConfigError(f"method {method!r}: expected shuffle or bootstrap")
    if not 1 <= simulations <= MAX_SIMULATIONS:
        raise ConfigError(f"simulations must be 1..{MAX_SIMULATIONS}, got {simulations}")
    values = np.asarray(pnl, dtype=float)
    if len(values) < 2:
        raise ConfigError("Monte Carlo needs a backtest with at least 2 trades")
    if simulations * len(values) > MAX_CELLS:
        raise ConfigError(
            f"{simulations:,} simulations × {len(values):,} trades is too many; "
            "use fewer simulations"
        )
    if capital <= 0:
        raise ConfigError("capital must be positive")
    equity = paths(resample(values, simulations, seed, method), capital)
    final = (equity[:, -1] - capital) / capital * 100.0
    drawdown = max_drawdown_pct(equity)
    original = paths(values[None, :], capital)
    step = max(1, int(np.ceil(equity.shape[1] / MAX_FAN_POINTS)))
    idx = np.unique(np.r_[np.arange(0, equity.shape[1], step), equity.shape[1] - 1])
    bands = np.percentile(equity[:, idx], FAN_PERCENTILES, axis=0)
    return MonteCarloResult(
        method=method,
        simulations=simulations,
        seed=seed,
        trades=len(values),
        final_return_pct=_percentiles(final),
        max_drawdown_pct=_percentiles(drawdown),
        probability_of_loss=float(np.mean(final < 0.0)),
        original={
            "final_return_pct": float((original[0, -1] - capital) / capital * 100.0),
            "max_drawdown_pct": float(max_drawdown_pct(original)[0]),
        },
        fan={
            "trade": idx.tolist(),
            "bands": {
                f"p{p}": [round(float(v), 4) for v in row]
                for p, row in zip(FAN_PERCENTILES, bands, strict=True)
            },
            "original": [round(float(v), 4) for v in original[0, idx]],
        },
    )


def _percentiles(values: np.ndarray) -> dict[str, float]:
    found = np.percentile(values, PERCENTILES)
    return {f"p{p}": float(v) for p, v in zip(PERCENTILES, found, strict=True)}
