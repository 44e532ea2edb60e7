"""REST handlers for backtests: submit (validated, then queued), status, results, delete, list.

Submitting checks everything first (strategy, params, range, fills) and answers 400 before
anything is queued, 429 past ``Settings.max_queued_backtests``. Status reads reconcile the
database with the job system, so a backtest whose worker died shows ``failed`` with the reason.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import Field

from engine.api.core import ApiError, ApiRequest, ApiResponse, Route, ok
from engine.api.schema import Body, TimeframeName, absent
from engine.backtest.request import BacktestConfig, parse_request
from engine.data.candle_store import CandleStore
from engine.platform.jobqueue import LOST_STATUSES, JobQueue
from engine.platform.services import Services
from engine.storage.backtest_store import ACTIVE, BacktestRecord, BacktestStore
from engine.strategy.store import StrategyStore


class RunBacktestBody(Body):
    """A backtest request: ``strategy`` (a name) or ``strategy_code``; a range as ``preset``
    or ``start``/``end``; the rest optional (``engine.backtest.request`` checks how they fit
    together and answers 400 naming the field)."""

    strategy: Annotated[str, Field(examples=["ema_crossover"])] | None = absent()
    strategy_code: Annotated[str, Field(max_length=262_144)] | None = absent()
    symbol: Annotated[str, Field(examples=["BTCUSDT"])] | None = absent()
    timeframe: TimeframeName | None = absent()
    source: (
        Annotated[
            str,
            Field(pattern=r"^(csv:.+|[A-Za-z0-9][A-Za-z0-9_.-]{0,47})$", examples=["sim"]),
        ]
        | None
    ) = absent()
    preset: Literal["24h", "7d", "30d", "90d", "1y"] | None = absent()
    start: str | int | None = absent()
    end: str | int | None = absent()
    runs: Annotated[int, Field(ge=1, le=1000)] | None = absent()
    duration: Annotated[str, Field(examples=["7d"])] | None = absent()
    seed: Annotated[int, Field(ge=0)] | None = absent()
    capital: Annotated[float, Field(gt=0)] | None = absent()
    commission: Annotated[float, Field(ge=0, lt=0.5)] | None = absent()
    slippage_model: Literal["fixed", "spread"] | None = absent()
    slippage_bps: Annotated[float, Field(ge=0, lt=5000)] | None = absent()
    fill: Literal["close", "next_open"] | None = absent()
    window: Annotated[int, Field(ge=2, le=100_000)] | None = absent()
    params: dict[str, float] | None = absent()
    note: Annotated[str, Field(max_length=500)] | None = absent()


def _jobs(services: Services) -> JobQueue:
    if services.jobs is None:
        raise ApiError(503, "jobs_unavailable", "this process has no job queue; use tradesim up")
    return services.jobs


def _record(services: Services, backtest_id: str) -> BacktestRecord:
    record = BacktestStore(services.db).get(backtest_id)
    if record is None:
        raise ApiError(404, "not_found", f"no backtest '{backtest_id}'")
    return reconcile(services, record)


def lost_job_reason(services: Services, job_id: str | None, noun: str) -> str | None:
    """Why the job of an active ``noun`` (a backtest, a candle bootstrap) is lost — failed,
    gone with a flushed Redis, or its worker killed — or None while it is alive."""
    if job_id is None or services.jobs is None:
        return None
    state = services.jobs.state(job_id)
    if state.status in LOST_STATUSES:
        return state.error or f"the job was lost ({state.status}); run the {noun} again"
    if not state.worker_alive:
        return f"the worker running this {noun} stopped; run the {noun} again"
    return None


def reconcile(services: Services, record: BacktestRecord) -> BacktestRecord:
    """Mark an active backtest failed when its job is lost (killed worker, flushed Redis)."""
    if record.status not in ACTIVE:
        return record
    reason = lost_job_reason(services, record.job_id, "backtest")
    if reason is None:
        return record
    store = BacktestStore(services.db)
    store.fail(record.backtest_id, reason)
    return store.get(record.backtest_id) or record


def submit(services: Services, body: object) -> dict[str, Any]:
    """Validate ``body``, store a queued backtest and enqueue its job; ``{backtest_id, ...}``.

    Also what the Backtest page calls (the same checks, the same queue)."""
    jobs = _jobs(services)
    settings = services.settings
    config = parse_request(
        body,
        strategies=StrategyStore(settings.strategy_dir),
        csv_folders=settings.csv_folders,
        candles=CandleStore(services.db),
    )
    store = BacktestStore(services.db)
    active = store.count_active()
    if active >= settings.max_queued_backtests:
        raise ApiError(
            429,
            "too_many_backtests",
            f"{active} backtests are queued or running (the limit is "
            f"{settings.max_queued_backtests}); wait for one to finish or cancel one",
        )
    backtest_id = uuid.uuid4().hex
    store.create(backtest_id, config.to_dict())
    try:
        job_id = jobs.enqueue_backtest(backtest_id)
    except Exception as exc:  # Redis down: the row must not stay queued forever
        store.fail(backtest_id, f"could not queue the job: {exc}")
        raise ApiError(503, "jobs_unavailable", f"could not queue the backtest: {exc}") from None
    store.set_job(backtest_id, job_id)
    return {"backtest_id": backtest_id, "status": "queued", "job_id": job_id}


def status_of(services: Services, backtest_id: str) -> dict[str, Any]:
    """Status, progress (0..1), stage and ETA of one backtest (live from the job while active)."""
    record = _record(services, backtest_id)
    out = {
        "backtest_id": record.backtest_id,
        "status": record.status,
        "progress": record.progress,
        "stage": record.status,
        "eta_s": None,
        "error": record.error,
    }
    if record.status in ACTIVE and record.job_id and services.jobs is not None:
        meta = services.jobs.state(record.job_id).meta
        out.update(
            progress=float(meta.get("progress", record.progress)),
            stage=str(meta.get("stage", record.status)),
            eta_s=meta.get("eta_s"),
        )
    if record.status == "finished":
        out["progress"], out["stage"] = 1.0, "finished"
    return out


def run(services: Services, request: ApiRequest) -> ApiResponse:
    """``POST /api/backtest/run``: 202 with the new backtest's id."""
    return ok(submit(services, request.body), status=202)


