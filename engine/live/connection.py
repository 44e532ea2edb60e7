"""Waiting for Redis: the engine and the workers outlive a Redis restart instead of exiting."""

from __future__ import annotations

import threading

import redis

REDIS_RETRY_S = 0.5
REDIS_RETRY_MAX_S = 5.0


def wait_for_redis(
    client: redis.Redis, url: str, stop: threading.Event, who: str = "engine"
) -> bool:
    """Ping until Redis answers (retrying with backoff, saying so once); False if stopped."""
    delay, said = REDIS_RETRY_S, False
    while not stop.is_set():
        try:
            client.ping()
        except redis.RedisError as exc:
            if not said:
                print(f"{who}: waiting for Redis at {url}: {exc}", flush=True)
                said = True
            stop.wait(delay)
            delay = min(REDIS_RETRY_MAX_S, delay * 2)
            continue
        if said:
            print(f"{who}: Redis is back", flush=True)
        return True
    return False
