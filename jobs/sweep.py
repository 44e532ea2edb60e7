"""RQ jobs of a sweep: the parent plans a batch and fans it out as chunk jobs on the
``sweeps`` queue (any worker takes any chunk; a chunk lost with its work-horse is retried
once), and a gather job that depends on every chunk (failed ones included) finishes the
sweep or, for tpe, plans and fans out the next batch. The logic is in
``engine.optimize.sweep``; the results are in the database."""

from __future__ import annotations

import os
from typing import Any

from redis import Redis
from rq import Queue, Retry, get_current_job
from rq.job import Dependency

from engine.errors import TradeSimError
from engine.optimize.request import SweepConfig
from engine.optimize.sweep import gather, plan_batch, run_chunk
from engine.platform.settings import Settings
from engine.storage.db import make_engine
from engine.storage.sweep_store import SweepStore

SWEEP_QUEUE = "sweeps"
CHUNK_TIMEOUT_S = 3 * 3600
RESULT_TTL_S = 7 * 86_400


def _store() -> tuple[Settings, Any, SweepStore]:
    settings = Settings.from_env()
    db = make_engine(settings, migrate=False)
    return settings, db, SweepStore(db)


def sweep_job(sweep_id: str) -> dict[str, Any]:
    """Plan batch 0 of ``sweep_id`` and enqueue its chunks and gather job."""
    _settings, db, store = _store()
    try:
        record = store.get(sweep_id)
        if record is None or record.status != "queued":
            return {"sweep_id": sweep_id, "status": record.status if record else "missing"}
        config = SweepConfig.from_dict(record.config)
        try:
            chunks = plan_batch(store, config, sweep_id, 0)
        except TradeSimError as exc:
            store.fail(sweep_id, str(exc))
            return {"sweep_id": sweep_id, "status": "failed"}
        _fan_out(_connection(), sweep_id, 0, store.first_chunk(sweep_id, 0), chunks)
        return {"sweep_id": sweep_id, "status": "running", "chunks": chunks}
    finally:
        db.dispose()


def sweep_chunk_job(sweep_id: str, chunk: int) -> dict[str, Any]:
    """Run one chunk (its pending combinations; a retry skips the finished ones)."""
    settings, db, store = _store()
    try:
        record = store.get(sweep_id)
        if record is None:
            return {"sweep_id": sweep_id, "chunk": chunk, "status": "missing"}
        config = SweepConfig.from_dict(record.config)
        job = get_current_job()
        if job is not None:  # which process runs this chunk (operators; the kill test)
            job.meta["pid"] = os.getpid()
            job.save_meta()

        def tell(done: int) -> None:
            if job is not None:
                job.meta["done"] = done
                job.save_meta()

        outcome = run_chunk(
            store, config, sweep_id, chunk, csv_folders=settings.csv_folders, on_combination=tell
        )
        return {"sweep_id": sweep_id, "chunk": chunk, **outcome}
    finally:
        db.dispose()


def sweep_gather_job(sweep_id: str, batch: int) -> dict[str, Any]:
    """Finish the sweep after ``batch``, or plan and fan out the next tpe batch."""
    _settings, db, store = _store()
    try:
        record = store.get(sweep_id)
        if record is None:
            return {"sweep_id": sweep_id, "status": "missing"}
        config = SweepConfig.from_dict(record.config)
        try:
            outcome = gather(store, config, sweep_id)
            if outcome == "next":
                chunks = plan_batch(store, config, sweep_id, batch + 1)
                if chunks:
                    first = store.first_chunk(sweep_id, batch + 1)
                    _fan_out(_connection(), sweep_id, batch + 1, first, chunks)
                    return {"sweep_id": sweep_id, "status": "running", "batch": batch + 1}
                outcome = gather(store, config, sweep_id)
        except TradeSimError as exc:
            store.fail(sweep_id, str(exc))
            return {"sweep_id": sweep_id, "status": "failed"}
        return {"sweep_id": sweep_id, "status": outcome}
    finally:
        db.dispose()


def _connection() -> Redis:
    job = get_current_job()
    if job is not None:
        return job.connection
    settings = Settings.from_env()
    return Redis.from_url(settings.redis_url or "redis://localhost:6379")


def chunk_job_id(sweep_id: str, chunk: int) -> str:
    """The RQ id of a chunk job."""
    return f"sw-{sweep_id}-c{chunk}"


def _fan_out(connection: Redis, sweep_id: str, batch: int, first: int, chunks: int) -> None:
    queue = Queue(SWEEP_QUEUE, connection=connection)
    datas = [
        Queue.prepare_data(
            "jobs.sweep.sweep_chunk_job",
            args=(sweep_id, chunk),
            job_id=chunk_job_id(sweep_id, chunk),
            timeout=CHUNK_TIMEOUT_S,
            result_ttl=RESULT_TTL_S,
            failure_ttl=RESULT_TTL_S,
            retry=Retry(max=1),
            description=f"sweep {sweep_id} chunk {chunk}",
        )
        for chunk in range(first, first + chunks)
    ]
    jobs = queue.enqueue_many(datas)
    queue.enqueue(
        "jobs.sweep.sweep_gather_job",
        sweep_id,
        batch,
        job_id=f"sw-{sweep_id}-g{batch}",
        depends_on=Dependency(jobs=jobs, allow_failure=True),
        job_timeout=600,
        result_ttl=RESULT_TTL_S,
        failure_ttl=RESULT_TTL_S,
        description=f"sweep {sweep_id} gather batch {batch}",
    )
