"""A live runner: one strategy on one symbol/timeframe, fed bar by bar by the engine.

It drives the same :class:`~engine.strategy.instance.StrategyInstance` kernel as backtests, with
incrementally computed indicators. A strategy error puts only this runner in ``error`` status.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from engine.data.bars import Bar
from engine.data.timeframes import parse_timeframe
from engine.errors import ConfigError, InvalidTransitionError, StrategyError
from engine.live.series import HISTORY_KEPT, IncrementalSeries
from engine.strategy.fills import SimConfig
from engine.strategy.instance import StrategyInstance, StrategySource
from engine.strategy.trades import Trade

RUNNER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class RunnerStatus(StrEnum):
    """Lifecycle of a runner (separate from the strategy's state machine)."""

    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    ERROR = "error"


@dataclass(frozen=True, kw_only=True)
class RunnerConfig:
    """What defines a runner; stored in the database and restored at engine start."""

    runner_id: str
    symbol: str
    timeframe: str
    strategy_path: str
    params: dict[str, int | float] = field(default_factory=dict)
    window_size: int = 100

    def __post_init__(self) -> None:
        if not RUNNER_ID.match(self.runner_id):
            raise ConfigError(
                f"runner_id {self.runner_id!r}: use 1-64 letters, digits, '_', '-' or '.', "
                "starting with a letter or digit"
            )
        parse_timeframe(self.timeframe)
        if not 2 <= self.window_size <= 10_000:
            raise ConfigError(f"window_size must be 2..10000 bars, got {self.window_size}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


@dataclass
class TickStats:
    """Per-runner health counters (tick = processing one bar)."""

    bars: int = 0
    errors: int = 0
    total_s: float = 0.0
    min_s: float = math.inf
    max_s: float = 0.0

    def add(self, seconds: float) -> None:
        """Record one tick's duration."""
        self.bars += 1
        self.total_s += seconds
        self.min_s = min(self.min_s, seconds)
        self.max_s = max(self.max_s, seconds)

    def to_dict(self) -> dict[str, float]:
        """Milliseconds, rounded for display."""
        avg = self.total_s / self.bars if self.bars else 0.0
        return {
            "avg_tick_ms": round(avg * 1000, 4),
            "min_tick_ms": round(self.min_s * 1000, 4) if self.bars else 0.0,
            "max_tick_ms": round(self.max_s * 1000, 4),
        }


@dataclass
class BarOutcome:
    """What one bar changed, for the publisher: new trades, transitions, actions and (when an
    action ran) this bar's decision result."""

    trades: list[Trade] = field(default_factory=list)
    transitions: list[Any] = field(default_factory=list)
    result: str | None = None
    actions: int = 0
    error: StrategyError | None = None


class LiveRunner:
    """Owns a strategy instance and its status; ``on_bar`` is called by the engine loop."""

    def __init__(
        self,
        config: RunnerConfig,
        source: StrategySource,
        *,
        sim: SimConfig | None = None,
        created_at: float | None = None,
    ) -> None:
        self.config = config
        self.source = source
        self.series = IncrementalSeries(keep=max(HISTORY_KEPT, 2 * config.window_size))
        self.sim = sim or SimConfig(window_size=config.window_size, decision_log_size=100)
        self.instance = StrategyInstance(
            source,
            symbol=config.symbol,
            timeframe=config.timeframe,
            config=self.sim,
            provider=self.series,
            params=config.params,
        )
        self.status = RunnerStatus.RUNNING
        self.error: StrategyError | None = None
        self.created_at = created_at or time.time()
        self.started_at = time.time()
        self.stats = TickStats()
        self.last_bar: Bar | None = None
        #: Open time of the last bar seen (saved: a restarted host replays the bars after it).
        self.last_seen: int | None = None
        self.trades_seen = self.transitions_seen = self.actions_seen = 0
        self.decisions_seen = 0  # bar index of the newest decision already published
        self.trades_total = self.wins = 0  # over the runner's life (restored after restarts)
        self.realized = 0.0
        #: The open position (kernel snapshot form), refreshed whenever a transition happens.
        self.open_position: dict[str, Any] | None = None
        #: The strategy state the next bar starts in (names the function it will call).
        self.state_name = "Idle"

    @property
    def runner_id(self) -> str:
        """The runner's id."""
        return self.config.runner_id

    def warm_up(self, history: list[Bar]) -> None:
        """Feed past bars to the indicators only (the strategy does not trade on them)."""
        for bar in history:
            self.series.append(bar)
            self.last_bar = bar
            self.last_seen = bar.timestamp

    def on_bar(self, bar: Bar) -> BarOutcome | None:
        """Process one bar if running; returns what changed (None when not running). A stopped
        or errored runner keeps its last price, so a position it still holds (after an error)
        shows no moving P&L."""
        self.last_seen = bar.timestamp
        if self.status is not RunnerStatus.RUNNING:
            self.series.append(bar)  # keep indicators current while paused or stopped
            if self.status is RunnerStatus.PAUSED:
                self.last_bar = bar
            return None
        self.last_bar = bar
        started = time.perf_counter()
        index = self.series.count + 1
        self.instance.extend_series(index, self.series.append(bar))
        outcome = BarOutcome()
        try:
            trades, transitions, actions, result = self.instance.step(index, bar)
        except (StrategyError, InvalidTransitionError) as exc:
            self.fail(exc if isinstance(exc, StrategyError) else _as_strategy_error(self, exc))
            outcome.error = self.error
            return outcome
        if trades != self.trades_seen or transitions != self.transitions_seen:
            new_trades, new_transitions = self.instance.results(
                trades_seen=self.trades_seen, transitions_seen=self.transitions_seen
            )
            outcome.trades, outcome.transitions = new_trades, new_transitions
            self.instance.forget_results()  # taken: the kernel's lists start again from 0
            self.trades_seen = self.transitions_seen = 0
            self.realized += sum(t.pnl for t in new_trades)
            self.trades_total += len(new_trades)
            self.wins += sum(t.pnl > 0 for t in new_trades)
            self.open_position = self.kernel_state().get("position")
            if new_transitions:
                self.state_name = new_transitions[-1].to_state
        outcome.actions = actions - self.actions_seen
        self.actions_seen = actions
        if outcome.actions:
            outcome.result = result
        self.stats.add(time.perf_counter() - started)
        return outcome

    def new_decisions(self) -> list[dict[str, Any]]:
        """Decisions not yet published, oldest first (fetched in one call per snapshot)."""
        fresh = self.instance.decisions_after(self.decisions_seen)
        if fresh:
            self.decisions_seen = int(fresh[-1]["bar"])
        return fresh

    def fail(self, error: StrategyError) -> None:
        """Stop this runner with an error (others keep running)."""
        self.status = RunnerStatus.ERROR
        self.error = error
        self.stats.errors += 1

    def set_status(self, status: RunnerStatus) -> None:
        """Pause/resume/stop/start. Starting a runner in error reloads the strategy fresh."""
        if status is RunnerStatus.RUNNING and self.status is RunnerStatus.ERROR:
            self.instance.load()
            self.error = None
            self.trades_seen = self.transitions_seen = self.actions_seen = 0
            self.open_position = None
            self.state_name = "Idle"
        if status is RunnerStatus.RUNNING and self.status is not RunnerStatus.PAUSED:
            self.started_at = time.time()
        if status is RunnerStatus.RUNNING:
            self.error = None
        self.status = status

    def close_position(self) -> list[Trade]:
        """Close an open position at the last close (reason ``manual``)."""
        if self.last_bar is None:
            return []
        self.instance.close_open("manual", self.last_bar.close)
        trades, _ = self.instance.results(
            trades_seen=self.trades_seen, transitions_seen=self.transitions_seen
        )
        self.instance.forget_results()
        self.trades_seen = self.transitions_seen = 0
        self.trades_total += len(trades)
        self.wins += sum(t.pnl > 0 for t in trades)
        self.realized += sum(t.pnl for t in trades)
        self.open_position = None
        if trades:
            self.state_name = "Idle"
        return trades

    def unrealized(self) -> float:
        """Gross unrealized P&L of the open position at the last price (0 when flat)."""
        bar, pos = self.last_bar, self.open_position
        if bar is None or pos is None:
            return 0.0
        direction = 1 if pos["side"] == "long" else -1
        return float((bar.close - pos["entry_price"]) * pos["quantity"] * direction)

    def kernel_state(self) -> dict[str, Any]:
        """The kernel snapshot (state, position, context, counters; no decision log)."""
        return self.instance.snapshot(decisions=False)

    def snapshot(self, kernel: dict[str, Any] | None = None) -> dict[str, Any]:
        """The runner snapshot published to Redis (docs/redis.md)."""
        k = kernel or self.kernel_state()
        position = k.get("position")
        unrealized = 0.0
        if position is not None and self.last_bar is not None:
            direction = 1 if position["side"] == "long" else -1
            unrealized = (self.last_bar.close - position["entry_price"]) * position[
                "quantity"
            ] * direction - position.get("entry_commission", 0.0)
            position = {**position, "unrealized_pnl": unrealized}
        now = time.time()
        bar = self.last_bar
        return {
            "runner_id": self.runner_id,
            "symbol": self.config.symbol,
            "timeframe": self.config.timeframe,
            "strategy": self.source.name,
            "strategy_path": self.config.strategy_path,
            "params": dict(self.instance.params),
            "window_size": self.config.window_size,
            "status": self.status.value,
            "error": None if self.error is None else self.error.to_dict(),
            "state": k.get("state", "Idle"),
            "position": position,
            "context": k.get("context") or {},
            "indicators": self.series.snapshot(),
            "last_bar": None if bar is None else bar.ohlcv(),
            "stats": {
                "bars_processed": int(k.get("bars", 0)),
                "actions": self.actions_seen,
                "errors": self.stats.errors,
                "trades": self.trades_total,
                "wins": self.wins,
                "realized_pnl": self.realized,
                "unrealized_pnl": unrealized,
                "total_pnl": self.realized + unrealized,
                **self.stats.to_dict(),
            },
            "created_at": int(self.created_at * 1000),
            "started_at": int(self.started_at * 1000),
            "uptime_s": round(now - self.started_at, 1)
            if self.status is not RunnerStatus.STOPPED
            else 0.0,
            "updated_at": int(now * 1000),
        }

    def saved_state(self) -> dict[str, Any]:
        """What survives an engine restart: status, kernel state, position, context, P&L."""
        k = self.kernel_state()
        return {
            "status": self.status.value,
            "state": k.get("state"),
            "position": k.get("position"),
            "context": k.get("context") or {},
            "realized": self.realized,
            "bars": int(k.get("bars", 0)),
            "trades": self.trades_total,
            "wins": self.wins,
            "error": None if self.error is None else self.error.to_dict(),
            "bar_time": None if self.last_seen is None else self.last_seen,
        }

    def restore(self, saved: dict[str, Any]) -> None:
        """Put back :meth:`saved_state`; call after :meth:`warm_up` (the indicators are rebuilt
        from the feed's history, the position keeps its bars held)."""
        position = saved.get("position")
        if position is not None:  # bar numbers restart after a restart: keep bars_held
            position = {**position, "entry_bar": self.series.count - position.get("bars_held", 0)}
        self.instance.restore(
            {
                "state": saved.get("state") or "Idle",
                "position": position,
                "context": saved.get("context") or {},
                "realized": float(saved.get("realized", 0.0)),
                "bars": int(saved.get("bars", 0)),
                "at_bar": self.series.count,
            }
        )
        self.trades_seen = self.transitions_seen = self.actions_seen = 0
        self.open_position = position
        self.state_name = str(saved.get("state") or "Idle")
        self.realized = float(saved.get("realized", 0.0))
        self.trades_total = int(saved.get("trades", 0))
        self.wins = int(saved.get("wins", 0))
        error = saved.get("error")
        if error:  # it comes back stopped, showing its last error until the user starts it
            self.status = RunnerStatus.STOPPED
            self.error = StrategyError(error["file"], error.get("line"), error["message"])
        else:
            self.status = RunnerStatus(saved.get("status", "running"))


def _as_strategy_error(runner: LiveRunner, exc: Exception) -> StrategyError:
    return StrategyError(runner.source.file, None, f"engine invariant broken: {exc}")
