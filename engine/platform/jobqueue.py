"""The job-queue port: how engine code enqueues, watches and cancels background jobs without
importing rq (``jobs/queue.py`` implements it with RQ). Imports nothing from ``engine``, so any
package may use it, like ``platform.settings``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


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
