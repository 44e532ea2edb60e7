"""REST handlers for parameter sweeps: submit (validated, then queued), list, status with
progress and ETA, results (also while running), cancel / delete.

A sweep body is a backtest request plus the sweep fields (see
:mod:`engine.optimize.request`); everything is checked before anything is queued.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.api.backtests import RunBacktestBody
from engine.api.core import ApiError, ApiRequest, ApiResponse, Route, ok
from engine.api.schema import PathParams, Query, QueryInt, absent
from engine.optimize.request import SweepConfig, parse_sweep
from engine.platform.jobqueue import LOST_STATUSES, JobQueue
from engine.platform.services import Services
from engine.storage.sweep_store import ACTIVE, SweepRecord, SweepStore
from engine.strategy.store import StrategyStore

SWEEP_QUEUE = "sweeps"
SWEEP_ID_PATTERN = r"^[0-9a-f]{32}$"


class RangeBody(BaseModel):
    """One param's range: ``values``, or ``min``/``max`` (and ``step``)."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)

    values: Annotated[list[float], Field(min_length=1, max_length=10_000)] | None = absent()
    min: float | None = absent()
    max: float | None = absent()
    step: Annotated[float, Field(gt=0)] | None = absent()


class ConstraintBody(BaseModel):
    """``metric op value``: e.g. ``{"metric": "max_drawdown_pct", "op": "<=", "value": 20}``."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)

    metric: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
    op: Literal["<=", ">=", "<", ">"]
    value: float


class SweepBody(RunBacktestBody):
    """A backtest request plus what to sweep and how to rank the combinations."""

    space: Annotated[dict[str, RangeBody], Field(min_length=1, max_length=20)]
    method: Literal["grid", "random", "tpe"] | None = absent()
    trials: Annotated[int, Field(ge=1, le=100_000)] | None = absent()
    objective: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")] | None = absent()
    direction: Literal["maximize", "minimize"] | None = absent()
    constraints: Annotated[list[ConstraintBody], Field(max_length=20)] | None = absent()
    chunk_size: Annotated[int, Field(ge=1, le=100)] | None = absent()
    batch_size: Annotated[int, Field(ge=1, le=1000)] | None = absent()


class SweepPath(PathParams):
    """A sweep id (32 hex digits)."""

    sweep_id: Annotated[str, Field(pattern=SWEEP_ID_PATTERN)]


class SweepList(Query):
    """Filter by status; page size."""

    status: Literal["queued", "running", "finished", "failed", "cancelled"] | None = absent()
    limit: QueryInt = Field(100, ge=1, le=1000)


class ResultsQuery(Query):
    """Only rows of one status (``ok``, ``failed``, ``pending``)."""

    status: Literal["pending", "ok", "failed"] | None = absent()


def _jobs(services: Services) -> JobQueue:
    if services.jobs is None:
        raise ApiError(503, "jobs_unavailable", "this process has no job queue; use tradesim up")
    return services.jobs


def _record(services: Services, sweep_id: str) -> SweepRecord:
    record = SweepStore(services.db).get(sweep_id)
    if record is None:
        raise ApiError(404, "not_found", f"no sweep '{sweep_id}'")
    return record


def submit(services: Services, body: object) -> dict[str, Any]:
    """Validate ``body``, store a queued sweep and enqueue its parent job (also what the
    Optimize page calls)."""
    jobs = _jobs(services)
    settings = services.settings
    config = parse_sweep(
        body,
        strategies=StrategyStore(settings.strategy_dir),
        csv_folders=settings.csv_folders,
    )
    store = SweepStore(services.db)
    sweep_id = uuid.uuid4().hex
    store.create(sweep_id, config.to_dict(), config.total)
    try:
        job_id = jobs.enqueue(
            SWEEP_QUEUE, "jobs.sweep.sweep_job", {"sweep_id": sweep_id}, job_id=f"sw-{sweep_id}"
        )
    except Exception as exc:  # Redis down: the row must not stay queued forever
        store.fail(sweep_id, f"could not queue the job: {exc}")
        raise ApiError(503, "jobs_unavailable", f"could not queue the sweep: {exc}") from None
    store.set_job(sweep_id, job_id)
    return {"sweep_id": sweep_id, "status": "queued", "total": config.total, "job_id": job_id}


def reconcile(services: Services, record: SweepRecord) -> SweepRecord:
    """Mark a queued sweep failed when its parent job was lost (flushed Redis, a crash
    before it planned the chunks); running sweeps are finished by their gather job."""
    if record.status != "queued" or record.job_id is None or services.jobs is None:
        return record
    state = services.jobs.state(record.job_id)
    if state.status not in LOST_STATUSES:
        return record
    store = SweepStore(services.db)
    store.fail(record.sweep_id, state.error or f"the job was lost ({state.status}); run it again")
    return store.get(record.sweep_id) or record


def status_of(services: Services, sweep_id: str) -> dict[str, Any]:
    """Status, combinations done / total, progress (0..1), ETA and the best row so far."""
    record = reconcile(services, _record(services, sweep_id))
    store = SweepStore(services.db)
    counts = store.counts(sweep_id)
    done = counts.done if record.status != "finished" else record.total
    progress = min(1.0, done / record.total) if record.total else 1.0
    eta = None
    if record.status in ACTIVE and record.started_at is not None and 0 < done < record.total:
        elapsed = (datetime.now(UTC) - record.started_at).total_seconds()
        eta = round(elapsed / done * (record.total - done), 1)
    best = record.best
    if record.status in ACTIVE and counts.ok:
        config = SweepConfig.from_dict(record.config)
        found = config.objective.best(store.results(sweep_id, status="ok"))
        best = (
            None if found is None else {k: found[k] for k in ("combo_index", "params", "objective")}
        )
    return {
        **record.to_dict(),
        "done": counts.done,
        "ok": counts.ok,
        "failed": counts.failed,
        "pending": counts.pending,
        "progress": round(progress, 4),
        "eta_s": eta,
        "best": best,
    }


def create(services: Services, request: ApiRequest) -> ApiResponse:
    """``POST /api/sweeps``: 202 with the new sweep's id and its number of combinations."""
    return ok(submit(services, request.body), status=202)


