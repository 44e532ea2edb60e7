"""The OpenAPI 3.1 document, generated from the route table (served at /api/openapi.json)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from engine.api.core import ApiRequest, ApiResponse, Route
from engine.platform.services import Services

ENVELOPE_OK = {
    "type": "object",
    "required": ["status", "data", "timestamp"],
    "properties": {"status": {"const": "ok"}, "data": {}, "timestamp": {"type": "number"}},
}
ENVELOPE_ERROR = {
    "type": "object",
    "required": ["status", "error", "timestamp"],
    "properties": {
        "status": {"const": "error"},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
        },
        "timestamp": {"type": "number"},
    },
}
CREATE_RUNNER = {
    "type": "object",
    "required": ["runner_id", "symbol"],
    "properties": {
        "runner_id": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"},
        "symbol": {"type": "string", "example": "BTCUSDT"},
        "strategy_name": {"type": "string", "example": "ema_crossover"},
        "strategy_path": {"type": "string", "example": "examples/ema_crossover.lua"},
        "timeframe": {"enum": ["1m", "5m", "15m", "30m", "1h", "4h", "8h", "1d"]},
        "window_size": {"type": "integer", "minimum": 2, "maximum": 10000},
        "params": {"type": "object", "additionalProperties": {"type": "number"}},
    },
    "additionalProperties": False,
}
RUN_BACKTEST = {
    "type": "object",
    "description": "strategy or strategy_code is required; a range as preset or start/end",
    "properties": {
        "strategy": {"type": "string", "example": "ema_crossover"},
        "strategy_code": {"type": "string", "maxLength": 262144},
        "symbol": {"type": "string", "example": "BTCUSDT"},
        "timeframe": {"enum": ["1m", "5m", "15m", "30m", "1h", "4h", "8h", "1d"]},
        "source": {"type": "string", "pattern": "^(sim|csv:.+)$", "example": "sim"},
        "preset": {"enum": ["24h", "7d", "30d", "90d", "1y"]},
        "start": {"type": ["string", "integer"], "example": "2024-01-01"},
        "end": {"type": ["string", "integer"], "example": "2024-02-01"},
        "runs": {"type": "integer", "minimum": 1, "maximum": 1000},
        "duration": {"type": "string", "example": "7d"},
        "seed": {"type": "integer", "minimum": 0},
        "capital": {"type": "number", "exclusiveMinimum": 0},
        "commission": {"type": "number", "minimum": 0, "exclusiveMaximum": 0.5},
        "slippage_model": {"enum": ["fixed", "spread"]},
        "slippage_bps": {"type": "number", "minimum": 0, "exclusiveMaximum": 5000},
        "fill": {"enum": ["close", "next_open"]},
        "window": {"type": "integer", "minimum": 2, "maximum": 100000},
        "params": {"type": "object", "additionalProperties": {"type": "number"}},
        "note": {"type": "string", "maxLength": 500},
    },
    "additionalProperties": False,
}
REQUEST_SCHEMAS = {"/api/runners": CREATE_RUNNER, "/api/backtest/run": RUN_BACKTEST}
#: Status codes a route answers besides 200 and its error default.
EXTRA_RESPONSES = {
    "/api/backtest/run": {"202": "queued", "400": "invalid request", "429": "queue is full"},
    "/api/backtest/<backtest_id>/status": {"404": "unknown backtest"},
    "/api/backtest/<backtest_id>/results": {"404": "unknown backtest", "409": "not finished"},
    "/api/backtest/<backtest_id>": {"404": "unknown backtest"},
    "/api/backtests": {"400": "invalid filter"},
}


def _path(rule: str) -> tuple[str, list[str]]:
    names = re.findall(r"<(?:[a-z]+:)?([a-z_]+)>", rule)
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule), names


def build_spec(routes: Sequence[Route]) -> dict[str, Any]:
    """The document for ``routes``: one operation per (rule, method), envelope responses."""
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        path, params = _path(route.rule)
        for method in route.methods:
            op: dict[str, Any] = {
                "summary": route.summary,
                "operationId": f"{method.lower()}_{route.handler.__name__}_{len(paths)}",
                "responses": {
                    "200": {"description": "ok", "content": _json(ENVELOPE_OK)},
                    "default": {"description": "error", "content": _json(ENVELOPE_ERROR)},
                },
            }
            for code, text in EXTRA_RESPONSES.get(route.rule, {}).items():
                envelope = ENVELOPE_OK if code.startswith("2") else ENVELOPE_ERROR
                op["responses"][code] = {"description": text, "content": _json(envelope)}
            if params:
                op["parameters"] = [
                    {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                    for n in params
                ]
            if method in ("POST", "PUT"):
                schema = REQUEST_SCHEMAS.get(route.rule, {"type": "object"})
                op["requestBody"] = {
                    "required": route.rule in REQUEST_SCHEMAS,
                    "content": _json(schema),
                }
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Trading Simulator API", "version": "1.0.0"},
        "paths": paths,
    }


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def openapi(services: Services, request: ApiRequest) -> ApiResponse:
    """The OpenAPI document (raw, not enveloped, so tools can read it directly)."""
    from engine.api.routes import ROUTES

    return ApiResponse(200, build_spec(ROUTES))


OPENAPI_ROUTES = [Route("/api/openapi.json", ("GET",), openapi, "This OpenAPI document")]
