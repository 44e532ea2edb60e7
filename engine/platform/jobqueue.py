"""The job system as the API sees it: a small protocol, implemented with RQ in ``jobs/``.

``engine/`` never imports RQ; the web process builds :class:`Services` with an implementation
(``jobs.queue.RQJobQueue``), tests may pass another real one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    """Enqueue backtests, read their job state, ask them to stop."""

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
