"""REST handlers for robustness: walk-forward runs (a job) and Monte Carlo of a backtest.

``POST /api/robustness/walk-forward`` takes a sweep request (its space, grid or random, the
objective and constraints optimize each fold's in-sample window) plus ``folds``, ``mode``
(rolling / anchored) and ``is_ratio``; it is checked, stored and queued on ``sweeps``;
``GET /api/robustness/walk-forward/<id>`` gives status, progress and, once finished, the result.

``POST /api/robustness/monte-carlo`` resamples the backtest's closed trades (run 0's, the
run the equity chart shows) and answers with the percentiles and the fan at once: the work
is bounded numpy (at most 20 M simulated trade steps, well under a second), so it needs no
job. (The candle bootstrap, which re-runs the strategy on synthetic paths, is a job:
``engine/api/candle_bootstrap.py``.)
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from pydantic import Field

from engine.api.core import ApiError, ApiRequest, ApiResponse, Route, ok
from engine.api.schema import Body, PathParams, absent
from engine.api.sweeps import SweepBody
from engine.backtest.data_spec import check_available
from engine.errors import ConfigError
from engine.optimize.montecarlo import MAX_SIMULATIONS, monte_carlo
from engine.optimize.request import parse_sweep
from engine.optimize.walkforward import MAX_FOLDS, make_folds
from engine.platform.services import Services
from engine.storage.backtest_store import BacktestStore
from engine.storage.lookahead_store import LookaheadStore
from engine.storage.walkforward_store import ACTIVE, WalkForwardStore
from engine.strategy.store import StrategyStore


class MonteCarloBody(Body):
    """Which backtest, how many resamples, which seed and method."""

    backtest_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    simulations: Annotated[int, Field(ge=1, le=MAX_SIMULATIONS)] | None = absent()
    seed: Annotated[int, Field(ge=0)] | None = absent()
    method: Literal["shuffle", "bootstrap"] | None = absent()


def run_monte_carlo(services: Services, body: Any) -> dict[str, Any]:
    """The Monte Carlo summary of a finished backtest (what the page's Robustness tab calls)."""
    if not isinstance(body, dict) or not isinstance(body.get("backtest_id"), str):
        raise ApiError(400, "validation", 'send {"backtest_id": "<id>", "simulations": 1000}')
    backtest_id = body["backtest_id"]
    store = BacktestStore(services.db)
    record = store.get(backtest_id)
    if record is None:
        raise ApiError(404, "not_found", f"no backtest '{backtest_id}'")
    result = store.result(backtest_id) if record.status == "finished" else None
    if result is None:
        raise ApiError(409, "not_finished", f"backtest {backtest_id} is {record.status}")
    trades = [t for t in result.get("trades") or [] if t.get("run_id", 0) == 0]
    capital = float(result["config"]["initial_capital"])
    summary = monte_carlo(
        [float(t["pnl"]) for t in trades],
        capital=capital,
        simulations=int(body.get("simulations") or 1000),
        seed=int(body.get("seed", 1) or 0),
        method=str(body.get("method") or "shuffle"),
    )
    return {"backtest_id": backtest_id, "capital": capital, **summary.to_dict()}


def create(services: Services, request: ApiRequest) -> ApiResponse:
    """``POST /api/robustness/monte-carlo``."""
    return ok(run_monte_carlo(services, request.body))


class WalkForwardBody(SweepBody):
    """A sweep request plus the folds."""

    folds: Annotated[int, Field(ge=1, le=MAX_FOLDS)] | None = absent()
    mode: Literal["rolling", "anchored"] | None = absent()
    is_ratio: Annotated[float, Field(ge=0.25, le=20)] | None = absent()


class WalkForwardPath(PathParams):
    """A walk-forward id."""

    walk_forward_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]


WF_FIELDS = ("folds", "mode", "is_ratio")


def submit_walk_forward(services: Services, body: Any) -> dict[str, Any]:
    """Check, store and queue a walk-forward run (what the sweep page calls too)."""
    if services.jobs is None:
        raise ApiError(503, "jobs_unavailable", "this process has no job queue; use tradesim up")
    if not isinstance(body, dict):
        raise ConfigError("send a JSON object: a sweep request plus folds, mode, is_ratio")
    settings = services.settings
    sweep = parse_sweep(
        {k: v for k, v in body.items() if k not in WF_FIELDS},
        strategies=StrategyStore(settings.strategy_dir),
        csv_folders=settings.csv_folders,
    )
    if sweep.method == "tpe":
        raise ConfigError("walk-forward optimizes each fold with grid or random; choose one")
    folds, mode = int(body.get("folds") or 4), str(body.get("mode") or "rolling")
    is_ratio = float(body.get("is_ratio") or 3.0)
    make_folds(
        check_available(sweep.backtest.data, csv_folders=settings.csv_folders),
        folds,
        mode,
        is_ratio,
    )
    walk_forward_id = uuid.uuid4().hex
    store = WalkForwardStore(services.db)
    config = {"sweep": sweep.to_dict(), "folds": folds, "mode": mode, "is_ratio": is_ratio}
    store.create(walk_forward_id, config)
    try:
        job_id = services.jobs.enqueue(
            "sweeps",
            "jobs.walkforward.walk_forward_job",
            {"walk_forward_id": walk_forward_id},
            job_id=f"wf-{walk_forward_id}",
        )
    except Exception as exc:  # Redis down: the row must not stay queued forever
        store.fail(walk_forward_id, f"could not queue the job: {exc}")
        raise ApiError(503, "jobs_unavailable", f"could not queue the run: {exc}") from None
    store.set_job(walk_forward_id, job_id)
    return {"walk_forward_id": walk_forward_id, "status": "queued", "job_id": job_id}


