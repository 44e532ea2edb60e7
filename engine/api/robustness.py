"""REST handler for Monte Carlo robustness of a stored backtest.

``POST /api/robustness/monte-carlo`` resamples the backtest's closed trades (run 0's, the
run the equity chart shows) and answers with the percentiles and the fan at once: the work
is bounded numpy (at most 20 M simulated trade steps, well under a second), so it needs no
job. (The candle bootstrap that re-runs the strategy on synthetic paths would be a job; it
is not built yet.)
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from engine.api.core import ApiError, ApiRequest, ApiResponse, Route, ok
from engine.api.schema import Body, absent
from engine.optimize.montecarlo import MAX_SIMULATIONS, monte_carlo
from engine.platform.services import Services
from engine.storage.backtest_store import BacktestStore


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


ROBUSTNESS_ROUTES = [
    Route(
        "/api/robustness/monte-carlo",
        ("POST",),
        create,
        "Monte Carlo resamples of a backtest's trades (percentiles, probability of loss, fan)",
        body=MonteCarloBody,
        errors=(400, 404, 409),
    ),
]
