"""RQ jobs of a walk-forward run (``sweeps`` queue). The parent checks the run and fans it
out: one job per fold (any worker takes any fold; one lost with its work-horse is retried
once) and a gather job that depends on all of them (failed ones included). A fold job writes
its outcome to ``walk_forward_folds`` — a strategy error marks just that fold failed — and
the run's progress (folds done / K); the gather job marks a fold that never wrote one
failed and stores the assembled result. Cancel (the row's status) stops running folds
within 0.5 s and queued ones at once. The logic is ``engine.optimize.walkforward``'s."""

from __future__ import annotations

import time
from typing import Any

from redis import Redis
from rq import Queue, Retry, get_current_job
from rq.job import Dependency

from engine.backtest.data_spec import load_series
from engine.data.bars import BarSeries
from engine.data.candle_store import CandleStore
from engine.errors import BacktestCancelled, TradeSimError
from engine.optimize.request import SweepConfig
from engine.optimize.walkforward import (
    Fold,
    assemble,
    check_config,
    failed_fold,
    make_folds,
    run_fold,
)
from engine.platform.settings import Settings
from engine.storage.db import make_engine
from engine.storage.walkforward_store import WalkForwardRecord, WalkForwardStore
from jobs.sweep import RESULT_TTL_S, SWEEP_QUEUE

POLL_S = 0.5
FOLD_TIMEOUT_S = 3 * 3600
LOST_FOLD = "the worker running this fold died twice (it was retried once)"


class _Run:
    """One walk-forward's settings, database and stored row, inside a job."""

    def __init__(self, walk_forward_id: str) -> None:
        self.settings = Settings.from_env()
        self.db = make_engine(self.settings, migrate=False)
        self.store = WalkForwardStore(self.db)
        self.id = walk_forward_id
        self.record: WalkForwardRecord | None = self.store.get(walk_forward_id)

    @property
    def sweep(self) -> SweepConfig:
        assert self.record is not None
        return SweepConfig.from_dict(self.record.config["sweep"])

    def load(self) -> tuple[BarSeries, list[Fold]]:
        """The bars and the folds."""
        assert self.record is not None
        config = self.record.config
        series = load_series(
            self.sweep.backtest.data,
            csv_folders=self.settings.csv_folders,
            candles=CandleStore(self.db),
        )
        windows = make_folds(
            len(series), int(config["folds"]), str(config["mode"]), float(config["is_ratio"])
        )
        return series, windows

    def running(self) -> bool:
        fresh = self.store.get(self.id)
        return fresh is not None and fresh.status == "running"


def walk_forward_job(walk_forward_id: str) -> dict[str, Any]:
    """Start run ``walk_forward_id``: check it and enqueue its fold jobs and gather job."""
    run = _Run(walk_forward_id)
    try:
        if run.record is None or not run.store.mark_running(walk_forward_id):
            return {"walk_forward_id": walk_forward_id, "status": "gone"}
        try:
            check_config(run.sweep)
            _series, windows = run.load()
        except TradeSimError as exc:
            run.store.fail(walk_forward_id, str(exc))
            return {"walk_forward_id": walk_forward_id, "status": "failed"}
        _fan_out(_connection(), walk_forward_id, len(windows))
        return {"walk_forward_id": walk_forward_id, "status": "running", "folds": len(windows)}
    finally:
        run.db.dispose()


def walk_forward_fold_job(walk_forward_id: str, fold: int) -> dict[str, Any]:
    """Run fold ``fold`` (0-based) and store its outcome; nothing when the run is no longer
    running (cancelled: a queued fold exits at once)."""
    run = _Run(walk_forward_id)
    try:
        if run.record is None or not run.running():
            return {"walk_forward_id": walk_forward_id, "fold": fold, "status": "stopped"}
        job = get_current_job()
        last = [time.monotonic()]

        def step(done: int, stage: str) -> None:
            if job is not None:
                job.meta.update(done=done, stage=stage)
                job.save_meta()

        def cancelled() -> bool:
            now = time.monotonic()
            if now - last[0] < POLL_S:
                return False
            last[0] = now
            return not run.running()

        series, windows = run.load()
        error = None
        try:
            outcome = run_fold(run.sweep, series, windows, fold, step=step, cancel=cancelled)
        except BacktestCancelled:
            return {"walk_forward_id": walk_forward_id, "fold": fold, "status": "stopped"}
        except TradeSimError as exc:
            error = str(exc)
            outcome = failed_fold(series, windows[fold], error)
        stored = run.store.record_fold(walk_forward_id, fold, outcome, error)
        run.store.set_progress(walk_forward_id, round(stored / len(windows), 4))
        status = "ok" if error is None else "failed"
        return {"walk_forward_id": walk_forward_id, "fold": fold, "status": status}
    finally:
        run.db.dispose()


def walk_forward_gather_job(walk_forward_id: str) -> dict[str, Any]:
    """After every fold job: assemble the stored outcomes (a fold without one failed) and
    finish the run, unless it is no longer running."""
    run = _Run(walk_forward_id)
    try:
        if run.record is None or not run.running():
            return {"walk_forward_id": walk_forward_id, "status": "stopped"}
        config = run.record.config
        try:
            series, windows = run.load()
            stored = run.store.folds(walk_forward_id)
            outcomes = [
                stored.get(i) or failed_fold(series, windows[i], LOST_FOLD)
                for i in range(len(windows))
            ]
            result = assemble(
                run.sweep,
                series,
                windows,
                outcomes,
                mode=str(config["mode"]),
                is_ratio=float(config["is_ratio"]),
            )
        except TradeSimError as exc:
            run.store.fail(walk_forward_id, str(exc))
            return {"walk_forward_id": walk_forward_id, "status": "failed"}
        run.store.finish(walk_forward_id, result)
        return {"walk_forward_id": walk_forward_id, "status": "finished"}
    finally:
        run.db.dispose()


def fold_job_id(walk_forward_id: str, fold: int) -> str:
    """The RQ id of a fold job."""
    return f"wf-{walk_forward_id}-f{fold}"


def _connection() -> Redis:
    job = get_current_job()
    if job is not None:
        return job.connection
    return Redis.from_url(Settings.from_env().redis_url or "redis://localhost:6379")


def _fan_out(connection: Redis, walk_forward_id: str, folds: int) -> None:
    queue = Queue(SWEEP_QUEUE, connection=connection)
    datas = [
        Queue.prepare_data(
            "jobs.walkforward.walk_forward_fold_job",
            args=(walk_forward_id, fold),
            job_id=fold_job_id(walk_forward_id, fold),
            timeout=FOLD_TIMEOUT_S,
            result_ttl=RESULT_TTL_S,
            failure_ttl=RESULT_TTL_S,
            retry=Retry(max=1),
            description=f"walk-forward {walk_forward_id} fold {fold + 1}",
        )
        for fold in range(folds)
    ]
    jobs = queue.enqueue_many(datas)
    queue.enqueue(
        "jobs.walkforward.walk_forward_gather_job",
        walk_forward_id,
        job_id=f"wf-{walk_forward_id}-g",
        depends_on=Dependency(jobs=jobs, allow_failure=True),
        job_timeout=600,
        result_ttl=RESULT_TTL_S,
        failure_ttl=RESULT_TTL_S,
        description=f"walk-forward {walk_forward_id} gather",
    )
