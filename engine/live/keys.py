"""Redis key names (DESIGN.md "Redis conventions"); every key shares ``Settings.key_prefix``.

See docs/redis.md for what each key holds.
"""

from __future__ import annotations

from dataclasses import dataclass

EVENT_TYPES: tuple[str, ...] = (
    "TickReceived",
    "StateTransition",
    "ActionExecuted",
    "PositionOpened",
    "PositionUpdated",
    "PositionClosed",
    "Error",
    "RunnerStarted",
    "RunnerStopped",
    "RunnerPaused",
    "RunnerResumed",
    "RunnerCreated",
    "RunnerDeleted",
    "RunnerRestored",
)

DECISION_LOG_SIZE = 100
RECENT_BARS = 500
EVENT_STREAM_MAXLEN = 10_000


@dataclass(frozen=True)
class Keys:
    """Key builder for one prefix."""

    prefix: str = "tradesim:"

    @property
    def heartbeat(self) -> str:
        """JSON engine status with a TTL; missing = engine offline."""
        return f"{self.prefix}engine:heartbeat"

    @property
    def summary(self) -> str:
        """JSON engine summary (counts by status, symbols, total P&L)."""
        return f"{self.prefix}engine:summary"

    @property
    def runner_ids(self) -> str:
        """SET of runner ids the engine currently owns."""
        return f"{self.prefix}runners"

    @property
    def events(self) -> str:
        """Capped STREAM of events (fields: type, runner_id, data JSON)."""
        return f"{self.prefix}events"

    @property
    def commands(self) -> str:
        """LIST the engine pops commands from (JSON {id, command, args, reply_to})."""
        return f"{self.prefix}commands"

    def reply(self, command_id: str) -> str:
        """LIST the engine pushes one JSON reply to; expires after 60 s."""
        return f"{self.prefix}reply:{command_id}"

    def snapshot(self, runner_id: str) -> str:
        """JSON snapshot of one runner."""
        return f"{self.prefix}runner:{runner_id}:snapshot"

    def decisions(self, runner_id: str) -> str:
        """LIST of JSON decisions, newest first, capped at DECISION_LOG_SIZE."""
        return f"{self.prefix}runner:{runner_id}:decisions"

    def bars(self, symbol: str, timeframe: str) -> str:
        """LIST of JSON bars of one feed (shared by its runners), newest first, ~RECENT_BARS."""
        return f"{self.prefix}feed:{symbol}:{timeframe}:bars"

    def forming(self, symbol: str, timeframe: str) -> str:
        """JSON of the bar forming now on one feed (ticks, >= 1/s); expires after 10 s."""
        return f"{self.prefix}feed:{symbol}:{timeframe}:forming"

    def runner_keys(self, runner_id: str) -> list[str]:
        """Every key of one runner (deleted with it)."""
        return [
            self.snapshot(runner_id),
            self.decisions(runner_id),
        ]
