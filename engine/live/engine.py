"""TradingEngine: the feeds, the commands and the runner hosts that run the live runners.

Single-threaded by design: one loop pops commands, advances due feeds (``_broadcast`` hands
each bar to the hosts of the runners on that symbol/timeframe), collects the hosts' replies and
kills a host whose strategy call outlives its deadline (DESIGN.md "Strategy execution and
isolation"): the runner that was executing is quarantined, a new host restores the others from
their stored state and replays the bars since, so none is lost or repeated. Runner configs and
runtime state are saved in the database and restored when the engine starts again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing import connection
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
from engine.live.group import RunnerGroup
from engine.live.host import reply_error
from engine.live.hosts import Blame, HostFailed, LocalHost, ProcessHost
from engine.live.keys import RECENT_BARS, Keys
from engine.live.publisher import Publisher
from engine.live.runner import LiveRunner, RunnerConfig, RunnerStatus
from engine.orders.desk import ORDER_TIMEFRAME, OrderDesk
from engine.platform.settings import Settings
from engine.storage.feed_store import FeedStore
from engine.storage.order_store import OrderStore
from engine.storage.runner_store import RunnerRecord, RunnerStore
from engine.strategy.instance import StrategySource
from engine.strategy.store import StrategyStore

FeedFactory = Callable[[str, str, LastBar | None], Feed]
"""(symbol, timeframe, the feed's last published bar or None) -> a feed continuing after it."""
FLUSH_EVERY_S = 0.005
FEED_SAVE_EVERY_S = 0.5
FORMING_EVERY_S = 0.5
MAX_BARS_PER_TICK = 20
TICK_BUDGET_S = 0.05
MAX_BACKLOG = 12
"""Bars queued for a host (besides the batch it is processing) before its feeds wait. It bounds
the queueing delay when the hosts are saturated: at 20,000 runner-bars/s, 64 let the p99
bar->snapshot latency reach 85-300 ms; 12 keeps it under 50 ms (benchmarks/bench_engine_load)."""
BLOCKED_RETRY_S = 0.005
"""A feed waiting for its hosts' backlog is looked at again after this long (or a reply)."""
"""A tick stops taking bars after this long (feeds take turns starting); when the engine
cannot keep up, the feeds' clocks slip instead (see ``SimClock.slip``)."""


@dataclass
class FeedSlot:
    """A feed, its runners (and their hosts), its recent bars and when its next bar is due."""

    feed: Feed
    next_due: float
    subscribers: set[str] = field(default_factory=set)
    hosts: set[int] = field(default_factory=set)
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
    """The live side: feeds, commands, the runner hosts and which runner lives on which.

    The runners themselves live in runner hosts (``settings.runner_hosts`` processes, see
    ``engine.live.hosts``), or in this process when it is 0 (no deadlines).
    """

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
        self.hosts: list[LocalHost | ProcessHost] = (
            [ProcessHost(i, settings) for i in range(settings.runner_hosts)]
            if settings.runner_hosts > 0
            else [LocalHost(RunnerGroup(store, Publisher(client, self.keys)))]
        )
        #: runner id -> where it runs and on which feed.
        self.runners: dict[str, Placement] = {}
        self.feeds: dict[tuple[str, str], FeedSlot] = {}
        #: Hosts restarted whose runners wait to be restored: index -> what to tell them.
        self._to_restore: dict[int, PendingRestore] = {}
        self.started_at = time.time()
        self.latencies: deque[float] = deque(maxlen=20_000)
        #: False until the stored runners are restored: no heartbeat before (no command is
        #: sent to an engine whose hosts are still starting).
        self.online = False
        #: The paper broker: fills orders on ticks and bars of ``ORDER_TIMEFRAME`` feeds.
        self.orders = OrderDesk(
            OrderStore(store.db),
            settings,
            quote=self._order_quote,
            pause_runners=self._pause_running,
        )

    @property
    def local_runners(self) -> dict[str, LiveRunner]:
        """The runner objects when they run in this process (``runner_hosts=0``)."""
        host = self.hosts[0]
        return host.group.runners if isinstance(host, LocalHost) else {}

    @property
    def released(self) -> bool:
        """Runners were deleted from the in-process group: the loop then frees memory."""
        host = self.hosts[0]
        return isinstance(host, LocalHost) and host.group.released

    @released.setter
    def released(self, value: bool) -> None:
        host = self.hosts[0]
        if isinstance(host, LocalHost):
            host.group.released = value

    # -- runners --------------------------------------------------------------------------
    def restore(self) -> None:
        """Place every stored runner on a host and recreate it there with its saved state and
        the strategy code stored with it (RunnerRestored events); trade counters and realized
        P&L come from its stored trades."""
        for record in self.store.list():
            try:
                self._stored_source(record)
                get_symbol(record.symbol)
            except TradeSimError as exc:
                self.publisher.event("Error", record.runner_id, {"message": f"restore: {exc}"})
                continue
            self._place(record.runner_id, record.symbol, record.timeframe, record.strategy_path)
        for host in self.hosts:
            self._to_restore[host.index] = PendingRestore(replay=False)
        for host in self.hosts:
            self._restore_host(host)
        self.online = True
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

    def _least_loaded(self) -> LocalHost | ProcessHost:
        counts = {h.index: 0 for h in self.hosts}
        for placement in self.runners.values():
            counts[placement.host] += 1
        return min(self.hosts, key=lambda h: (not h.ready, counts[h.index], h.index))

    def _place(self, runner_id: str, symbol: str, timeframe: str, path: str) -> Placement:
        host = self._least_loaded()
        placement = Placement(host.index, symbol, timeframe, Path(path).name)
        self.runners[runner_id] = placement
        slot = self._feed(symbol, timeframe)
        slot.subscribers.add(runner_id)
        slot.hosts.add(host.index)
        return placement

    def _unplace(self, runner_id: str) -> None:
        placement = self.runners.pop(runner_id)
        key = (placement.symbol, placement.timeframe)
        slot = self.feeds.get(key)
        if slot is None:
            return
        slot.subscribers.discard(runner_id)
        slot.hosts = {self.runners[r].host for r in slot.subscribers}
        if not slot.subscribers:
            self._save_feeds(force=True)  # a later feed here continues after its last bar
            del self.feeds[key]

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
        """Validate, then load, persist and start the runner on a host; returns its snapshot.
        Top-level code that outlives ``load_deadline_ms`` is a ``strategy_error``."""
        config, source = parse_create(args, self.settings)
        if config.runner_id in self.runners:
            raise CommandError("conflict", f"runner '{config.runner_id}' already exists")
        placement = self._place(
            config.runner_id, config.symbol, config.timeframe, config.strategy_path
        )
        slot = self.feeds[(config.symbol, config.timeframe)]
        message = {
            "config": config.to_dict(),
            "code": source.code,
            "file": source.file,
            "history": list(slot.recent),
            "code_hash": code_hash(source.code),
        }
        try:
            return self._call(placement.host, "create", message)
        except CommandError:
            if config.runner_id in self.runners:
                self._unplace(config.runner_id)
            raise

    def get(self, runner_id: str) -> Placement:
        """Where the runner lives, or CommandError not_found."""
        placement = self.runners.get(runner_id)
        if placement is None:
            raise CommandError("not_found", f"no runner '{runner_id}'")
        return placement

    def set_status(self, runner_id: str, status: RunnerStatus) -> dict[str, Any]:
        """Pause, resume, start or stop one runner (stopping closes its position)."""
        placement = self.get(runner_id)
        args = {"runner_id": runner_id, "status": status.value}
        snapshot: dict[str, Any] = self._call(placement.host, "status", args)
        return snapshot

    def delete(self, runner_id: str) -> dict[str, Any]:
        """Remove a runner, its stored config and its Redis keys."""
        placement = self.get(runner_id)
        reply: dict[str, Any] = self._call(placement.host, "delete", {"runner_id": runner_id})
        self._unplace(runner_id)
        return reply

    def close_position(self, runner_id: str) -> list[dict[str, Any]]:
        """Close the runner's open position at the last price (reason ``manual``)."""
        placement = self.get(runner_id)
        trades: list[dict[str, Any]] = self._call(
            placement.host, "close_position", {"runner_id": runner_id}
        )
        return trades

    # -- hosts ----------------------------------------------------------------------------
    def _call(self, index: int, name: str, args: dict[str, Any]) -> Any:
        """A command on host ``index``; its data, or CommandError. A host that misses a
        deadline meanwhile is killed and restarted (the guilty runner quarantined)."""
        host = self.hosts[index]
        try:
            if index in self._to_restore:
                self._restore_host(host)
            reply = host.call(name, args, self._keepalive)
        except HostFailed as failure:
            self._recover(host, failure)
            blame = failure.blame
            if blame is not None and blame.runner_id == args.get("runner_id", ""):
                raise CommandError("strategy_error", self._limit_message(blame)) from None
            if blame is not None and blame.runner_id == args.get("config", {}).get("runner_id"):
                raise CommandError("strategy_error", self._limit_message(blame)) from None
            raise CommandError(
                "unavailable", f"runner host restarted ({failure.reason}); try again"
            ) from None
        if reply.get("ok"):
            return reply.get("data")
        error = reply.get("error") or {}
        raise CommandError(
            error.get("code", "error"), error.get("message", "command failed"), error.get("details")
        )

    def _limit_message(self, blame: Blame) -> str:
        limit = self.settings.load_deadline_ms if blame.load else self.settings.bar_deadline_ms
        return blame.message(limit)

    def _recover(self, host: LocalHost | ProcessHost, failure: HostFailed) -> None:
        """Kill and restart a host; quarantine the runner it was stuck in; its runners are
        restored (replaying the bars since their checkpoint) once the new host is ready."""
        assert isinstance(host, ProcessHost)
        pending = self._to_restore.get(host.index) or PendingRestore(
            replay=True, quiet_until=dict(host.acked)
        )
        old_pid = host.pid
        host.restart()
        print(f"engine: runner host {old_pid} killed and restarted: {failure.reason}", flush=True)
        blame = failure.blame
        placement = None if blame is None else self.runners.get(blame.runner_id)
        message = "" if blame is None else self._limit_message(blame)
        if (
            blame is not None
            and placement is not None
            and self.store.quarantine(blame.runner_id, message, placement.file)
        ):
            pending.quarantined[blame.runner_id] = message
            if blame.load:  # its code hangs while loading: never load it again
                pending.unloadable.add(blame.runner_id)
            error = {"file": placement.file, "line": None, "message": message}
            self.publisher.event("Error", blame.runner_id, error)
            self.publisher.event("RunnerStopped", blame.runner_id, {"reason": "time limit"})
            self._patch_snapshot(blame.runner_id, error)
        self._to_restore[host.index] = pending
        self.publisher.flush()

    def _patch_snapshot(self, runner_id: str, error: dict[str, Any]) -> None:
        """Show the runner in error now (its new host publishes its own snapshot later)."""
        raw = self.redis.get(self.keys.snapshot(runner_id))
        if raw is None:
            return
        snapshot = json.loads(raw)
        snapshot.update(status="error", error=error, updated_at=int(time.time() * 1000))
        self.redis.set(self.keys.snapshot(runner_id), json.dumps(snapshot, default=str))

    def _restore_host(self, host: LocalHost | ProcessHost) -> None:
        """Give a (re)started host its runners: stored state, then the bars since."""
        pending = self._to_restore.pop(host.index)
        ids = [
            rid
            for rid, p in self.runners.items()
            if p.host == host.index and rid not in pending.unloadable
        ]
        items = []
        for rid in ids:
            record = self.store.get(rid)
            if record is not None:
                items.append((record, self._stored_source(record)))
        feeds = {(r.symbol, r.timeframe) for r, _ in items}
        args = {
            "items": items,
            "counts": self.store.trade_counts(),
            "replay": pending.replay,
            "quiet_until": pending.quiet_until,
            "quarantined": pending.quarantined,
        }
        try:
            if isinstance(host, ProcessHost):
                host._wait(lambda: host.ready, self._keepalive)
                host.outbox.clear()  # the replay below covers the bars queued meanwhile
            args["history"] = {key: list(self.feeds[key].recent) for key in feeds}
            host.call("restore", args, self._keepalive)
        except HostFailed as failure:
            self._to_restore[host.index] = pending
            self._recover(host, failure)

    def _keepalive(self) -> None:
        """While waiting on a host: the heartbeat stays fresh."""
        if not self.online:
            return
        self.publisher.heartbeat(
            self.started_at,
            len(self.runners),
            0.0,
            self.settings.heartbeat_ttl_s,
            latency_ms=self.latency_ms(),
            hosts=self.host_status(),
        )
        self.publisher.flush()

    def _pump(self) -> None:
        """Send queued bars, take replies, restore restarted hosts, kill overdue ones."""
        now = time.monotonic()
        for host in self.hosts:
            if isinstance(host, ProcessHost):
                host.poll()
                failure = host.check(now)
                if failure is not None:
                    self._recover(host, failure)
                    continue
                if host.ready and host.index in self._to_restore:
                    self._restore_host(host)
            host.send_pending()
            if host.latencies:
                self.latencies.extend(host.latencies)
                host.latencies = []

    def wait(self, timeout: float) -> None:
        """Sleep up to ``timeout`` seconds, waking when a host replies."""
        conns = [h.conn for h in self.hosts if isinstance(h, ProcessHost) and h.busy()]
        if conns:
            with contextlib.suppress(OSError, ValueError):
                connection.wait(conns, timeout)
        else:
            time.sleep(timeout)

    def host_status(self) -> list[dict[str, Any]]:
        """Per host: index, pid, ready, runners, restarts (in the heartbeat)."""
        counts = {h.index: 0 for h in self.hosts}
        for placement in self.runners.values():
            counts[placement.host] += 1
        return [
            {
                "index": h.index,
                "pid": h.pid,
                "ready": h.ready,
                "runners": counts[h.index],
                "restarts": h.restarts,
            }
            for h in self.hosts
        ]

    # -- the loop -------------------------------------------------------------------------
    def tick(self, now: float) -> int:
        """Advance every feed that is due (its bars go to the hosts of its runners); returns
        the runner-bars the hosts reported processed since the last tick."""
        batch_started = time.perf_counter()
        deadline = batch_started + TICK_BUDGET_S  # then commands get their turn
        slots = list(self.feeds.values())
        self._tick_cursor = (self._tick_cursor + 1) % max(1, len(slots))
        for slot in slots[self._tick_cursor :] + slots[: self._tick_cursor]:
            blocked = False
            for _ in range(MAX_BARS_PER_TICK):  # bars that closed since the last tick
                if slot.feed.seconds_to_next() > 0 or time.perf_counter() >= deadline:
                    break
                if any(self.hosts[i].backlog() >= MAX_BACKLOG for i in slot.hosts):
                    blocked = True  # its hosts are behind: the feed's clock slips
                    break
                bar = slot.feed.next_bar()
                if bar is None:
                    break
                self._broadcast(slot, bar, time.monotonic())
            # a blocked feed is due again once a host replies (the loop waits on the hosts'
            # pipes), not at once: spinning on it took the CPU the hosts needed to catch up
            slot.next_due = now + (BLOCKED_RETRY_S if blocked else slot.feed.seconds_to_next())
            if now - slot.forming_at >= FORMING_EVERY_S:
                slot.forming_at = now
                forming = slot.feed.forming()
                if forming is not None:
                    self.publisher.forming(forming)
            if time.perf_counter() - batch_started >= FLUSH_EVERY_S:
                self.flush()  # bars go out while the tick goes on
                batch_started = time.perf_counter()
        self.orders.on_tick()
        self.flush()
        self._save_feeds()
        processed = 0
        for host in self.hosts:
            processed, host.processed = processed + host.processed, 0
        return processed

    def _broadcast(self, slot: FeedSlot, bar: Bar, produced: float | None = None) -> None:
        """Publish a bar of a feed and hand it to every host with runners on that feed."""
        self.publisher.bar(bar)
        slot.recent.append(bar)
        self.orders.on_bar(bar)
        for index in sorted(slot.hosts):
            self.hosts[index].queue(bar, time.monotonic() if produced is None else produced)

    def _pause_running(self) -> list[str]:
        """The kill switch's ``pause_all`` of the running runners (stopped ones and those in
        error keep their status, as their snapshots show); their ids."""
        ids = sorted(self.runners)
        raw = self.redis.mget([self.keys.snapshot(i) for i in ids]) if ids else []
        running = [
            rid
            for rid, text in zip(ids, raw, strict=True)
            if text is not None and json.loads(text).get("status") == RunnerStatus.RUNNING.value
        ]
        return list(self._dispatch("pause_all", {"runner_ids": running})) if running else []

    def _order_quote(self, symbol: str) -> Bar | None:
        """The latest price orders on ``symbol`` see: its order feed's forming bar (the last
        closed one when the feed has none), the feed opened when none is running."""
        slot = self._feed(symbol, ORDER_TIMEFRAME)
        return slot.feed.forming() or (slot.recent[-1] if slot.recent else None)

    def flush(self) -> None:
        """Send this tick's Redis writes and the hosts' bars; collect their replies."""
        self.publisher.flush()
        self._pump()

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
            hosts=self.host_status(),
        )
        rows: list[dict[str, Any]] = []
        for host in self.hosts:
            if host.index not in self._to_restore:
                rows += host.status_rows()  # reported by the host: no call waits on it
        self.publisher.summary(rows)

    def shutdown(self) -> None:
        """Save every runner's state (the hosts exit) and the feeds' last bars."""
        for host in self.hosts:
            host.stop()
        self._save_feeds(force=True)
        self.publisher.flush()
        self.redis.delete(self.keys.heartbeat)

    # -- commands -------------------------------------------------------------------------
    def handle(self, message: dict[str, Any]) -> dict[str, Any]:
        """Execute one command message; returns the reply payload."""
        name = message.get("command")
        args = message.get("args") or {}
        try:
            data = self._dispatch(str(name), args)
        except (CommandError, StrategyError, ConfigError) as exc:
            return reply_error(exc)
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
            return self.close_position(_runner_id(args))
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


@dataclass(frozen=True)
class Placement:
    """Where a runner runs: its host, its feed, its strategy file's name."""

    host: int
    symbol: str
    timeframe: str
    file: str


@dataclass
class PendingRestore:
    """What a restarted host is told about its runners once it is ready."""

    replay: bool
    quiet_until: dict[tuple[str, str], int] = field(default_factory=dict)
    quarantined: dict[str, str] = field(default_factory=dict)
    unloadable: set[str] = field(default_factory=set)


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