def listing(services: Services, request: ApiRequest) -> ApiResponse:
    """``GET /api/sweeps?status=&limit=``: newest first (pages call it with raw text too)."""
    raw = request.query.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise ApiError(400, "validation", f"limit={raw!r}: expected a whole number 1..1000")
    records = SweepStore(services.db).recent(
        status=request.query.get("status") or None, limit=int(raw)
    )
    return ok([r.to_dict() for r in records])


def status(services: Services, request: ApiRequest) -> ApiResponse:
    """``GET /api/sweeps/<id>``."""
    return ok(status_of(services, request.path["sweep_id"]))


def results(services: Services, request: ApiRequest) -> ApiResponse:
    """``GET /api/sweeps/<id>/results``: every combination (params, status, metrics,
    objective, feasible), in combination order; partial while the sweep runs."""
    record = _record(services, request.path["sweep_id"])
    wanted = request.query.get("status") or None
    if wanted not in (None, "pending", "ok", "failed"):
        raise ApiError(400, "validation", f"status={wanted!r}: expected pending, ok or failed")
    rows = SweepStore(services.db).results(record.sweep_id, status=wanted)
    return ok({"sweep_id": record.sweep_id, "status": record.status, "results": rows})


def delete(services: Services, request: ApiRequest) -> ApiResponse:
    """``DELETE /api/sweeps/<id>``: cancel an active sweep (every chunk stops at its next
    check), delete a finished one with its results."""
    record = _record(services, request.path["sweep_id"])
    store = SweepStore(services.db)
    if record.status in ACTIVE:
        store.cancel(record.sweep_id)
        if record.job_id and services.jobs is not None:
            services.jobs.cancel(record.job_id)
        return ok({"sweep_id": record.sweep_id, "status": "cancelled"})
    store.delete(record.sweep_id)
    return ok({"sweep_id": record.sweep_id, "status": "deleted"})


SWEEP_ROUTES = [
    Route(
        "/api/sweeps",
        ("POST",),
        create,
        "Queue a parameter sweep (validated first)",
        body=SweepBody,
        status=202,
        errors=(400, 503),
    ),
    Route(
        "/api/sweeps",
        ("GET",),
        listing,
        "Stored sweeps, newest first",
        query=SweepList,
        errors=(400,),
    ),
    Route(
        "/api/sweeps/<sweep_id>",
        ("GET",),
        status,
        "Sweep status, progress, ETA and best combination",
        path=SweepPath,
        errors=(404,),
    ),
    Route(
        "/api/sweeps/<sweep_id>/results",
        ("GET",),
        results,
        "Every combination of a sweep with its metrics",
        path=SweepPath,
        query=ResultsQuery,
        errors=(404,),
    ),
    Route(
        "/api/sweeps/<sweep_id>",
        ("DELETE",),
        delete,
        "Cancel or delete a sweep",
        path=SweepPath,
        errors=(404,),
    ),
]
