"""TradingEngine: owns the live runners and their feeds, executes commands, publishes state.

Single-threaded by design: one loop pops commands, advances due feeds (broadcasting each bar to
every runner on that symbol/timeframe), and flushes one Redis pipeline per tick. Runner configs
and runtime state (status, strategy state, position, context, P&L) are saved in the database and
restored when the engine starts again.
"""

from __future__ import annotations

import hashlib
import json
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import redis

from engine.data.bars import Bar, resample
from engine.data.csv_io import load_csv
from engine.data.symbols import get_symbol
from engine.data.timeframes import parse_timeframe
from engine.errors import CommandError, ConfigError, StrategyError, TradeSimError
from engine.live.feeds import (
    WARMUP_BARS,
    CandleSink,
    ExchangeFeed,
    Feed,
    LastBar,
    ReplayFeed,
    SimulatedLiveFeed,
)
from engine.live.keys import RECENT_BARS, Keys
from engine.live.publisher import Publisher, trade_json
from engine.live.runner import LiveRunner, RunnerConfig, RunnerStatus
from engine.orders.desk import ORDER_TIMEFRAME, OrderDesk
from engine.platform.settings import Settings
from engine.storage.feed_store import FeedStore
from engine.storage.order_store import OrderStore
from engine.storage.runner_store import RunnerExists, RunnerRecord, RunnerStore
from engine.strategy.instance import StrategySource
from engine.strategy.store import StrategyStore

FeedFactory = Callable[[str, str, LastBar | None], Feed]
"""(symbol, timeframe, the feed's last published bar or None) -> a feed continuing after it."""
SAVE_EVERY_S = 10.0
FLUSH_EVERY_S = 0.005
FEED_SAVE_EVERY_S = 0.5
FORMING_EVERY_S = 0.5
MAX_BARS_PER_TICK = 20
TICK_BUDGET_S = 0.05
"""A tick stops taking bars after this long (feeds take turns starting); when the engine
cannot keep up, the feeds' clocks slip instead (see ``SimClock.slip``)."""


@dataclass
class FeedSlot:
    """A feed, the runners subscribed to it, its recent bars and when its next bar is due."""

    feed: Feed
    next_due: float
    subscribers: set[str] = field(default_factory=set)
    recent: deque[Bar] = field(default_factory=lambda: deque(maxlen=WARMUP_BARS))
    forming_at: float = 0.0


def simulated_feeds(speed: float = 1.0) -> FeedFactory:
    """The default feeds: the simulated market on the wall clock (``speed`` times faster),
    seeded per symbol and timeframe."""

    def factory(symbol: str, timeframe: str, last: LastBar | None) -> Feed:
        seed = zlib.crc32(f"{symbol}/{timeframe}".encode())
        return SimulatedLiveFeed(symbol, timeframe, seed=seed, last=last, speed=speed)

    return factory


def replay_feeds(folder: Path, speed: float = 1.0) -> FeedFactory:
    """Replays ``<folder>/<SYMBOL>.csv`` (resampled to the timeframe); simulated otherwise."""
    simulated = simulated_feeds(speed)

    def factory(symbol: str, timeframe: str, last: LastBar | None) -> Feed:
        path = folder / f"{symbol}.csv"
        if not path.is_file():
            return simulated(symbol, timeframe, last)
        series = load_csv(path, symbol=symbol)
        target = parse_timeframe(timeframe)
        if series.timeframe != target.value:
            series = resample(series, target)
        return ReplayFeed(series, last=last, speed=speed)

    return factory


