"""Request/response types, the route declaration and the envelope.

A route declares its inputs and outputs as pydantic models (see :mod:`engine.api.schema`);
the dispatcher validates every request against them before the handler runs, and the
OpenAPI document is generated from the same models, so the contract cannot drift::

    class ThingPath(PathParams):
        thing_id: RunnerId

    class ThingQuery(Query):
        count: int = Field(100, ge=1, le=500)

    def get_thing(services: Services, request: ApiRequest) -> ApiResponse:
        path = request.valid(ThingPath)        # typed, already checked
        query = request.valid(ThingQuery)
        ...
        return ok(...)

    Route("/api/things/<thing_id>", ("GET",), get_thing, "One thing",
          path=ThingPath, query=ThingQuery, data=dict[str, Any], errors=(404, 503))

``errors`` lists the statuses the handler itself can return; the dispatcher adds the ones
its own checks produce (400 for declared inputs, 401 with a token, 403/413/415 on writes,
404/405/500). A route declared without models (the old way) still works — the handler
reads ``request.path``/``query``/``body`` raw — but its document then says nothing about
its inputs: convert it by adding the models.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ValidationError

from engine.errors import TradeSimError

if TYPE_CHECKING:
    from engine.platform.services import Services

M = TypeVar("M", bound=BaseModel)

#: Largest request body a route takes unless it says otherwise (``Route.max_body``).
DEFAULT_MAX_BODY = 512 * 1024
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
"""Largest request of all (CSV imports through the API and the Data page's upload); routes
that take one say so with ``Route.max_body``."""


@dataclass(frozen=True)
class ApiRequest:
    """What a handler sees: the raw path parameters, query string and parsed JSON body, and
    the models the route declared, validated (read them with :meth:`valid`)."""

    path: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    models: Mapping[type, BaseModel] = field(default_factory=dict)

    def valid(self, model: type[M]) -> M:
        """The validated instance of ``model``: the one the dispatcher checked for the route,
        else (an in-process call through ``respond``) ``model`` checked here against the body,
        query or path it describes, with the same 400 on a problem."""
        found = self.models.get(model)
        if isinstance(found, model):
            return found
        from engine.api.schema import Body, PathParams, Query

        if issubclass(model, Body):
            checked = check_model(model, {} if self.body is None else self.body, "body")
        elif issubclass(model, Query):
            checked = check_model(model, dict(self.query), "query")
        elif issubclass(model, PathParams):
            checked = check_model(model, dict(self.path), "path")
        else:
            raise TypeError(f"{model.__name__} is not a request model")
        assert isinstance(checked, model)
        return checked


@dataclass(frozen=True)
class ApiResponse:
    """HTTP status and the JSON payload (already enveloped); ``headers`` are extra ones;
    ``text``, when set, is the payload already serialized (answers built once, or assembled
    from JSON stored as text); a response may carry only ``text`` (see :func:`ok_raw`)."""

    status: int
    body: dict[str, Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    text: str | None = None

    @property
    def payload(self) -> dict[str, Any]:
        """The enveloped payload (parsed from ``text`` when only that was given)."""
        if self.body is not None:
            return self.body
        parsed: dict[str, Any] = json.loads(self.text or "null")
        return parsed


Handler = Callable[["Services", ApiRequest], ApiResponse]


@dataclass(frozen=True)
class Route:
    """One endpoint: Flask-style rule (``/api/runners/<runner_id>``), methods, handler, a
    one-line summary, and its contract.

    ``path``/``query``/``body``: pydantic models of the inputs (None: none accepted; for the
    body, ``body_required=False`` makes it optional). ``status``: the success status.
    ``data``: the type of the envelope's ``data`` (any type pydantic can describe; None:
    anything). ``errors``: statuses the handler itself returns. ``raw``: the response is not
    enveloped (the OpenAPI document itself). ``max_body``: largest request body in bytes.
    """

    rule: str
    methods: tuple[str, ...]
    handler: Handler
    summary: str
    path: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    body_required: bool = True
    status: int = 200
    data: Any = None
    errors: tuple[int, ...] = ()
    raw: bool = False
    max_body: int = DEFAULT_MAX_BODY


class ApiError(TradeSimError):
    """A handler's refusal with an HTTP status, a code and details."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = dict(headers or {})

    def response(self) -> ApiResponse:
        """The error envelope for this refusal."""
        return error(self.status, self.code, self.message, self.details, self.headers)


def ok(data: Any, status: int = 200) -> ApiResponse:
    """A success envelope."""
    return ApiResponse(status, {"status": "ok", "data": data, "timestamp": _now()})


def json_text(payload: Any) -> str:
    """``payload`` as JSON text; NaN and ±Infinity (not JSON) become null."""
    try:
        return json.dumps(payload, default=str, allow_nan=False)
    except ValueError:
        return json.dumps(_finite(payload), default=str, allow_nan=False)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def ok_raw(data_json: str, status: int = 200) -> ApiResponse:
    """A success envelope around ``data_json``, JSON text used as is (e.g. runner snapshots
    as the engine stored them: no parse and re-serialize of large answers)."""
    return ApiResponse(
        status, text=f'{{"status": "ok", "data": {data_json}, "timestamp": {_now()}}}'
    )


def error(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> ApiResponse:
    """An error envelope."""
    body = {"code": code, "message": message, "details": details}
    payload = {"status": "error", "error": body, "timestamp": _now()}
    return ApiResponse(status, payload, dict(headers or {}))


def _now() -> float:
    return round(time.time(), 3)


def check_model(model: type[BaseModel], value: Any, where: str) -> BaseModel:
    """``value`` validated by ``model``; ApiError 400 naming the first problem's field
    (``body.params.fast``), all problems in the details."""
    from engine.api.schema import problems

    if where == "body" and not isinstance(value, dict):
        fields = ", ".join(model.model_fields) or "none"
        raise ApiError(
            400,
            "validation",
            f"the body must be a JSON object (fields: {fields}), not {type(value).__name__}",
        )
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        found = problems(exc, where)
        first = found[0]
        message = f"{first['field']} {first['message']}"
        if len(found) > 1:
            message += f" (and {len(found) - 1} more problem(s), see details)"
        raise ApiError(400, "validation", message, found) from None
