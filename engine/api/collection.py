"""REST handlers for scheduled data collection (``collection_jobs``) and their sessions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import Field

from engine.api.core import ApiError, ApiRequest, ApiResponse, Route, ok
from engine.api.history import Time, _jobs, parse_time, session_json
from engine.api.schema import (
    COLLECT_SOURCE_PATTERN,
    Body,
    PathParams,
    TimeframeName,
    absent,
)
from engine.data.collection import COLLECT_JOB, QUEUE, cadence_s, schedule, unschedule
from engine.data.exchange import store_symbol
from engine.data.history import SIM, check_source
from engine.data.symbols import get_symbol
from engine.data.timeframes import DAY_MS, parse_timeframe
from engine.platform.services import Services
from engine.storage.collection_store import CollectionExists, CollectionStore

MIN_INTERVAL_S, MAX_INTERVAL_S = 60, 7 * 86400
DEFAULT_HISTORY_MS = 30 * DAY_MS


IntervalS = Annotated[int, Field(ge=MIN_INTERVAL_S, le=MAX_INTERVAL_S, examples=[3600])]


class CreateCollectionBody(Body):
    """A scheduled collection: ``sim`` or a ccxt exchange id, a symbol, a timeframe; optional
    interval (default: the timeframe's cadence) and history start (default: 30 days back)."""

    source: Annotated[str, Field(pattern=COLLECT_SOURCE_PATTERN, examples=["binanceus"])]
    symbol: Annotated[str, Field(min_length=1, max_length=64, examples=["BTC/USDT"])]
    timeframe: TimeframeName
    interval_s: IntervalS | None = absent()
    since: Time | None = absent()


class UpdateCollectionBody(Body):
    """What a collection job may change: enabled, interval, history start."""

    enabled: bool | None = absent()
    interval_s: IntervalS | None = absent()
    since: Time | None = absent()


class AutoCollectBody(Body):
    """Which collection to run now (all enabled ones without ``collection_id``)."""

    collection_id: Annotated[int, Field(ge=1, le=2**62)] | None = absent()


class CollectionPath(PathParams):
    """A collection job's id (the whole number the list shows)."""

    collection_id: Annotated[str, Field(pattern=r"^[0-9]{1,18}$", examples=["1"])]


def job_json(job: dict[str, Any]) -> dict[str, Any]:
    """A collection job for the API (datetimes as ISO text)."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in job.items()}


def _job(store: CollectionStore, raw: str) -> dict[str, Any]:
    job = store.get_job(int(raw)) if raw.isdigit() else None
    if job is None:
        raise ApiError(404, "not_found", f"no collection job {raw!r}")
    return job


def list_jobs(services: Services, request: ApiRequest) -> ApiResponse:
    """Every collection job with its schedule and last result."""
    return ok([job_json(j) for j in CollectionStore(services.db).list_jobs()])


def create_job(services: Services, request: ApiRequest) -> ApiResponse:
    """Create ``{source, symbol, timeframe, interval_s?, since?}`` (interval default: the
    timeframe's cadence; since default: 30 days back) and schedule its first run now."""
    body = request.valid(CreateCollectionBody)
    source = check_source(body.source)
    symbol = store_symbol(body.symbol)
    if source == SIM:
        get_symbol(symbol)
    timeframe = parse_timeframe(body.timeframe).value
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    since = parse_time(body.since, "since") if body.since else now_ms - DEFAULT_HISTORY_MS
    store = CollectionStore(services.db)
    jobs = _jobs(services)
    try:
        job = store.add_job(
            source=source,
            symbol=symbol,
            timeframe=timeframe,
            interval_s=body.interval_s or cadence_s(timeframe),
            since_ms=since,
        )
    except CollectionExists as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    return ok(job_json(schedule(jobs, store, job)), status=201)


def update_job(services: Services, request: ApiRequest) -> ApiResponse:
    """Change ``enabled``, ``interval_s`` or ``since``; the schedule follows."""
    store = CollectionStore(services.db)
    job = _job(store, request.path["collection_id"])
    body = request.valid(UpdateCollectionBody)
    changes: dict[str, Any] = {}
    if body.enabled is not None:
        changes["enabled"] = body.enabled
        changes["status"] = "scheduled" if body.enabled else "disabled"
    if body.interval_s is not None:
        changes["interval_s"] = body.interval_s
    if body.since is not None:
        changes["since_ms"] = parse_time(body.since, "since")
    if changes:
        job = store.update_job(job["id"], **changes) or job
    jobs = _jobs(services)
    if job["enabled"]:
        job = schedule(jobs, store, job)
    else:
        unschedule(jobs, store, job)
        job = store.get_job(job["id"]) or job
    return ok(job_json(job))


def delete_job(services: Services, request: ApiRequest) -> ApiResponse:
    """Delete a job (its pending run is dropped; stored candles stay)."""
    store = CollectionStore(services.db)
    job = _job(store, request.path["collection_id"])
    unschedule(_jobs(services), store, job)
    store.delete_job(job["id"])
    return ok({"deleted": job["id"]})


def _run_now(services: Services, store: CollectionStore, job: dict[str, Any]) -> dict[str, Any]:
    rq_id = f"collect-{uuid.uuid4().hex[:12]}"
    session = store.start_session(
        kind="collection",
        job_id=job["id"],
        source=job["source"],
        symbol=job["symbol"],
        timeframe=job["timeframe"],
        status="queued",
        rq_job_id=rq_id,
    )
    _jobs(services).enqueue(
        QUEUE, COLLECT_JOB, {"collection_id": job["id"], "session_id": session["id"]}, job_id=rq_id
    )
    return session_json(session, None)


def run_job(services: Services, request: ApiRequest) -> ApiResponse:
    """Run a collection now (the schedule is unchanged); 202 with its session."""
    store = CollectionStore(services.db)
    return ok(_run_now(services, store, _job(store, request.path["collection_id"])), status=202)


def job_sessions(services: Services, request: ApiRequest) -> ApiResponse:
    """A job's runs, newest first."""
    store = CollectionStore(services.db)
    job = _job(store, request.path["collection_id"])
    return ok([session_json(s, None) for s in store.list_sessions(job_id=job["id"])])


def auto_collect(services: Services, request: ApiRequest) -> ApiResponse:
    """Run every enabled collection now, or the one named by ``{"collection_id": n}``."""
    store = CollectionStore(services.db)
    wanted = request.valid(AutoCollectBody).collection_id
    if wanted is not None:
        targets = [_job(store, str(wanted))]
    else:
        targets = [j for j in store.list_jobs() if j["enabled"]]
    return ok([_run_now(services, store, job) for job in targets], status=202)


COLLECTION = "/api/collection/<collection_id>"
COLLECTION_ROUTES = [
    Route("/api/collection", ("GET",), list_jobs, "Scheduled collection jobs"),
    Route(
        "/api/collection",
        ("POST",),
        create_job,
        "Create a collection job (first run now)",
        body=CreateCollectionBody,
        status=201,
        errors=(400, 409, 503),
    ),
    Route(
        COLLECTION,
        ("PUT",),
        update_job,
        "Enable/disable or change a collection job",
        path=CollectionPath,
        body=UpdateCollectionBody,
        errors=(400, 404, 503),
    ),
    Route(
        COLLECTION,
        ("DELETE",),
        delete_job,
        "Delete a collection job",
        path=CollectionPath,
        errors=(400, 404, 503),
    ),
    Route(
        f"{COLLECTION}/run",
        ("POST",),
        run_job,
        "Run a collection now",
        path=CollectionPath,
        status=202,
        errors=(400, 404, 503),
    ),
    Route(
        f"{COLLECTION}/sessions",
        ("GET",),
        job_sessions,
        "A collection job's sessions",
        path=CollectionPath,
        errors=(400, 404),
    ),
    Route(
        "/api/market-data/auto-collect",
        ("POST",),
        auto_collect,
        "Run collections now",
        body=AutoCollectBody,
        status=202,
        errors=(400, 404, 503),
    ),
]
