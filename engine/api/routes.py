"""The route table (handlers live in the sibling modules)."""

from __future__ import annotations

from engine.api.backtests import BACKTEST_ROUTES
from engine.api.core import ApiRequest, ApiResponse, Route, ok
from engine.api.openapi import OPENAPI_ROUTES
from engine.api.runners import RUNNER_ROUTES
from engine.platform.services import Services


def health(services: Services, request: ApiRequest) -> ApiResponse:
    """Liveness of the web process, plus whether Redis and the engine answer."""
    try:
        redis_ok = bool(services.redis.ping())
    except Exception:  # any connection failure means "not ok", reported, not raised
        redis_ok = False
    engine_ok = redis_ok and services.engine.is_online()
    return ok({"web": "ok", "redis": redis_ok, "engine": engine_ok})


ROUTES: list[Route] = [
    Route("/health", ("GET",), health, "Liveness of web, Redis and engine"),
    *RUNNER_ROUTES,
    *BACKTEST_ROUTES,
    *OPENAPI_ROUTES,
]

from engine.api.strategies import STRATEGY_ROUTES  # noqa: E402  (strategy editor routes)

ROUTES += STRATEGY_ROUTES