def feed_factory_for(settings: Settings, candles: CandleSink | None = None) -> FeedFactory:
    """Simulated feeds; stored-history replay; or ccxt candles for crypto symbols (written to
    ``candles``, which also warms new runners up when it holds their history)."""
    if settings.feed_source == "replay":
        if settings.replay_dir is None:
            raise ConfigError("TRADESIM_FEED=replay needs TRADESIM_REPLAY_DIR (a folder of CSVs)")
        return replay_feeds(settings.replay_dir, settings.sim_speed)
    simulated = simulated_feeds(settings.sim_speed)
    if settings.feed_source != "exchange":
        return simulated
    import ccxt

    client = getattr(ccxt, settings.exchange_id)({"enableRateLimit": True})

    def factory(symbol: str, timeframe: str, last: LastBar | None) -> Feed:
        spec = get_symbol(symbol)
        if spec.asset_class != "crypto":
            return simulated(symbol, timeframe, last)
        return ExchangeFeed(client, spec.display, timeframe, last=last, store=candles)

    return factory


class TradingEngine:
    """The live side: runners, feeds, commands and publishing."""

    def __init__(
        self,
        settings: Settings,
        client: redis.Redis,
        store: RunnerStore,
        *,
        feed_factory: FeedFactory | None = None,
    ) -> None:
        self.settings = settings
        self.keys = Keys(settings.key_prefix)
        self.redis = client
        self.store = store
        self.feed_store = FeedStore(store.db)
        self.feed_factory = feed_factory or simulated_feeds(settings.sim_speed)
        self._feeds_saved = time.monotonic()
        self._tick_cursor = 0
        self.publisher = Publisher(client, self.keys)
        self.runners: dict[str, LiveRunner] = {}
        self.feeds: dict[tuple[str, str], FeedSlot] = {}
        self.started_at = time.time()
        self._last_save = time.monotonic()
        self._save_cursor = -1
        #: Production times of bars whose snapshot is queued in this tick's pipeline, and the
        #: bar -> snapshot-written latencies (s) measured after each flush.
        self._queued_bars: list[float] = []
        self.latencies: deque[float] = deque(maxlen=20_000)
        #: Set when runners were deleted: the loop then frees their memory (see main.py).
        self.released = False
        #: The paper broker: fills orders on ticks and bars of ``ORDER_TIMEFRAME`` feeds.
        self.orders = OrderDesk(
            OrderStore(store.db),
            settings,
            quote=self._order_quote,
            pause_runners=self._pause_running,
        )

    # -- runners --------------------------------------------------------------------------
    def restore(self) -> None:
        """Recreate every stored runner with its saved state and the strategy code stored with
        it (RunnerRestored events); trade counters and realized P&L come from its stored trades.
        """
        counts = self.store.trade_counts()
        for record in self.store.list():
            try:
                source = self._stored_source(record)
                created = record.created_at.timestamp()
                runner = self._build(_config(record), source, created_at=created)
            except TradeSimError as exc:
                self.publisher.event("Error", record.runner_id, {"message": f"restore: {exc}"})
                continue
            if record.state:
                runner.restore(record.state)
            runner.trades_total, runner.wins, runner.realized = counts.get(
                record.runner_id, (0, 0, 0.0)
            )
            runner.status = RunnerStatus(record.desired_status)
            self.publisher.event(
                "RunnerRestored",
                runner.runner_id,
                {"status": runner.status.value, "state": (record.state or {}).get("state")},
            )
            self.publisher.snapshot(runner, force=True)
        self.publisher.flush()

    def _stored_source(self, record: RunnerRecord) -> StrategySource:
        """The code stored with the runner; rows from before it was stored get it from the
        file once (and keep it from then on)."""
        name = Path(record.strategy_path).name
        if record.strategy_code is not None:
            return StrategySource.from_code(record.strategy_code, name)
        path = StrategyStore(self.settings.strategy_dir).resolve(record.strategy_path)
        source = StrategySource.from_file(path)
        self.store.set_strategy(record.runner_id, source.code, code_hash(source.code))
        return source

    def _build(
        self, config: RunnerConfig, source: StrategySource, created_at: float | None = None
    ) -> LiveRunner:
        get_symbol(config.symbol)
        runner = LiveRunner(config, source, created_at=created_at)
        slot = self._feed(config.symbol, config.timeframe)
        runner.warm_up(list(slot.recent))
        slot.subscribers.add(config.runner_id)
        self.runners[config.runner_id] = runner
        return runner

    def _feed(self, symbol: str, timeframe: str) -> FeedSlot:
        key = (symbol, timeframe)
        slot = self.feeds.get(key)
        if slot is None:
            stored = self._published_bars(symbol, timeframe)
            known = [self.feed_store.last_bar(symbol, timeframe), *stored[-1:]]
            last = max((b for b in known if b), key=lambda b: int(b["time"]), default=None)
            feed = self.feed_factory(symbol, timeframe, last)
            history = feed.history()
            for bar in history[-RECENT_BARS:]:
                self.publisher.bar(bar)
            slot = FeedSlot(feed, time.monotonic() + feed.seconds_to_next())
            slot.recent.extend(_bar(symbol, timeframe, b) for b in stored)
            slot.recent.extend(history)
            self.feeds[key] = slot
        return slot

    def _published_bars(self, symbol: str, timeframe: str) -> list[dict[str, Any]]:
        """The feed's recent bars in Redis, oldest first."""
        raw = self.redis.lrange(self.keys.bars(symbol, timeframe), 0, WARMUP_BARS - 1)
        return [json.loads(item) for item in reversed(raw)]

    def _save_feeds(self, *, force: bool = False) -> None:
        """Store the feeds' last bars (every FEED_SAVE_EVERY_S, or now when ``force``)."""
        if force or time.monotonic() - self._feeds_saved >= FEED_SAVE_EVERY_S:
            self._feeds_saved = time.monotonic()
            self.feed_store.save(self.publisher.take_last_bars())

    def create(self, args: dict[str, Any]) -> dict[str, Any]:
        """Validate, build, persist and start a runner; returns its snapshot."""
        config, source = parse_create(args, self.settings)
        if config.runner_id in self.runners:
            raise CommandError("conflict", f"runner '{config.runner_id}' already exists")
        runner = self._build(config, source)
        try:
            self.store.add(_record(config, runner, source))
        except RunnerExists:
            self._drop(config.runner_id)
            raise CommandError("conflict", f"runner '{config.runner_id}' already exists") from None
        self.publisher.event("RunnerCreated", config.runner_id, config.to_dict())
        self.publisher.event("RunnerStarted", config.runner_id, {})
        self.publisher.snapshot(runner, force=True)
        return runner.snapshot()

    def _drop(self, runner_id: str) -> None:
        runner = self.runners.pop(runner_id)
        key = (runner.config.symbol, runner.config.timeframe)
        slot = self.feeds.get(key)
        if slot is not None:
            slot.subscribers.discard(runner_id)
            if not slot.subscribers:
                self._save_feeds(force=True)  # a later feed here continues after its last bar
                del self.feeds[key]

    def get(self, runner_id: str) -> LiveRunner:
        """The runner, or CommandError not_found."""
        runner = self.runners.get(runner_id)
        if runner is None:
            raise CommandError("not_found", f"no runner '{runner_id}'")
        return runner

    def set_status(self, runner_id: str, status: RunnerStatus) -> dict[str, Any]:
        """Pause, resume, start or stop one runner."""
        runner = self.get(runner_id)
        before = runner.status
        if status is RunnerStatus.RUNNING and before is RunnerStatus.RUNNING:
            return runner.snapshot()
        if status is RunnerStatus.STOPPED and before is not RunnerStatus.ERROR:
            self._close_position(runner)  # stopping closes at the last price (``manual``)
        try:
            runner.set_status(status)
        except StrategyError as exc:
            runner.fail(exc)
        event = {
            RunnerStatus.PAUSED: "RunnerPaused",
            RunnerStatus.STOPPED: "RunnerStopped",
            RunnerStatus.RUNNING: "RunnerResumed"
            if before is RunnerStatus.PAUSED
            else "RunnerStarted",
        }[status]
        self.publisher.event(event, runner_id, {"from": before.value})
        self.store.set_status(runner_id, _desired(runner))
        self._save(runner)
        self.publisher.snapshot(runner, force=True)
        return runner.snapshot()

    def delete(self, runner_id: str) -> dict[str, Any]:
        """Remove a runner, its stored config and its Redis keys."""
        self.get(runner_id)
        self._drop(runner_id)
        self.store.delete(runner_id)
        self.publisher.remove(runner_id)
        self.publisher.event("RunnerDeleted", runner_id, {})
        self.released = True
        return {"runner_id": runner_id, "deleted": True}

    def _close_position(self, runner: LiveRunner) -> list[dict[str, Any]]:
        """Close the open position at the last price (reason ``manual``) and store the trade."""
        trades = [trade_json(t) for t in runner.close_position()]
        for trade in trades:
            self.publisher.event("PositionClosed", runner.runner_id, trade)
        self.store.add_closed_positions(runner.runner_id, trades, state=runner.saved_state())
        return trades

    def _save(self, runner: LiveRunner) -> None:
        self.store.save_state(runner.runner_id, runner.saved_state())

    # -- the loop -------------------------------------------------------------------------
    def tick(self, now: float) -> int:
        """Advance every feed that is due; returns the runner-bars processed."""
        processed = 0
        batch_started = time.perf_counter()
        deadline = batch_started + TICK_BUDGET_S  # then commands get their turn
        slots = list(self.feeds.values())
        self._tick_cursor = (self._tick_cursor + 1) % max(1, len(slots))
        for slot in slots[self._tick_cursor :] + slots[: self._tick_cursor]:
            for _ in range(MAX_BARS_PER_TICK):  # bars that closed since the last tick
                if slot.feed.seconds_to_next() > 0 or time.perf_counter() >= deadline:
                    break
                bar = slot.feed.next_bar()
                if bar is None:
                    break
                processed += self._broadcast(slot, bar, time.perf_counter())
            slot.next_due = now + slot.feed.seconds_to_next()
            if now - slot.forming_at >= FORMING_EVERY_S:
                slot.forming_at = now
                forming = slot.feed.forming()
                if forming is not None:
                    self.publisher.forming(forming)
            if time.perf_counter() - batch_started >= FLUSH_EVERY_S:
                self.flush()  # keep bar -> snapshot latency low in long ticks
                batch_started = time.perf_counter()
        self.orders.on_tick()
        self._save_some()
        self._save_feeds()
        return processed

    def _pause_running(self) -> list[str]:
        """The kill switch's ``pause_all`` of the running runners (stopped ones and those in
        error keep their status); their ids."""
        ids = [i for i, r in sorted(self.runners.items()) if r.status is RunnerStatus.RUNNING]
        return list(self._dispatch("pause_all", {"runner_ids": ids})) if ids else []

    def _order_quote(self, symbol: str) -> Bar | None:
        """The latest price orders on ``symbol`` see: its order feed's forming bar (the last
        closed one when the feed has none), the feed opened when none is running."""
        slot = self._feed(symbol, ORDER_TIMEFRAME)
        return slot.feed.forming() or (slot.recent[-1] if slot.recent else None)

    def _save_some(self) -> None:
        """Save runners' state round-robin so each is saved about every SAVE_EVERY_S without
        one long pause."""
        if not self.runners:
            return
        elapsed = time.monotonic() - self._last_save
        due = int(len(self.runners) * elapsed / SAVE_EVERY_S)
        if due < 1:
            return
        self._last_save = time.monotonic()
        ids = sorted(self.runners)
        for _ in range(min(due, len(ids))):
            self._save_cursor = (self._save_cursor + 1) % len(ids)
            self._save(self.runners[ids[self._save_cursor]])

    def _broadcast(self, slot: FeedSlot, bar: Any, produced: float | None = None) -> int:
        processed = 0
        self.publisher.bar(bar)
        slot.recent.append(bar)
        self.orders.on_bar(bar)
        for runner_id in sorted(slot.subscribers):
            runner = self.runners[runner_id]
            outcome = runner.on_bar(bar)
            if outcome is None:
                continue
            processed += 1
            changed = self.publisher.outcome(runner, outcome)
            if outcome.trades:
                trades = [trade_json(t) for t in outcome.trades]
                self.store.add_closed_positions(runner_id, trades, state=runner.saved_state())
            if changed:
                if outcome.error is not None:
                    self.store.set_status(runner_id, _desired(runner))
                    self.publisher.event("RunnerStopped", runner_id, {"reason": "error"})
                self._save(runner)
            if self.publisher.snapshot(runner, force=changed) and produced is not None:
                self._queued_bars.append(produced)
        return processed

    def flush(self) -> None:
        """Send this tick's Redis writes and record the bar -> snapshot latencies."""
        self.publisher.flush()
        if self._queued_bars:
            done = time.perf_counter()
            self.latencies.extend(done - t for t in self._queued_bars)
            self._queued_bars.clear()

    def latency_ms(self) -> dict[str, float]:
        """p50/p99 of recent bar -> snapshot latencies in ms (0 when none yet)."""
        if not self.latencies:
            return {"p50": 0.0, "p99": 0.0}
        ordered = sorted(self.latencies)
        pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
        return {"p50": round(pick(0.5) * 1000, 2), "p99": round(pick(0.99) * 1000, 2)}

    def publish_status(self, bars_per_s: float) -> None:
        """Heartbeat and summary (call about once a second)."""
        self.publisher.heartbeat(
            self.started_at,
            len(self.runners),
            bars_per_s,
            self.settings.heartbeat_ttl_s,
            latency_ms=self.latency_ms(),
        )
        self.publisher.summary(list(self.runners.values()))
        for runner in self.runners.values():
            if runner.status is not RunnerStatus.RUNNING:
                self.publisher.snapshot(runner)  # uptime etc. stay fresh

    def shutdown(self) -> None:
        """Save every runner's state and the feeds' last bars (called on SIGTERM/SIGINT)."""
        for runner in self.runners.values():
            self._save(runner)
        self._save_feeds(force=True)
        self.flush()
        self.redis.delete(self.keys.heartbeat)

    # -- commands -------------------------------------------------------------------------
    def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        """Execute one command message; returns the reply payload."""
        name = message.get("command")
        args = message.get("args") or {}
        try:
            data = self._dispatch(str(name), args)
        except CommandError as exc:
            return {
                "ok": False,
                "error": {"code": exc.code, "message": exc.message, "details": exc.details},
            }
        except StrategyError as exc:
            return {
                "ok": False,
                "error": {"code": "strategy_error", "message": str(exc), "details": exc.to_dict()},
            }
        except ConfigError as exc:
            return {
                "ok": False,
                "error": {"code": "validation", "message": str(exc), "details": None},
            }
        return {"ok": True, "data": data}

    def _dispatch(self, name: str, args: dict[str, Any]) -> Any:
        single = {
            "start": RunnerStatus.RUNNING,
            "resume": RunnerStatus.RUNNING,
            "pause": RunnerStatus.PAUSED,
            "stop": RunnerStatus.STOPPED,
        }
        if name == "create":
            return self.create(args)
        if name.startswith("orders."):
            return self.orders.handle(name, args)
        if name in single:
            return self.set_status(_runner_id(args), single[name])
        if name == "delete":
            return self.delete(_runner_id(args))
        if name == "close_position":
            runner = self.get(_runner_id(args))
            trades = self._close_position(runner)
            self._save(runner)
            self.publisher.snapshot(runner, force=True)
            return trades
        bulk = {
            "start_all": RunnerStatus.RUNNING,
            "stop_all": RunnerStatus.STOPPED,
            "pause_all": RunnerStatus.PAUSED,
        }
        if name in bulk:
            ids = args.get("runner_ids") or sorted(self.runners)
            return [self.set_status(i, bulk[name])["runner_id"] for i in _ids(ids, self)]
        if name == "delete_many":
            return [self.delete(i)["runner_id"] for i in _ids(args.get("runner_ids"), self)]
        raise CommandError("validation", f"unknown command '{name}'")

    def process_commands(self, limit: int = 100) -> int:
        """Pop and execute up to ``limit`` queued commands; returns how many ran."""
        done = 0
        while done < limit:
            raw = self.redis.rpop(self.keys.commands)
            if raw is None:
                break
            done += 1
            try:
                message = json.loads(raw)  # type: ignore[arg-type]
            except ValueError:
                continue
            reply = self.handle(message)
            if message.get("reply_to"):
                self.publisher.reply(str(message["reply_to"]), reply)
        return done


