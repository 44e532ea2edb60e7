"""RunnerGroup: the live runners of one runner host (or of the engine itself, hosts = 0).

It owns the :class:`LiveRunner` objects, feeds them the bars of their feeds, publishes their
snapshots and events to Redis with its own connection and writes their trades and states to
the database (trades and state in one transaction: the stored state is a checkpoint that never
misses a stored trade). Before each strategy call it tells a :class:`CallWatch` which runner,
function and bar it is in, so the engine can blame the right runner when a deadline passes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from engine.data.bars import Bar
from engine.data.symbols import get_symbol
from engine.errors import CommandError, StrategyError
from engine.live.publisher import Publisher, trade_json
from engine.live.runner import LiveRunner, RunnerConfig, RunnerStatus
from engine.storage.runner_store import RunnerExists, RunnerRecord, RunnerStore
from engine.strategy.instance import StrategySource

SAVE_EVERY_S = 2.0
"""Each runner's state is saved about this often: after a host is killed its runners continue
from this checkpoint, replaying the bars since."""
SAVE_SLICES = 8
"""The runners are saved in this many slices, one every SAVE_EVERY_S / SAVE_SLICES."""
LOAD_FUNCTION = "top-level code"
FUNCTIONS = {"Idle": "detect_opportunity", "Analyzing": "filter_commitment"}
FeedKey = tuple[str, str]


class CallWatch(Protocol):
    """Where a group says which strategy call is running (a runner host's shared slot)."""

    def begin(self, runner_id: str, function: str, bar: int, *, load: bool = False) -> None:
        """A call into ``runner_id``'s strategy starts."""
        ...

    def end(self) -> None:
        """The call returned."""
        ...


class NoWatch:
    """No deadline (runners inside the engine process)."""

    def begin(self, runner_id: str, function: str, bar: int, *, load: bool = False) -> None:
        """Nothing to record."""

    def end(self) -> None:
        """Nothing to record."""


class RunnerGroup:
    """Runners, their publishing and their persistence inside one process."""

    def __init__(
        self, store: RunnerStore, publisher: Publisher, watch: CallWatch | None = None
    ) -> None:
        self.store = store
        self.publisher = publisher
        self.watch: CallWatch = watch or NoWatch()
        self.runners: dict[str, LiveRunner] = {}
        self.by_feed: dict[FeedKey, list[str]] = {}
        self._last_save = time.monotonic()
        self._save_cursor = 0
        self._queued_bars: list[float] = []
        self._unsaved_trades: dict[str, list[dict[str, Any]]] = {}
        self._dirty: dict[str, LiveRunner] = {}
        #: Set when runners were deleted: the process then frees their memory.
        self.released = False

    # -- building -------------------------------------------------------------------------
    def _load(self, config: RunnerConfig, source: StrategySource, created: float | None) -> Any:
        get_symbol(config.symbol)
        self.watch.begin(config.runner_id, LOAD_FUNCTION, 0, load=True)
        try:
            return LiveRunner(config, source, created_at=created)
        finally:
            self.watch.end()

    def _add(self, runner: LiveRunner) -> None:
        self.runners[runner.runner_id] = runner
        feed = (runner.config.symbol, runner.config.timeframe)
        self.by_feed[feed] = sorted({*self.by_feed.get(feed, []), runner.runner_id})

    def create(
        self, config: RunnerConfig, source: StrategySource, history: list[Bar], code_hash: str
    ) -> dict[str, Any]:
        """Load, warm up, store and start a new runner; its snapshot."""
        if config.runner_id in self.runners:
            raise CommandError("conflict", f"runner '{config.runner_id}' already exists")
        runner = self._load(config, source, None)
        runner.warm_up(history)
        record = RunnerRecord(
            **config.to_dict(),
            desired_status=desired(runner),
            state=runner.saved_state(),
            strategy_code=source.code,
            strategy_hash=code_hash,
        )
        try:
            self.store.add(record)
        except RunnerExists:
            raise CommandError("conflict", f"runner '{config.runner_id}' already exists") from None
        self._add(runner)
        self.publisher.event("RunnerCreated", config.runner_id, config.to_dict())
        self.publisher.event("RunnerStarted", config.runner_id, {})
        self.publisher.snapshot(runner, force=True)
        return runner.snapshot()

    def restore(
        self,
        items: Iterable[tuple[RunnerRecord, StrategySource]],
        history: Mapping[FeedKey, list[Bar]],
        counts: Mapping[str, tuple[int, int, float]],
        *,
        replay: bool = False,
        quiet_until: Mapping[FeedKey, int] | None = None,
        quarantined: Mapping[str, str] | None = None,
    ) -> list[str]:
        """Recreate stored runners with their saved state (trade counters from their stored
        trades). Without ``replay`` every bar of ``history`` warms indicators up (an engine
        start). With ``replay`` (a host restart) only the bars up to the checkpoint's bar do;
        later ones are processed as live bars, publishing nothing for bars up to
        ``quiet_until[feed]`` (already published). Runners in ``quarantined`` (id -> message)
        come back in ``error``. Returns the ids restored; a runner whose code fails to load
        gets an Error event instead."""
        quiet, blamed = quiet_until or {}, quarantined or {}
        done = []
        for record, source in items:
            try:
                runner = self._load(_config(record), source, record.created_at.timestamp())
            except StrategyError as exc:
                self.publisher.event("Error", record.runner_id, {"message": f"restore: {exc}"})
                continue
            feed = (record.symbol, record.timeframe)
            bars = history.get(feed, [])
            checkpoint = int((record.state or {}).get("bar_time") or 0)
            later = [b for b in bars if b.timestamp > checkpoint] if replay else []
            runner.warm_up(bars[: len(bars) - len(later)])
            if record.state:
                runner.restore(record.state)
            runner.trades_total, runner.wins, runner.realized = counts.get(
                record.runner_id, (0, 0, 0.0)
            )
            runner.status = RunnerStatus(record.desired_status)
            if record.runner_id in blamed:
                runner.fail(StrategyError(runner.source.file, None, blamed[record.runner_id]))
            self._add(runner)
            for bar in later:
                self._step(runner, bar, None, publish=bar.timestamp > quiet.get(feed, 0))
            self.publisher.event(
                "RunnerRestored",
                runner.runner_id,
                {
                    "status": runner.status.value,
                    "state": (record.state or {}).get("state"),
                    "replayed_bars": len(later),
                },
            )
            self.publisher.snapshot(runner, force=True)
            done.append(record.runner_id)
        self.flush()
        return done

    # -- bars -----------------------------------------------------------------------------
    def on_bar(self, bar: Bar, produced: float | None = None) -> int:
        """Give a bar to every runner on its feed; returns the runner-bars processed."""
        processed = 0
        for runner_id in self.by_feed.get((bar.symbol, bar.timeframe), ()):
            processed += self._step(self.runners[runner_id], bar, produced)
        return processed

    def _step(
        self, runner: LiveRunner, bar: Bar, produced: float | None, publish: bool = True
    ) -> int:
        runner_id = runner.runner_id
        running = runner.status is RunnerStatus.RUNNING
        if running:
            function = FUNCTIONS.get(runner.state_name, "manage_position")
            self.watch.begin(runner_id, function, runner.series.count + 1)
        try:
            outcome = runner.on_bar(bar)
        finally:
            if running:
                self.watch.end()
        if outcome is None:
            return 0
        changed = bool(outcome.transitions or outcome.trades or outcome.error)
        if publish:
            self.publisher.outcome(runner, outcome)
        if outcome.trades:
            self._unsaved_trades.setdefault(runner_id, []).extend(
                trade_json(t) for t in outcome.trades
            )
        if changed:
            if outcome.error is not None:
                self.store.set_status(runner_id, desired(runner))
                if publish:
                    self.publisher.event("RunnerStopped", runner_id, {"reason": "error"})
            self._dirty[runner_id] = runner
        if not publish:
            runner.new_decisions()  # published before the host restarted
        elif self.publisher.snapshot(runner, force=changed) and produced is not None:
            self._queued_bars.append(produced)
        return 1

    def persist(self) -> None:
        """Store the trades closed and the states changed since the last call, in one
        transaction. Called at the end of every batch of bars, before its Redis writes go out:
        a host killed mid-batch has stored nothing of it (it is replayed from the last
        checkpoint after the restart) and published nothing of it either."""
        if not self._unsaved_trades and not self._dirty:
            return
        trades, dirty = self._unsaved_trades, self._dirty
        self._unsaved_trades, self._dirty = {}, {}
        states = {rid: r.saved_state() for rid, r in dirty.items() if rid in self.runners}
        self.store.add_trades_and_states(
            {rid: t for rid, t in trades.items() if rid in self.runners}, states
        )

    def flush(self) -> list[float]:
        """Store the batch (:meth:`persist`), send the queued Redis writes; the bar -> snapshot
        latencies (s) they complete."""
        self.persist()
        self.publisher.flush()
        if not self._queued_bars:
            return []
        done = time.monotonic()
        latencies = [done - t for t in self._queued_bars]
        self._queued_bars.clear()
        return latencies

    # -- commands -------------------------------------------------------------------------
    def get(self, runner_id: str) -> LiveRunner:
        """The runner, or CommandError not_found."""
        runner = self.runners.get(runner_id)
        if runner is None:
            raise CommandError("not_found", f"no runner '{runner_id}'")
        return runner

    def set_status(self, runner_id: str, status: RunnerStatus) -> dict[str, Any]:
        """Pause, resume, start or stop one runner (stop closes its position, ``manual``)."""
        runner = self.get(runner_id)
        before = runner.status
        if status is RunnerStatus.RUNNING and before is RunnerStatus.RUNNING:
            return runner.snapshot()
        if status is RunnerStatus.STOPPED and before is not RunnerStatus.ERROR:
            self.close_position(runner_id)
        reload = status is RunnerStatus.RUNNING and before is RunnerStatus.ERROR
        if reload:
            self.watch.begin(runner_id, LOAD_FUNCTION, 0, load=True)
        try:
            runner.set_status(status)
        except StrategyError as exc:
            runner.fail(exc)
        finally:
            if reload:
                self.watch.end()
        event = {
            RunnerStatus.PAUSED: "RunnerPaused",
            RunnerStatus.STOPPED: "RunnerStopped",
            RunnerStatus.RUNNING: "RunnerResumed"
            if before is RunnerStatus.PAUSED
            else "RunnerStarted",
        }[status]
        self.publisher.event(event, runner_id, {"from": before.value})
        self.store.set_status(runner_id, desired(runner))
        self.save(runner)
        self.publisher.snapshot(runner, force=True)
        return runner.snapshot()

    def delete(self, runner_id: str) -> dict[str, Any]:
        """Remove a runner, its stored config and its Redis keys."""
        self.persist()  # its trades of the current batch go in before its rows go out
        runner = self.runners.pop(self.get(runner_id).runner_id)
        feed = (runner.config.symbol, runner.config.timeframe)
        left = [r for r in self.by_feed.get(feed, []) if r != runner_id]
        if left:
            self.by_feed[feed] = left
        else:
            self.by_feed.pop(feed, None)
        self.store.delete(runner_id)
        self.publisher.remove(runner_id)
        self.publisher.event("RunnerDeleted", runner_id, {})
        self.released = True
        return {"runner_id": runner_id, "deleted": True}

    def close_position(self, runner_id: str) -> list[dict[str, Any]]:
        """Close the open position at the last price (reason ``manual``) and store the trade."""
        runner = self.get(runner_id)
        self.persist()
        trades = [trade_json(t) for t in runner.close_position()]
        for trade in trades:
            self.publisher.event("PositionClosed", runner_id, trade)
        self.store.add_closed_positions(runner_id, trades, state=runner.saved_state())
        self.save(runner)
        self.publisher.snapshot(runner, force=True)
        return trades

    # -- persistence and status -----------------------------------------------------------
    def save(self, runner: LiveRunner) -> None:
        """Store one runner's state now."""
        self.store.save_state(runner.runner_id, runner.saved_state())

    def save_some(self) -> None:
        """Save every runner's state about every SAVE_EVERY_S, a slice of the runners every
        SAVE_EVERY_S / SAVE_SLICES (one short transaction each: SQLite has one writer at a time,
        and hosts, engine and web share it; 100 runners at once held a host ~10 ms)."""
        if time.monotonic() - self._last_save < SAVE_EVERY_S / SAVE_SLICES:
            return
        self._last_save = time.monotonic()
        self.persist()
        ids = sorted(self.runners)
        if not ids:
            return
        size = -(-len(ids) // SAVE_SLICES)
        start = self._save_cursor % len(ids)
        chosen = (ids + ids)[start : start + min(size, len(ids))]
        self._save_cursor = start + len(chosen)
        self.store.save_states({rid: self.runners[rid].saved_state() for rid in chosen})

    def save_all(self) -> None:
        """Save every runner's state (shutdown)."""
        self.persist()
        self.store.save_states({rid: r.saved_state() for rid, r in self.runners.items()})

    def status_rows(self) -> list[dict[str, Any]]:
        """Per runner: status, symbol and P&L (the engine's summary adds them up)."""
        rows = []
        for runner in self.runners.values():
            rows.append(
                {
                    "runner_id": runner.runner_id,
                    "status": runner.status.value,
                    "symbol": runner.config.symbol,
                    "realized": runner.realized,
                    "unrealized": runner.unrealized(),
                }
            )
        return rows

    def refresh_idle(self) -> None:
        """Refresh the snapshots of runners that are not running (uptime etc. stay fresh)."""
        for runner in self.runners.values():
            if runner.status is not RunnerStatus.RUNNING:
                self.publisher.snapshot(runner)


def desired(runner: LiveRunner) -> str:
    """The stored status: a runner in error restarts as stopped (its error is in its state)."""
    return "stopped" if runner.status is RunnerStatus.ERROR else runner.status.value


def _config(record: RunnerRecord) -> RunnerConfig:
    return RunnerConfig(
        runner_id=record.runner_id,
        symbol=record.symbol,
        timeframe=record.timeframe,
        strategy_path=record.strategy_path,
        params=record.params,
        window_size=record.window_size,
    )