def walk_forward_state(services: Services, walk_forward_id: str) -> dict[str, Any]:
    """Status and progress (and the result once finished)."""
    store = WalkForwardStore(services.db)
    record = store.get(walk_forward_id)
    if record is None:
        raise ApiError(404, "not_found", f"no walk-forward run '{walk_forward_id}'")
    out = record.to_dict()
    out["result"] = store.result(walk_forward_id) if record.status == "finished" else None
    return out


def create_walk_forward(services: Services, request: ApiRequest) -> ApiResponse:
    """``POST /api/robustness/walk-forward``: 202 with the run's id."""
    return ok(submit_walk_forward(services, request.body), status=202)


def get_walk_forward(services: Services, request: ApiRequest) -> ApiResponse:
    """``GET /api/robustness/walk-forward/<id>``."""
    return ok(walk_forward_state(services, request.path["walk_forward_id"]))


def delete_walk_forward(services: Services, request: ApiRequest) -> ApiResponse:
    """``DELETE /api/robustness/walk-forward/<id>``: cancel an active run."""
    state = walk_forward_state(services, request.path["walk_forward_id"])
    if state["status"] in ACTIVE:
        WalkForwardStore(services.db).cancel(state["walk_forward_id"])
        return ok({"walk_forward_id": state["walk_forward_id"], "status": "cancelled"})
    return ok({"walk_forward_id": state["walk_forward_id"], "status": state["status"]})


class LookaheadBody(Body):
    """Which backtest to check."""

    backtest_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]


class LookaheadPath(PathParams):
    """A check id."""

    check_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]


def submit_lookahead(services: Services, body: Any) -> dict[str, Any]:
    """Queue the no-lookahead check of a finished backtest (single runs only)."""
    if services.jobs is None:
        raise ApiError(503, "jobs_unavailable", "this process has no job queue; use tradesim up")
    if not isinstance(body, dict) or not isinstance(body.get("backtest_id"), str):
        raise ApiError(400, "validation", 'send {"backtest_id": "<id>"}')
    record = BacktestStore(services.db).get(body["backtest_id"])
    if record is None:
        raise ApiError(404, "not_found", f"no backtest '{body['backtest_id']}'")
    if record.status != "finished":
        raise ApiError(409, "not_finished", f"backtest {record.backtest_id} is {record.status}")
    if int(record.config.get("runs", 1)) > 1:
        raise ConfigError("the check replays one run over the whole range; use a single run")
    check_id = uuid.uuid4().hex
    store = LookaheadStore(services.db)
    store.create(check_id, record.backtest_id)
    job_id = services.jobs.enqueue(
        "backtests", "jobs.lookahead.lookahead_job", {"check_id": check_id}, job_id=f"la-{check_id}"
    )
    store.update(check_id, job_id=job_id)
    return {"check_id": check_id, "status": "queued"}


def lookahead_state(services: Services, check_id: str) -> dict[str, Any]:
    """Status and, once finished, ``{identical, trades, first_difference}``."""
    found = LookaheadStore(services.db).get(check_id)
    if found is None:
        raise ApiError(404, "not_found", f"no lookahead check '{check_id}'")
    return found


def create_lookahead(services: Services, request: ApiRequest) -> ApiResponse:
    """``POST /api/robustness/lookahead``: 202 with the check's id."""
    return ok(submit_lookahead(services, request.body), status=202)


def get_lookahead(services: Services, request: ApiRequest) -> ApiResponse:
    """``GET /api/robustness/lookahead/<id>``."""
    return ok(lookahead_state(services, request.path["check_id"]))


ROBUSTNESS_ROUTES = [
    Route(
        "/api/robustness/lookahead",
        ("POST",),
        create_lookahead,
        "Queue a no-lookahead check of a backtest (live-path replay vs vectorized run)",
        body=LookaheadBody,
        status=202,
        errors=(400, 404, 409, 503),
    ),
    Route(
        "/api/robustness/lookahead/<check_id>",
        ("GET",),
        get_lookahead,
        "No-lookahead check status and result",
        path=LookaheadPath,
        errors=(404,),
    ),
    Route(
        "/api/robustness/walk-forward",
        ("POST",),
        create_walk_forward,
        "Queue a walk-forward run (one job per fold: optimized in-sample, tested out-of-sample)",
        body=WalkForwardBody,
        status=202,
        errors=(400, 503),
    ),
    Route(
        "/api/robustness/walk-forward/<walk_forward_id>",
        ("GET",),
        get_walk_forward,
        "Walk-forward status, progress and result",
        path=WalkForwardPath,
        errors=(404,),
    ),
    Route(
        "/api/robustness/walk-forward/<walk_forward_id>",
        ("DELETE",),
        delete_walk_forward,
        "Cancel a walk-forward run",
        path=WalkForwardPath,
        errors=(404,),
    ),
    Route(
        "/api/robustness/monte-carlo",
        ("POST",),
        create,
        "Monte Carlo resamples of a backtest's trades (percentiles, probability of loss, fan)",
        body=MonteCarloBody,
        errors=(400, 404, 409),
    ),
]
