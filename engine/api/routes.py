"""The route table (handlers live in the sibling modules)."""

from __future__ import annotations

from typing import Any

from engine.api.backtests import BACKTEST_ROUTES
from engine.api.candle_bootstrap import CANDLE_BOOTSTRAP_ROUTES
from engine.api.collection import COLLECTION_ROUTES
from engine.api.core import ApiRequest, ApiResponse, Route, ok
from engine.api.history import HISTORY_ROUTES
from engine.api.openapi import OPENAPI_ROUTES
from engine.api.orders import ORDER_ROUTES
from engine.api.robustness import ROBUSTNESS_ROUTES
from engine.api.runners import RUNNER_ROUTES
from engine.api.schema import NoQuery
from engine.api.setups import SETUP_ROUTES
from engine.api.strategies import STRATEGY_ROUTES
from engine.api.sweeps import SWEEP_ROUTES
from engine.platform.services import Services
from engine.platform.status import read_status


def health(services: Services, request: ApiRequest) -> ApiResponse:
    """Liveness of the web process, whether Redis and the engine answer, and how often
    ``tradesim up`` restarted each child (empty when not started by it)."""
    try:
        redis_ok = bool(services.redis.ping())
        engine_ok = redis_ok and services.engine.is_online()
    except Exception:  # any connection failure means "not ok", reported, not raised
        redis_ok = engine_ok = False
    status = read_status(services.settings.data_dir) or {}
    restarts = status.get("restarts") or {}
    return ok({"web": "ok", "redis": redis_ok, "engine": engine_ok, "restarts": restarts})


ROUTES: list[Route] = [
    Route(
        "/health",
        ("GET",),
        health,
        "Liveness of web, Redis and engine",
        query=NoQuery,
        data=dict[str, Any],
    ),
    *RUNNER_ROUTES,
    *HISTORY_ROUTES,
    *COLLECTION_ROUTES,
    *BACKTEST_ROUTES,
    *SWEEP_ROUTES,
    *ROBUSTNESS_ROUTES,
    *CANDLE_BOOTSTRAP_ROUTES,
    *OPENAPI_ROUTES,
    *STRATEGY_ROUTES,
    *SETUP_ROUTES,
    *ORDER_ROUTES,
]
