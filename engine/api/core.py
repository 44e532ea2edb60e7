"""Request/response types, the envelope and error mapping for the framework-free API."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.errors import (
    CommandError,
    ConfigError,
    DataError,
    EngineUnavailable,
    StrategyError,
    TradeSimError,
)

if TYPE_CHECKING:
    from engine.platform.services import Services

MAX_BODY_BYTES = 512 * 1024
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
"""Largest request of all (CSV imports through the API and the Data page's upload)."""

_COMMAND_STATUS = {"validation": 400, "strategy_error": 400, "not_found": 404, "conflict": 409}


@dataclass(frozen=True)
class ApiRequest:
    """What a handler sees: path parameters, query string and the parsed JSON body."""

    path: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass(frozen=True)
class ApiResponse:
    """HTTP status and the JSON payload (already enveloped)."""

    status: int
    payload: dict[str, Any]


Handler = Callable[["Services", ApiRequest], ApiResponse]


@dataclass(frozen=True)
class Route:
    """One endpoint: Flask-style rule (``/api/runners/<runner_id>``), methods, handler, and a
    one-line summary for the OpenAPI document."""

    rule: str
    methods: tuple[str, ...]
    handler: Handler
    summary: str
    max_body: int = MAX_BODY_BYTES


class ApiError(TradeSimError):
    """A handler's refusal with an HTTP status, a code and details."""

    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def ok(data: Any, status: int = 200) -> ApiResponse:
    """A success envelope."""
    return ApiResponse(status, {"status": "ok", "data": data, "timestamp": _now()})


def error(status: int, code: str, message: str, details: Any = None) -> ApiResponse:
    """An error envelope."""
    body = {"code": code, "message": message, "details": details}
    return ApiResponse(status, {"status": "error", "error": body, "timestamp": _now()})


def handle(handler: Handler, services: Services, request: ApiRequest) -> ApiResponse:
    """Run a handler, mapping the engine's exceptions onto HTTP errors."""
    try:
        return handler(services, request)
    except ApiError as exc:
        return error(exc.status, exc.code, exc.message, exc.details)
    except CommandError as exc:
        return error(_COMMAND_STATUS.get(exc.code, 400), exc.code, exc.message, exc.details)
    except EngineUnavailable as exc:
        return error(503, "engine_unavailable", str(exc))
    except StrategyError as exc:
        return error(400, "strategy_error", str(exc), exc.to_dict())
    except (ConfigError, DataError) as exc:
        return error(400, "validation", str(exc))


def _now() -> float:
    return round(time.time(), 3)
