"""How orders fill and what limits a strategy runs under; shared by backtests and live runners."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from engine.errors import ConfigError


class FillMode(StrEnum):
    """Where a market order fills when the strategy gives no price inside the bar."""

    CLOSE = "close"
    NEXT_OPEN = "next_open"


class SlippageModel(StrEnum):
    """``fixed``: ``slippage_bps`` against the trader. ``spread``: half the bar's bid/ask spread
    plus ``slippage_bps``."""

    FIXED = "fixed"
    SPREAD = "spread"


@dataclass(frozen=True, slots=True, kw_only=True)
class SimConfig:
    """Fill, cost and sandbox settings for one strategy instance.

    ``position_fraction`` sizes entries that give no ``quantity``: that fraction of current
    equity (capital + realized P&L) divided by the fill price.
    """

    initial_capital: float = 10_000.0
    commission_rate: float = 0.0
    slippage_bps: float = 0.0
    slippage_model: SlippageModel = SlippageModel.FIXED
    fill_mode: FillMode = FillMode.CLOSE
    position_fraction: float = 1.0
    max_analyzing_bars: int = 20
    window_size: int = 100
    instruction_budget: int = 1_000_000
    memory_limit_mb: int = 32
    decision_log_size: int = 0

    def __post_init__(self) -> None:
        checks: list[tuple[bool, str]] = [
            (
                math.isfinite(self.initial_capital) and self.initial_capital > 0,
                f"capital must be a positive number, got {self.initial_capital}",
            ),
            (
                0 <= self.commission_rate < 0.5,
                f"commission must be a rate between 0 and 0.5 (0.001 = 0.1 %), "
                f"got {self.commission_rate}",
            ),
            (
                0 <= self.slippage_bps < 5_000,
                f"slippage-bps must be between 0 and 5000, got {self.slippage_bps}",
            ),
            (
                0 < self.position_fraction <= 100,
                f"position fraction must be in (0, 100], got {self.position_fraction}",
            ),
            (
                self.max_analyzing_bars >= 1,
                f"max analyzing bars must be >= 1, got {self.max_analyzing_bars}",
            ),
            (
                2 <= self.window_size <= 100_000,
                f"window size must be between 2 and 100000 bars, got {self.window_size}",
            ),
            (
                self.instruction_budget >= 10_000,
                f"instruction budget must be >= 10000, got {self.instruction_budget}",
            ),
            (
                4 <= self.memory_limit_mb <= 4096,
                f"memory limit must be 4..4096 MiB, got {self.memory_limit_mb}",
            ),
            (self.decision_log_size >= 0, "decision log size must be >= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        object.__setattr__(self, "fill_mode", _enum(FillMode, self.fill_mode, "fill"))
        object.__setattr__(
            self, "slippage_model", _enum(SlippageModel, self.slippage_model, "slippage model")
        )


E = TypeVar("E", bound=StrEnum)


def _enum(kind: type[E], value: object, label: str) -> E:
    try:
        return kind(str(value))
    except ValueError:
        valid = ", ".join(member.value for member in kind)
        raise ConfigError(f"{label} must be one of {valid}, got {value!r}") from None