def parse_create(args: dict[str, Any], settings: Settings) -> tuple[RunnerConfig, StrategySource]:
    """Validate a create command's fields (each message says how to fix it); returns the
    config and the strategy code read from its file now (the runner keeps this copy)."""
    missing = [f for f in ("runner_id", "symbol") if not args.get(f)]
    strategy = args.get("strategy_path") or args.get("strategy_name")
    if not strategy:
        missing.append("strategy_name or strategy_path")
    if missing:
        raise CommandError(
            "validation", f"missing field(s): {', '.join(missing)}", {"missing": missing}
        )
    params = args.get("params") or {}
    if not isinstance(params, dict):
        raise CommandError("validation", 'params must be an object like {"fast": 12}')
    window = args.get("window_size", 100)
    if isinstance(window, bool) or not isinstance(window, int):
        raise CommandError("validation", f"window_size must be a whole number, got {window!r}")
    symbol = get_symbol(str(args["symbol"])).symbol
    store = StrategyStore(settings.strategy_dir)
    path = store.resolve(str(strategy))
    relative = path.relative_to(store.root).as_posix()
    source = StrategySource.from_file(path)
    resolved = source.metadata.resolve_params(params)
    config = RunnerConfig(
        runner_id=str(args["runner_id"]),
        symbol=symbol,
        timeframe=str(args.get("timeframe") or "1m"),
        strategy_path=relative,
        params=resolved,
        window_size=window,
    )
    return config, source


