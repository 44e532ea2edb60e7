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
            if params:
                op["parameters"] = [
                    {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                    for n in params
                ]
            if method in ("POST", "PUT"):
                schema = CREATE_RUNNER if route.rule == "/api/runners" else {"type": "object"}
                op["requestBody"] = {
                    "required": route.rule == "/api/runners",
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
