"""The job-queue port: how engine code enqueues, watches and cancels background jobs without
importing rq (``jobs/queue.py`` implements it with RQ). Imports nothing from ``engine``, so any
package may use it, like ``platform.settings``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

LOST_STATUSES = ("failed", "stopped", "canceled", "missing")
"""Job statuses after which a backtest that is still queued/running in the database is stale."""


@dataclass(frozen=True)
class JobState:
    """A job's status (RQ's names, plus ``missing``), its meta and why it failed (if it did).

    ``worker_alive`` is False when the job is ``started`` but the worker that took it is gone.
    """

    status: str
    meta: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    worker_alive: bool = True


class JobQueue(Protocol):
    """Enqueues RQ jobs by function path, and backtests by id (the implementation lives in
    ``jobs/``, because ``engine/`` never imports rq)."""

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

    def enqueue_backtest(self, backtest_id: str) -> str:
        """Queue the backtest job; returns the job id."""
        ...

    def state(self, job_id: str) -> JobState:
        """The job's current state (``missing`` if the job system no longer knows it)."""
        ...

    def request_cancel(self, job_id: str) -> str:
        """Cancel a queued job (returns ``"cancelled"``) or ask a running one to stop at its
        next check (``"cancelling"``); ``"gone"`` when the job no longer exists."""
        ...

    def queued(self) -> int:
        """Jobs waiting on the backtests queue."""
        ...