def code_hash(code: str) -> str:
    """SHA-256 (hex) of a strategy's code, as stored with its runner."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def _bar(symbol: str, timeframe: str, ohlcv: dict[str, Any]) -> Bar:
    """A published bar (``Bar.ohlcv()`` form) back as a Bar (bid/ask at the close)."""
    close = float(ohlcv["close"])
    return Bar(
        symbol=symbol,
        timeframe=timeframe,
        timestamp=int(ohlcv["time"]),
        open=float(ohlcv["open"]),
        high=float(ohlcv["high"]),
        low=float(ohlcv["low"]),
        close=close,
        volume=float(ohlcv["volume"]),
        bid=close,
        ask=close,
    )


def _desired(runner: LiveRunner) -> str:
    """The stored status: a runner in error restarts as stopped (its error is in its state)."""
    return "stopped" if runner.status is RunnerStatus.ERROR else runner.status.value


def _runner_id(args: dict[str, Any]) -> str:
    rid = args.get("runner_id")
    if not rid:
        raise CommandError("validation", "missing field: runner_id")
    return str(rid)


def _ids(ids: Any, engine: TradingEngine) -> list[str]:
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise CommandError("validation", "runner_ids must be a list of runner ids")
    unknown = [i for i in ids if i not in engine.runners]
    if unknown:
        raise CommandError(
            "not_found", f"unknown runner(s): {', '.join(unknown)}", {"unknown": unknown}
        )
    return ids


def _config(record: RunnerRecord) -> RunnerConfig:
    return RunnerConfig(**{f.name: getattr(record, f.name) for f in fields(RunnerConfig)})


def _record(config: RunnerConfig, runner: LiveRunner, source: StrategySource) -> RunnerRecord:
    return RunnerRecord(
        **config.to_dict(),
        desired_status=_desired(runner),
        state=runner.saved_state(),
        strategy_code=source.code,
        strategy_hash=code_hash(source.code),
    )
