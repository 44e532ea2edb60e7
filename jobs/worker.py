"""``tradesim worker``: an RQ worker on the project's queues, reading Settings from the env."""

from __future__ import annotations

import os
import sys
import threading

import redis
from rq import Queue, Worker

from engine.live.connection import wait_for_redis
from engine.platform.settings import Settings

QUEUES = ("backtests", "sweeps", "data", "signals", "default")
"""Order matters: a worker takes user work (backtests, sweeps) before automated work."""


def main() -> int:
    """Run a worker until SIGTERM (RQ finishes the current job first), at the niceness of
    ``TRADESIM_WORKER_NICE`` (default 10) so CPU-bound backtests and sweeps never take the
    engine's CPU from live runners: the kernel serves the engine first when both want it."""
    settings = Settings.from_env()
    if not settings.redis_url:
        print("error: REDIS_URL is not set: use `tradesim up`", file=sys.stderr)
        return 2
    if settings.worker_nice:
        os.nice(settings.worker_nice)
    # loaded once here, so every forked work-horse has them
    import jobs.backtest
    import jobs.candle_bootstrap
    import jobs.lookahead
    import jobs.sweep
    import jobs.walkforward  # noqa: F401

    connection = redis.Redis.from_url(settings.redis_url)
    wait_for_redis(connection, settings.redis_url, threading.Event(), who="worker")
    queues = [Queue(name, connection=connection) for name in QUEUES]
    Worker(queues, connection=connection).work(with_scheduler=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
