"""REST handlers for scheduled data collection (``collection_jobs``) and their sessions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from engine.api.core import ApiError, ApiRequest, ApiResponse, Route, ok
from engine.api.history import _body, _jobs, _text, parse_time, session_json
from engine.data.collection import COLLECT_JOB, QUEUE, cadence_s, schedule, unschedule
from engine.data.exchange import store_symbol
from engine.data.history import SIM, check_source
from engine.data.symbols import get_symbol
from engine.data.timeframes import DAY_MS, parse_timeframe
from engine.platform.services import Services
from engine.storage.collection_store import CollectionExists, CollectionStore

MIN_INTERVAL_S, MAX_INTERVAL_S = 60, 7 * 86400
DEFAULT_HISTORY_MS = 30 * DAY_MS


def job_json(job: dict[str, Any]) -> dict[str, Any]:
    """A collection job for the API (datetimes as ISO text)."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in job.items()}


def _job(store: CollectionStore, raw: str) -> dict[str, Any]:
    job = store.get_job(int(raw)) if raw.isdigit() else None
    if job is None:
        raise ApiError(404, "not_found", f"no collection job {raw!r}")
    return job


def _interval(body: dict[str, Any], default: int) -> int:
    value = body.get("interval_s", default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, "validation", "interval_s must be a whole number of seconds")
    if not MIN_INTERVAL_S <= value <= MAX_INTERVAL_S:
        raise ApiError(
            400, "validation", f"interval_s={value}: expected {MIN_INTERVAL_S}..{MAX_INTERVAL_S}"
        )
    return value


def list_jobs(services: Services, request: ApiRequest) -> ApiResponse:
    """Every collection job with its schedule and last result."""
    return ok([job_json(j) for j in CollectionStore(services.db).list_jobs()])


def create_job(services: Services, request: ApiRequest) -> ApiResponse:
    """Create ``{source, symbol, timeframe, interval_s?, since?}`` (interval default: the
    timeframe's cadence; since default: 30 days back) and schedule its first run now."""
    body = _body(request, '{"source": "binanceus", "symbol": "BTC/USDT", "timeframe": "1h"}')
    source = check_source(_text(body, "source") or "")
    if source.startswith("csv:"):
        raise ApiError(400, "validation", "csv sources are imported, not collected")
    symbol = store_symbol(_text(body, "symbol") or "")
    if source == SIM:
        get_symbol(symbol)
    timeframe = parse_timeframe(_text(body, "timeframe") or "").value
    since_text = _text(body, "since", required=False)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    since = parse_time(since_text, "since") if since_text else now_ms - DEFAULT_HISTORY_MS
    store = CollectionStore(services.db)
    jobs = _jobs(services)
    try:
        job = store.add_job(
            source=source,
            symbol=symbol,
            timeframe=timeframe,
            interval_s=_interval(body, cadence_s(timeframe)),
            since_ms=since,
        )
    except CollectionExists as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    return ok(job_json(schedule(jobs, store, job)), status=201)


def update_job(services: Services, request: ApiRequest) -> ApiResponse:
    """Change ``enabled``, ``interval_s`` or ``since``; the schedule follows."""
    store = CollectionStore(services.db)
    job = _job(store, request.path["collection_id"])
    body = _body(request, '{"enabled": false}')
    unknown = sorted(set(body) - {"enabled", "interval_s", "since"})
    if unknown:
        raise ApiError(400, "validation", f"unknown field(s): {', '.join(unknown)}")
    changes: dict[str, Any] = {}
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise ApiError(400, "validation", "enabled must be true or false")
        changes["enabled"] = body["enabled"]
        changes["status"] = "scheduled" if body["enabled"] else "disabled"
    if "interval_s" in body:
        changes["interval_s"] = _interval(body, job["interval_s"])
    if "since" in body:
        changes["since_ms"] = parse_time(str(body["since"]), "since")
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
    body = request.body if isinstance(request.body, dict) else {}
    wanted = body.get("collection_id")
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
        status=201,
        errors=(400, 409, 503),
    ),
    Route(
        COLLECTION,
        ("PUT",),
        update_job,
        "Enable/disable or change a collection job",
        errors=(400, 404, 503),
    ),
    Route(COLLECTION, ("DELETE",), delete_job, "Delete a collection job", errors=(400, 404, 503)),
    Route(
        f"{COLLECTION}/run",
        ("POST",),
        run_job,
        "Run a collection now",
        status=202,
        errors=(400, 404, 503),
    ),
    Route(
        f"{COLLECTION}/sessions",
        ("GET",),
        job_sessions,
        "A collection job's sessions",
        errors=(400, 404),
    ),
    Route(
        "/api/market-data/auto-collect",
        ("POST",),
        auto_collect,
        "Run collections now",
        status=202,
        errors=(400, 404, 503),
    ),
]
