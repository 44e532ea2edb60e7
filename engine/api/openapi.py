"""The OpenAPI 3.1 document, generated from the route table and the routes' pydantic models
(the same ones the dispatcher validates with), served at /api/openapi.json and cached.

Each operation lists every status it can answer: its success status, the handler's own
``errors``, and those the dispatcher adds (400 when it has inputs, 401 with a token,
403/415 on writes, 413 with a body, 500 always).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, TypeAdapter

from engine.api.core import ApiRequest, ApiResponse, Route
from engine.api.schema import NoQuery
from engine.api.security import WRITE_METHODS
from engine.platform.services import Services

REF = "#/components/schemas/{model}"
ERROR_CODES = {
    400: "The request is invalid: the message says which field and how to fix it",
    401: "The server has an API token and the request did not carry it",
    403: "A state-changing call from another origin",
    404: "No such resource",
    409: "Conflicts with the current state (name taken, read-only, already running)",
    413: "The body is too large",
    415: "The body is not sent as application/json",
    500: "An internal error (logged with a reference; the answer has no internals)",
    503: "Redis or the engine is not running; the message says what to start",
}
ENVELOPE_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["status", "error", "timestamp"],
    "properties": {
        "status": {"const": "error"},
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
        },
        "timestamp": {"type": "number"},
    },
}


def envelope_ok(data: dict[str, Any]) -> dict[str, Any]:
    """The success envelope around ``data``'s schema."""
    return {
        "type": "object",
        "required": ["status", "data", "timestamp"],
        "properties": {"status": {"const": "ok"}, "data": data, "timestamp": {"type": "number"}},
    }


class _Builder:
    def __init__(self) -> None:
        self.components: dict[str, Any] = {"Error": ENVELOPE_ERROR}

    def schema(self, model: type[BaseModel]) -> dict[str, Any]:
        found = model.model_json_schema(ref_template=REF)
        self.components.update(found.pop("$defs", {}))
        self.components[model.__name__] = found
        return {"$ref": REF.format(model=model.__name__)}

    def data(self, kind: Any) -> dict[str, Any]:
        if kind is None:
            return {}
        found = TypeAdapter(kind).json_schema(ref_template=REF)
        self.components.update(found.pop("$defs", {}))
        return found

    def parameters(self, model: type[BaseModel] | None, where: str) -> list[dict[str, Any]]:
        if model is None:
            return []
        found = model.model_json_schema(ref_template=REF)
        self.components.update(found.pop("$defs", {}))
        required = set(found.get("required", ()))
        return [
            {
                "name": name,
                "in": where,
                "required": where == "path" or name in required,
                "schema": schema,
            }
            for name, schema in found.get("properties", {}).items()
        ]

    def operation(self, route: Route, method: str, token: bool) -> dict[str, Any]:
        statuses = {*route.errors, 500}
        if route.path or route.query or route.body:
            statuses.add(400)
        if route.path:
            statuses.add(404)
        if token and route.rule != "/health":
            statuses.add(401)
        if method in WRITE_METHODS:
            statuses |= {403, 415}
            if route.body:
                statuses.add(413)
        if route.raw:
            success: dict[str, Any] = {"type": "object"}
        else:
            success = envelope_ok(self.data(route.data))
        responses: dict[str, Any] = {
            str(route.status): {"description": "ok", "content": _json(success)}
        }
        for status in sorted(statuses):
            if 200 <= status < 300:  # another success (e.g. an import's 200 preview)
                responses[str(status)] = {"description": "ok", "content": _json(success)}
                continue
            responses[str(status)] = {
                "description": ERROR_CODES.get(status, "error"),
                "content": _json({"$ref": REF.format(model="Error")}),
            }
        op: dict[str, Any] = {
            "summary": route.summary,
            "description": (route.handler.__doc__ or route.summary).strip(),
            "operationId": _operation_id(method, route.rule),
            "responses": responses,
        }
        parameters = self.parameters(route.path, "path") + self.parameters(route.query, "query")
        if route.path is None:  # a route not yet converted to models: its path segments
            parameters += [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                for name in re.findall(r"<(?:[a-z]+:)?([a-z_]+)>", route.rule)
            ]
        if parameters:
            op["parameters"] = parameters
        if route.body is not None:
            op["requestBody"] = {
                "required": route.body_required,
                "content": _json(self.schema(route.body)),
            }
        return op


def build_spec(routes: Sequence[Route], *, token: bool = False) -> dict[str, Any]:
    """The document for ``routes``; ``token`` adds the bearer scheme and the 401 answers."""
    builder = _Builder()
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", route.rule)
        for method in route.methods:
            paths.setdefault(path, {})[method.lower()] = builder.operation(route, method, token)
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "Trading Simulator API",
            "version": "1.0.0",
            "description": "Every answer is the envelope {status, data|error, timestamp}.",
        },
        "paths": paths,
        "components": {"schemas": builder.components},
    }
    if token:
        spec["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        spec["security"] = [{"bearer": []}]
        paths["/health"]["get"]["security"] = []
    return spec


@functools.lru_cache(maxsize=2)
def cached_spec(token: bool) -> dict[str, Any]:
    """The document for the full route table (built once per process)."""
    from engine.api.routes import ROUTES

    return build_spec(ROUTES, token=token)


@functools.lru_cache(maxsize=2)
def _cached_text(token: bool) -> str:
    return json.dumps(cached_spec(token))


def openapi(services: Services, request: ApiRequest) -> ApiResponse:
    """The OpenAPI document (raw, not enveloped, so tools can read it directly)."""
    token = bool(services.settings.api_token)
    return ApiResponse(200, cached_spec(token), text=_cached_text(token))


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _operation_id(method: str, rule: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"by_\1", rule))
    return f"{method.lower()}{slug.rstrip('_')}"


OPENAPI_ROUTES = [
    Route(
        "/api/openapi.json",
        ("GET",),
        openapi,
        "This OpenAPI document",
        query=NoQuery,
        raw=True,
    )
]
