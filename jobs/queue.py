"""``JobQueue`` on RQ: what the web process uses to queue and watch backtest jobs."""

from __future__ import annotations

import redis
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from engine.platform.jobqueue import JobState

BACKTEST_QUEUE = "backtests"
JOB_TIMEOUT_S = 3600
RESULT_TTL_S = 7 * 86_400


class RQJobQueue:
    """Backtest jobs on the ``backtests`` queue of one Redis."""

    def __init__(self, connection: redis.Redis, queue: str = BACKTEST_QUEUE) -> None:
        self._redis = connection
        self._queue = Queue(queue, connection=connection)

    def enqueue_backtest(self, backtest_id: str) -> str:
        """Queue ``jobs.backtest.backtest_job(backtest_id)``; the job id is ``bt-<id>``."""
        job = self._queue.enqueue(
            "jobs.backtest.backtest_job",
            backtest_id,
            job_id=f"bt-{backtest_id}",
            job_timeout=JOB_TIMEOUT_S,
            result_ttl=RESULT_TTL_S,
            failure_ttl=RESULT_TTL_S,
            description=f"backtest {backtest_id}",
        )
        return str(job.id)

    def state(self, job_id: str) -> JobState:
        """Status, meta and failure reason; a started job whose worker is gone is not alive."""
        try:
            job = Job.fetch(job_id, connection=self._redis)
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
            alive = bool(self._redis.exists(key))
        return JobState(name, dict(job.meta or {}), error, alive)

    def request_cancel(self, job_id: str) -> str:
        """Cancel a waiting job, or set ``meta["cancel"]`` for the running one to see."""
        try:
            job = Job.fetch(job_id, connection=self._redis)
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


def _failure(job: Job) -> str:
    """The last line of the job's traceback, e.g. ``Work-horse terminated unexpectedly ...``."""
    result = job.latest_result()
    text = (result.exc_string if result is not None else None) or job.exc_info or ""
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1] if lines else "the job failed without a message"
