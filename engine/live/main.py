"""The engine process: ``tradesim engine`` (or part of ``tradesim up``).

Connects to Redis (waiting for it) and the database, starts the runner hosts, restores stored
runners on them, then loops: commands, due feeds (bars to the hosts), heartbeat/summary once a
second, host replies and deadlines. When Redis
goes away the loop waits and reconnects (the runners keep their state; the next snapshots
publish it again). SIGTERM/SIGINT save every runner's state
and exit cleanly.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import signal
import sys
import threading
import time
from types import FrameType

import redis

from engine.data.candle_store import CandleStore
from engine.errors import ConfigError, TradeSimError
from engine.live.connection import wait_for_redis
from engine.live.engine import TradingEngine, feed_factory_for
from engine.platform.settings import Settings
from engine.storage.db import make_engine
from engine.storage.runner_store import RunnerStore

IDLE_SLEEP_S = 0.02
COMMANDS_EVERY_S = 0.01
"""The command queue is polled at most this often (one Redis round trip each): polling it on
every loop pass cost the engine more than half its time at 20,000 runner-bars/s."""


def build_engine(settings: Settings, stop: threading.Event | None = None) -> TradingEngine:
    """Connect Redis (REDIS_URL required; waits until it answers) and the database, and make
    the engine."""
    if not settings.redis_url:
        raise ConfigError("REDIS_URL is not set: use `tradesim up`, or point it at a Redis server")
    client = redis.Redis.from_url(settings.redis_url)
    wait_for_redis(client, settings.redis_url, stop or threading.Event())
    db = make_engine(settings)
    return TradingEngine(
        settings,
        client,
        RunnerStore(db),
        feed_factory=feed_factory_for(settings, CandleStore(db)),
    )


def release_memory() -> None:
    """Collect garbage (the loop's thresholds make full collections rare) and return freed
    heap to the OS (glibc ``malloc_trim``; Lua states allocate with malloc)."""
    gc.collect()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim(0)


def run(engine: TradingEngine, stop: threading.Event) -> None:
    """The engine loop until ``stop`` is set; waits out Redis outages."""
    while not stop.is_set():
        try:
            engine.restore()
            break
        except redis.RedisError:
            wait_for_redis(engine.redis, engine.settings.redis_url or "", stop)
    gc.collect()
    gc.freeze()  # start-up objects leave the collector's work: shorter pauses
    gc.set_threshold(50_000, 20, 20)
    processed = counted = 0  # runner-bars: all so far, and when the rate was last published
    last_status = last_commands = time.monotonic()
    while not stop.is_set():
        now = time.monotonic()
        try:
            if now - last_commands >= COMMANDS_EVERY_S:
                engine.process_commands()
                last_commands = now
            processed += engine.tick(now)
            if now - last_status >= 1.0:  # the rate over the last second or so
                engine.publish_status((processed - counted) / (now - last_status))
                counted, last_status = processed, now
            engine.flush()
            if engine.released:  # deleted runners: collect their cycles, give memory back
                engine.released = False
                release_memory()
        except redis.RedisError as exc:
            print(f"engine: Redis error: {exc}", flush=True)  # snapshots refresh once it is back
            wait_for_redis(engine.redis, engine.settings.redis_url or "", stop)
            continue
        due = min((slot.next_due for slot in engine.feeds.values()), default=now + 1)
        engine.wait(max(0.0, min(due - time.monotonic(), IDLE_SLEEP_S)))
    with contextlib.suppress(redis.RedisError):  # states and feeds go to the database first
        engine.shutdown()


def main() -> int:
    """Entry point of ``tradesim engine``."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        engine = build_engine(Settings.from_env(), stop)
    except TradeSimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"engine: started, {len(engine.store.list())} stored runner(s)", flush=True)
    run(engine, stop)
    print("engine: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
