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


_TIMEFRAME = {"enum": ["1m", "5m", "15m", "30m", "1h", "4h", "8h", "1d"]}
_TIME = {"type": "string", "description": "ms since the epoch or ISO-8601 (UTC if naive)"}
_SOURCE = {"type": "string", "pattern": "^(csv:)?[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$"}
REQUEST_SCHEMAS: dict[str, dict[str, Any]] = {
    "/api/runners": CREATE_RUNNER,
    "/api/history/import": {
        "type": "object",
        "required": ["content"],
        "properties": {
            "content": {"type": "string", "description": "the CSV text"},
            "preview": {"type": "boolean", "description": "only show header, rows, mapping"},
            "filename": {"type": "string"},
            "symbol": {"type": "string", "pattern": "^[A-Za-z0-9/_.-]{1,64}$"},
            "timeframe": _TIMEFRAME,
            "source": _SOURCE,
            "columns": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "/api/history/download": {
        "type": "object",
        "required": ["exchange", "symbol", "timeframe", "since"],
        "properties": {
            "exchange": {"type": "string", "example": "binanceus"},
            "symbol": {"type": "string", "example": "BTC/USDT"},
            "timeframe": _TIMEFRAME,
            "since": _TIME,
            "until": _TIME,
        },
    },
    "/api/collection": {
        "type": "object",
        "required": ["source", "symbol", "timeframe"],
        "properties": {
            "source": _SOURCE,
            "symbol": {"type": "string"},
            "timeframe": _TIMEFRAME,
            "interval_s": {"type": "integer", "minimum": 60, "maximum": 604800},
            "since": _TIME,
        },
    },
    "/api/collection/<collection_id>": {
        "type": "object",
        "properties": {
            "enabled": {"type": "boolean"},
            "interval_s": {"type": "integer", "minimum": 60, "maximum": 604800},
            "since": _TIME,
        },
        "additionalProperties": False,
    },
    "/api/market-data/auto-collect": {
        "type": "object",
        "properties": {"collection_id": {"type": "integer"}},
    },
}
QUERY_PARAMS: dict[str, list[tuple[str, dict[str, Any]]]] = {
    "/api/history": [("symbol", {"type": "string"})],
    "/api/history/<symbol>": [
        ("timeframe", _TIMEFRAME),
        ("start", _TIME),
        ("end", _TIME),
        ("source", _SOURCE),
        ("limit", {"type": "integer", "minimum": 1, "maximum": 10000}),
    ],
    "/api/market-data/sessions": [
        ("active", {"type": "string", "enum": ["0", "1"]}),
        ("limit", {"type": "integer", "minimum": 1, "maximum": 500}),
    ],
}
SUCCESS_CODES: dict[tuple[str, str], str] = {
    ("/api/history/import", "POST"): "201",
    ("/api/history/download", "POST"): "202",
    ("/api/collection", "POST"): "201",
    ("/api/collection/<collection_id>/run", "POST"): "202",
    ("/api/market-data/auto-collect", "POST"): "202",
}
ERROR_CODES: dict[str, tuple[str, ...]] = {
    "/api/history/<symbol>": ("400",),
    "/api/history/import": ("400", "413"),
    "/api/history/download": ("400", "503"),
    "/api/market-data/sessions/<session_id>": ("404", "409", "503"),
    "/api/collection": ("400", "409", "503"),
    "/api/collection/<collection_id>": ("400", "404", "503"),
    "/api/collection/<collection_id>/run": ("404", "503"),
    "/api/collection/<collection_id>/sessions": ("404",),
    "/api/market-data/auto-collect": ("404", "503"),
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
            success = SUCCESS_CODES.get((route.rule, method), "200")
            responses: dict[str, Any] = {
                success: {"description": "ok", "content": _json(ENVELOPE_OK)},
                "default": {"description": "error", "content": _json(ENVELOPE_ERROR)},
            }
            for code in ERROR_CODES.get(route.rule, ()):
                responses[code] = {"description": "error", "content": _json(ENVELOPE_ERROR)}
            op: dict[str, Any] = {
                "summary": route.summary,
                "operationId": f"{method.lower()}_{route.handler.__name__}_{len(paths)}",
                "responses": responses,
            }
            parameters = [
                {"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                for n in params
            ]
            if method == "GET":
                parameters += [
                    {"name": n, "in": "query", "required": False, "schema": schema}
                    for n, schema in QUERY_PARAMS.get(route.rule, [])
                ]
            if parameters:
                op["parameters"] = parameters
            if method in ("POST", "PUT"):
                schema = REQUEST_SCHEMAS.get(route.rule, {"type": "object"})
                op["requestBody"] = {
                    "required": route.rule in REQUEST_SCHEMAS
                    and route.rule != "/api/market-data/auto-collect",
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
