"""What the web process needs, built once from Settings and handed to the app factory."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import redis
import sqlalchemy

from engine.live.client import EngineClient
from engine.live.keys import Keys
from engine.platform.settings import Settings


class JobQueue(Protocol):
    """Enqueues RQ jobs by function path (the implementation lives in ``jobs/``, because
    ``engine/`` never imports rq)."""

    def enqueue(
        self,
        queue: str,
        function: str,
        kwargs: dict[str, Any],
        *,
        job_id: str | None = None,
        at: datetime | None = None,
    ) -> str:
        """Enqueue ``function(**kwargs)`` now, or at ``at`` (RQ's scheduler); the job id."""
        ...

    def progress(self, job_id: str) -> dict[str, Any] | None:
        """``{"status", "progress", "stage"}`` of a job, or None when RQ no longer knows it."""
        ...

    def cancel(self, job_id: str) -> None:
        """Ask a running job to stop (``meta["cancel"]``); drop it if queued or scheduled."""
        ...


@dataclass(frozen=True)
class Services:
    """Settings plus the connections built from them (never module globals)."""

    settings: Settings
    redis: redis.Redis
    engine: EngineClient
    db: sqlalchemy.Engine
    jobs: JobQueue | None = None
    """RQ; the web app sets it (``app.create_app``)."""


def build_services(settings: Settings, redis_url: str, db: sqlalchemy.Engine) -> Services:
    """Connect to Redis (lazily, on first use) and wrap it in an EngineClient."""
    client = redis.Redis.from_url(redis_url, socket_timeout=10, health_check_interval=30)
    keys = Keys(settings.key_prefix)
    return Services(
        settings=settings,
        redis=client,
        engine=EngineClient(client, keys, settings.command_timeout_s),
        db=db,
    )
