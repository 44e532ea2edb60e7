"""What the web process needs, built once from Settings and handed to the app factory."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import redis
import sqlalchemy

from engine.live.client import EngineClient
from engine.live.keys import Keys
from engine.platform.jobqueue import JobQueue
from engine.platform.settings import Settings


@dataclass(frozen=True)
class Services:
    """Settings plus the connections built from them (never module globals)."""

    settings: Settings
    redis: redis.Redis
    engine: EngineClient
    db: sqlalchemy.Engine
    jobs: JobQueue | None = None
    """The job system (RQ; ``app.create_app`` sets it; None in processes that queue nothing:
    backtest routes then say 503)."""


def build_services(
    settings: Settings,
    redis_url: str,
    db: sqlalchemy.Engine,
    jobs: Callable[[redis.Redis], JobQueue] | None = None,
) -> Services:
    """Connect to Redis (lazily, on first use), wrap it in an EngineClient and, given a
    ``jobs`` factory, the job queue on the same connection."""
    client = redis.Redis.from_url(redis_url, socket_timeout=10, health_check_interval=30)
    keys = Keys(settings.key_prefix)
    return Services(
        settings=settings,
        redis=client,
        engine=EngineClient(client, keys, settings.command_timeout_s),
        db=db,
        jobs=None if jobs is None else jobs(client),
    )
