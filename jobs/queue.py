"""The RQ implementation of ``engine.platform.jobqueue.JobQueue``: jobs by function path
(data collection, downloads) and backtests by id."""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

import redis
from rq import Queue, Worker
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry

from engine.platform.jobqueue import JobState

JOB_TIMEOUT_S = 6 * 3600
BACKTEST_QUEUE = "backtests"
BACKTEST_TIMEOUT_S = 3600
RESULT_TTL_S = 7 * 86_400


class RQJobQueue:
    """Enqueues, inspects and cancels RQ jobs on one Redis connection."""

    def __init__(self, connection: redis.Redis, backtest_queue: str = BACKTEST_QUEUE) -> None:
        self.connection = connection
        self._queue = Queue(backtest_queue, connection=connection)

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

    def enqueue_backtest(self, backtest_id: str) -> str:
        """Queue ``jobs.backtest.backtest_job(backtest_id)``; the job id is ``bt-<id>``."""
        job = self._queue.enqueue(
            "jobs.backtest.backtest_job",
            backtest_id,
            job_id=f"bt-{backtest_id}",
            job_timeout=BACKTEST_TIMEOUT_S,
            result_ttl=RESULT_TTL_S,
            failure_ttl=RESULT_TTL_S,
            description=f"backtest {backtest_id}",
        )
        return str(job.id)

    def state(self, job_id: str) -> JobState:
        """Status, meta and failure reason; a started job whose worker is gone is not alive."""
        try:
            job = Job.fetch(job_id, connection=self.connection)
        except NoSuchJobError:
            return JobState("missing")
        status = job.get_status(refresh=False)
        name = status.value if status is not None else "missing"
        error = None
        if status == JobStatus.FAILED:
            error = _failure(job)
        alive = True
        if status == JobStatus.STARTED and job.worker_name:
            key = Worker.redis_worker_namespace_prefix + job.worker_name
            alive = bool(self.connection.exists(key))
        return JobState(name, dict(job.meta or {}), error, alive)

    def request_cancel(self, job_id: str) -> str:
        """Cancel a waiting job, or set ``meta["cancel"]`` for the running one to see."""
        try:
            job = Job.fetch(job_id, connection=self.connection)
        except NoSuchJobError:
            return "gone"
        status = job.get_status(refresh=False)
        if status in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED):
            job.cancel()
            return "cancelled"
        if status == JobStatus.STARTED:
            job.meta = job.get_meta(refresh=True)
            job.meta["cancel"] = True
            job.save_meta()
            return "cancelling"
        return "gone"

    def queued(self) -> int:
        """Jobs waiting on the queue."""
        return int(self._queue.count)


def _status(job: Job) -> str:
    """``queued``, ``started``, ``finished``, ... (RQ's JobStatus value)."""
    status = job.get_status()
    return str(getattr(status, "value", status))


def _failure(job: Job) -> str:
    """The last line of the job's traceback, e.g. ``Work-horse terminated unexpectedly ...``."""
    result = job.latest_result()
    text = (result.exc_string if result is not None else None) or job.exc_info or ""
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1] if lines else "the job failed without a message"