def status(services: Services, request: ApiRequest) -> ApiResponse:
    """``GET /api/backtest/<id>/status``."""
    return ok(status_of(services, request.path["backtest_id"]))


def results(services: Services, request: ApiRequest) -> ApiResponse:
    """``GET /api/backtest/<id>/results``: the result JSON; 409 while not finished."""
    record = _record(services, request.path["backtest_id"])
    if record.status != "finished":
        why = f": {record.error}" if record.error else ""
        raise ApiError(
            409, "not_finished", f"backtest {record.backtest_id} is {record.status}{why}"
        )
    return ok(BacktestStore(services.db).result(record.backtest_id))


def delete(services: Services, request: ApiRequest) -> ApiResponse:
    """``DELETE /api/backtest/<id>``: cancel an active one, delete a finished one."""
    record = _record(services, request.path["backtest_id"])
    store = BacktestStore(services.db)
    if record.status in ACTIVE:
        outcome = "cancelled"
        if record.job_id and services.jobs is not None:
            outcome = services.jobs.request_cancel(record.job_id)
        if outcome != "cancelling":  # never started (or gone): nothing will report back
            store.cancel(record.backtest_id)
            outcome = "cancelled"
        return ok({"backtest_id": record.backtest_id, "status": outcome})
    store.delete(record.backtest_id)
    return ok({"backtest_id": record.backtest_id, "status": "deleted"})


def history(services: Services, request: ApiRequest) -> ApiResponse:
    """``GET /api/backtests?status=&strategy=&symbol=&limit=``: newest first."""
    raw = request.query.get("limit", "100")
    try:
        limit = int(raw)
    except ValueError:
        raise ApiError(400, "validation", f"limit={raw!r}: expected a whole number") from None
    if not 1 <= limit <= 1000:
        raise ApiError(400, "validation", f"limit={limit}: expected 1..1000")
    records = BacktestStore(services.db).list(
        status=request.query.get("status") or None,
        strategy=request.query.get("strategy") or None,
        symbol=request.query.get("symbol") or None,
        limit=limit,
    )
    return ok([reconcile(services, r).to_dict() for r in records])


def rerun_request(record: BacktestRecord) -> dict[str, Any]:
    """The request body that runs ``record`` again with the exact same code and data."""
    return BacktestConfig.from_dict(record.config).to_request()


BACKTEST_ROUTES = [
    Route(
        "/api/backtest/run",
        ("POST",),
        run,
        "Queue a backtest (validated first)",
        body=RunBacktestBody,
        status=202,
        errors=(400, 429, 503),
    ),
    Route(
        "/api/backtest/<backtest_id>/status",
        ("GET",),
        status,
        "Backtest status",
        errors=(404, 503),
    ),
    Route(
        "/api/backtest/<backtest_id>/results",
        ("GET",),
        results,
        "Backtest result JSON",
        errors=(404, 409),
    ),
    Route(
        "/api/backtest/<backtest_id>",
        ("DELETE",),
        delete,
        "Cancel or delete a backtest",
        errors=(404, 503),
    ),
    Route("/api/backtests", ("GET",), history, "Stored backtests, newest first", errors=(400,)),
]
