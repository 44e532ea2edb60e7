"""REST handlers of the candle bootstrap: re-run a backtest's strategy on synthetic price paths
(a block bootstrap of its bars' log returns, ``engine.optimize.candle_bootstrap``).

``POST /api/robustness/candle-bootstrap`` checks the backtest (it must exist — an unknown id
is a 400, like any other bad field of the body — and be finished), ``paths`` (1..1000) and
``block`` (1..bars - 1), stores a queued row and queues ``jobs.candle_bootstrap`` on
``sweeps``; ``GET .../<id>`` gives status, paths done, progress and, once finished, the
result; ``DELETE .../<id>`` cancels an active one.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import Field

from engine.api.backtests import lost_job_reason
from engine.api.core import ApiError, ApiRequest, ApiResponse, Route, ok
from engine.api.schema import Body, PathParams, absent
from engine.backtest.data_spec import DataSpec, check_available
from engine.data.candle_store import CandleStore
from engine.optimize.candle_bootstrap import (
    DEFAULT_BLOCK,
    DEFAULT_PATHS,
    MAX_BLOCK,
    MAX_PATHS,
    check_arguments,
)
from engine.platform.services import Services
from engine.storage.backtest_store import BacktestStore
from engine.storage.bootstrap_store import ACTIVE, CandleBootstrapStore

MAX_SEED = 2**63 - 1


class CandleBootstrapBody(Body):
    """Which backtest, how many paths, the block length in bars, the seed."""

    backtest_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    paths: Annotated[int, Field(ge=1, le=MAX_PATHS)] | None = absent()
    block: Annotated[int, Field(ge=1, le=MAX_BLOCK)] | None = absent()
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] | None = absent()


class CandleBootstrapPath(PathParams):
    """A candle bootstrap id."""

    bootstrap_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]


def _whole(body: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = body.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ApiError(400, "validation", f"{name} must be a whole number {low}..{high}")
    return value


def submit_candle_bootstrap(services: Services, body: Any) -> dict[str, Any]:
    """Check, store and queue a candle bootstrap (what the Robustness tab calls too)."""
    if services.jobs is None:
        raise ApiError(503, "jobs_unavailable", "this process has no job queue; use tradesim up")
    if not isinstance(body, dict) or not isinstance(body.get("backtest_id"), str):
        raise ApiError(400, "validation", 'send {"backtest_id": "<id>", "paths": 200}')
    paths = _whole(body, "paths", DEFAULT_PATHS, 1, MAX_PATHS)
    block = _whole(body, "block", DEFAULT_BLOCK, 1, MAX_BLOCK)
    seed = _whole(body, "seed", 1, 0, MAX_SEED)
    record = BacktestStore(services.db).get(body["backtest_id"])
    if record is None:
        raise ApiError(400, "validation", f"backtest_id: no backtest '{body['backtest_id']}'")
    if record.status != "finished":
        raise ApiError(409, "not_finished", f"backtest {record.backtest_id} is {record.status}")
    bars = check_available(
        DataSpec.from_dict(record.config["data"]),
        csv_folders=services.settings.csv_folders,
        candles=CandleStore(services.db),
    )
    check_arguments(bars, paths, block)
    bootstrap_id = uuid.uuid4().hex
    store = CandleBootstrapStore(services.db)
    store.create(bootstrap_id, record.backtest_id, paths=paths, block=block, seed=seed)
    try:
        job_id = services.jobs.enqueue(
            "sweeps",
            "jobs.candle_bootstrap.candle_bootstrap_job",
            {"bootstrap_id": bootstrap_id},
            job_id=f"cb-{bootstrap_id}",
        )
    except Exception as exc:  # Redis down: the row must not stay queued forever
        store.fail(bootstrap_id, f"could not queue the job: {exc}")
        raise ApiError(503, "jobs_unavailable", f"could not queue the run: {exc}") from None
    store.set_job(bootstrap_id, job_id)
    return {"bootstrap_id": bootstrap_id, "status": "queued", "job_id": job_id}


def candle_bootstrap_state(services: Services, bootstrap_id: str) -> dict[str, Any]:
    """Status, ``done``/``paths``, ``progress`` and (once finished) ``result``."""
    store = CandleBootstrapStore(services.db)
    found = store.get(bootstrap_id)
    if found is None:
        raise ApiError(404, "not_found", f"no candle bootstrap '{bootstrap_id}'")
    if found["status"] in ACTIVE:  # a killed worker leaves it failed, never running forever
        reason = lost_job_reason(services, found["job_id"], "candle bootstrap")
        if reason is not None and store.fail(bootstrap_id, reason):
            found = store.get(bootstrap_id) or found
    return found


def create(services: Services, request: ApiRequest) -> ApiResponse:
    """``POST /api/robustness/candle-bootstrap``: 202 with the bootstrap's id."""
    return ok(submit_candle_bootstrap(services, request.body), status=202)


def get(services: Services, request: ApiRequest) -> ApiResponse:
    """``GET /api/robustness/candle-bootstrap/<id>``."""
    return ok(candle_bootstrap_state(services, request.path["bootstrap_id"]))


def delete(services: Services, request: ApiRequest) -> ApiResponse:
    """``DELETE /api/robustness/candle-bootstrap/<id>``: cancel an active bootstrap."""
    state = candle_bootstrap_state(services, request.path["bootstrap_id"])
    bootstrap_id = state["bootstrap_id"]
    if state["status"] in ACTIVE:
        CandleBootstrapStore(services.db).cancel(bootstrap_id)
        if services.jobs is not None and state["job_id"]:
            services.jobs.cancel(state["job_id"])
        return ok({"bootstrap_id": bootstrap_id, "status": "cancelled"})
    return ok({"bootstrap_id": bootstrap_id, "status": state["status"]})


CANDLE_BOOTSTRAP_ROUTES = [
    Route(
        "/api/robustness/candle-bootstrap",
        ("POST",),
        create,
        "Queue a candle (block) bootstrap: re-run a backtest on synthetic price paths",
        body=CandleBootstrapBody,
        status=202,
        errors=(400, 409, 503),
    ),
    Route(
        "/api/robustness/candle-bootstrap/<bootstrap_id>",
        ("GET",),
        get,
        "Candle bootstrap status, progress (paths done) and result",
        path=CandleBootstrapPath,
        errors=(404,),
    ),
    Route(
        "/api/robustness/candle-bootstrap/<bootstrap_id>",
        ("DELETE",),
        delete,
        "Cancel a candle bootstrap",
        path=CandleBootstrapPath,
        errors=(404,),
    ),
]
