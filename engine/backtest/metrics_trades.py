"""Per-trade statistics of one run (DESIGN.md, "Metrics"); re-exported by
:mod:`engine.backtest.metrics`.

A trade with ``pnl > 0`` is a win, ``pnl < 0`` a loss; a trade with exactly zero P&L counts in
``num_trades`` (and in the averages over all trades) but is neither. Money amounts are in the
account currency, net of commission, as recorded on :class:`~engine.strategy.trades.Trade`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.errors import ConfigError
from engine.strategy.trades import ExitReason, Trade


@dataclass(frozen=True, kw_only=True)
class TradeMetrics:
    """Statistics over a run's closed trades.

    Conventions for empty groups: with no wins ``avg_win`` and ``largest_win`` are 0.0, with no
    losses ``avg_loss`` and ``largest_loss`` are 0.0, with no trades every average is 0.0.
    ``avg_loss``, ``largest_loss`` and ``gross_loss`` are negative (or 0.0).
    ``profit_factor`` = gross profit / |gross loss|: ``math.inf`` when there is profit and no
    loss, 0.0 when there is no profit (including no trades).
    ``sqn`` = √N × mean(pnl) / std(pnl, ddof=1), 0.0 when N < 2 or the P&Ls are all equal.
    ``exposure_pct`` = bars in position / total bars × 100 (0.0 for zero bars).
    """

    num_trades: int
    num_wins: int
    num_losses: int
    win_rate_pct: float
    avg_win: float
    avg_loss: float
    avg_trade: float
    avg_trade_pct: float
    largest_win: float
    largest_loss: float
    profit_factor: float
    expectancy: float
    sqn: float
    avg_hold_bars: float
    max_hold_bars: int
    avg_hold_time_s: float
    max_hold_time_s: float
    gross_profit: float
    gross_loss: float
    total_commission: float
    exposure_pct: float
    end_of_data_trades: int


def trade_metrics(
    trades: Sequence[Trade], *, bars_in_position: int, total_bars: int
) -> TradeMetrics:
    """Statistics of ``trades``; exposure from ``bars_in_position`` out of ``total_bars``.

    Raises :class:`ConfigError` when the bar counts are negative.
    """
    if bars_in_position < 0 or total_bars < 0:
        raise ConfigError(
            f"bar counts must be >= 0, got bars_in_position={bars_in_position}, "
            f"total_bars={total_bars}"
        )
    n = len(trades)
    pnl = np.fromiter((t.pnl for t in trades), dtype=np.float64, count=n)
    wins = pnl[pnl > 0]
    losses = pnl[pnl < 0]
    gross_profit = float(wins.sum())
    gross_loss = float(losses.sum())
    held_bars = np.fromiter((t.bars_held for t in trades), dtype=np.int64, count=n)
    held_ms = np.fromiter((t.exit_time - t.entry_time for t in trades), dtype=np.int64, count=n)
    return TradeMetrics(
        num_trades=n,
        num_wins=len(wins),
        num_losses=len(losses),
        win_rate_pct=len(wins) / n * 100.0 if n else 0.0,
        avg_win=_mean(wins),
        avg_loss=_mean(losses),
        avg_trade=_mean(pnl),
        avg_trade_pct=_mean(np.fromiter((t.pnl_pct for t in trades), np.float64, count=n)),
        largest_win=float(wins.max()) if len(wins) else 0.0,
        largest_loss=float(losses.min()) if len(losses) else 0.0,
        profit_factor=_profit_factor(gross_profit, gross_loss),
        expectancy=_mean(pnl),
        sqn=_sqn(pnl),
        avg_hold_bars=_mean(held_bars),
        max_hold_bars=int(held_bars.max()) if n else 0,
        avg_hold_time_s=_mean(held_ms) / 1000.0,
        max_hold_time_s=float(held_ms.max()) / 1000.0 if n else 0.0,
        gross_profit=gross_profit,
        gross_loss=gross_loss,
        total_commission=math.fsum(t.commission for t in trades),
        exposure_pct=bars_in_position / total_bars * 100.0 if total_bars else 0.0,
        end_of_data_trades=sum(1 for t in trades if t.exit_reason == ExitReason.END_OF_DATA),
    )


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else 0.0


def _profit_factor(gross_profit: float, gross_loss: float) -> float:
    if gross_loss < 0:
        return gross_profit / -gross_loss
    return math.inf if gross_profit > 0 else 0.0


def _sqn(pnl: np.ndarray) -> float:
    if len(pnl) < 2 or pnl.min() == pnl.max():
        return 0.0
    return math.sqrt(len(pnl)) * float(pnl.mean()) / float(pnl.std(ddof=1))
