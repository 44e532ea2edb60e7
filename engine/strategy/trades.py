"""Closed trades as plain records, shared by the backtester, live runners and metrics."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class ExitReason(StrEnum):
    """Why a position was closed (DESIGN.md, "State machine and fills")."""

    STOP_LOSS = "stop_loss"
    TAKE_PROFIT = "take_profit"
    SIGNAL = "signal"
    END_OF_DATA = "end_of_data"
    MANUAL = "manual"


class Trade(NamedTuple):
    """One round trip. Times are ms since epoch (UTC); ``side`` is "long" or "short".

    A NamedTuple (immutable, cheap to create: a backtest may close tens of thousands).

    ``pnl`` = (exit - entry) * quantity * direction - commission (entry + exit);
    ``pnl_pct`` = pnl / (entry_price * quantity) * 100.
    """

    run_id: int
    side: str
    entry_time: int
    exit_time: int
    entry_bar: int
    exit_bar: int
    entry_price: float
    exit_price: float
    quantity: float
    pnl: float
    pnl_pct: float
    commission: float
    exit_reason: str
    bars_held: int
    mfe: float
    mae: float

    def to_dict(self) -> dict[str, object]:
        """JSON-able dict (the seed's trade fields plus bars, commission, MFE/MAE)."""
        return self._asdict()
