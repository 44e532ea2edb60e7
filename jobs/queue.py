"""The RQ implementation of ``engine.platform.jobqueue.JobQueue``."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

import redis
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.registry import ScheduledJobRegistry

JOB_TIMEOUT_S = 6 * 3600


class RQJobQueue:
    """Enqueues, inspects and cancels RQ jobs on one Redis connection."""

    def __init__(self, connection: redis.Redis) -> None:
        self.connection = connection

    def enqueue(
        self,
        queue: str,
        function: str,
        kwargs: dict[str, Any],
        *,
        job_id: str | None = None,
        at: datetime | None = None,
    ) -> str:
        """Enqueue now, or at ``at`` (needs a worker started ``--with-scheduler``)."""
        q = Queue(queue, connection=self.connection)
        options: dict[str, Any] = {"kwargs": kwargs, "job_id": job_id, "job_timeout": JOB_TIMEOUT_S}
        job = q.enqueue_at(at, function, **options) if at else q.enqueue(function, **options)
        return str(job.id)

    def progress(self, job_id: str) -> dict[str, Any] | None:
        """Status and the job's progress meta, or None for an unknown/expired job."""
        try:
            job = Job.fetch(job_id, connection=self.connection)
        except NoSuchJobError:
            return None
        meta = job.get_meta()
        return {
            "status": _status(job),
            "progress": meta.get("progress", 0.0),
            "stage": meta.get("stage", ""),
        }

    def cancel(self, job_id: str) -> None:
        """Set ``meta["cancel"]`` (a running job stops at its next check) and drop the job
        from its queue or the scheduler when it has not started."""
        try:
            job = Job.fetch(job_id, connection=self.connection)
        except NoSuchJobError:
            return
        job.meta["cancel"] = True
        job.save_meta()
        status = _status(job)
        if status == "scheduled":
            ScheduledJobRegistry(job.origin, connection=self.connection).remove(job)
        if status in ("queued", "scheduled", "deferred"):
            with contextlib.suppress(InvalidJobOperation):
                job.cancel()


def _status(job: Job) -> str:
    """``queued``, ``started``, ``finished``, ... (RQ's JobStatus value)."""
    status = job.get_status()
    return str(getattr(status, "value", status))
