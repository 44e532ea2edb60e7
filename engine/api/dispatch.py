"""The one request pipeline every ``/api/...`` (and ``/health``) request goes through.

auth (401) → routing (404, 405 with ``Allow``) → CSRF (403, 415) → size (413) → JSON parse
with depth/number limits (400) → the route's models (400) → handler → error mapping (Redis
down 503, engine offline 503, anything unexpected 500 logged with its traceback and answered
without one). Every answer is the envelope. app.py only converts Flask's request into
:class:`HttpRequest` and the :class:`ApiResponse` back.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import redis
from pydantic import BaseModel

from engine.api.core import (
    DEFAULT_MAX_BODY,
    ApiError,
    ApiRequest,
    ApiResponse,
    Handler,
    Route,
    check_model,
    error,
)
from engine.api.security import authorized, csrf_problem
from engine.errors import (
    CommandError,
    ConfigError,
    DataError,
    EngineUnavailable,
    StrategyError,
)
from engine.platform.secrets import mask_url

if TYPE_CHECKING:
    from engine.platform.services import Services

log = logging.getLogger("tradesim.api")

MAX_BODY_BYTES = DEFAULT_MAX_BODY
MAX_JSON_DEPTH = 32
MAX_NUMBER_DIGITS = 100
PUBLIC_PATHS = frozenset({"/health"})
_COMMAND_STATUS = {
    "validation": 400,
    "strategy_error": 400,
    "not_found": 404,
    "conflict": 409,
    "unavailable": 503,  # a runner host is restarting: try again in a moment
}
_SEGMENT = re.compile(r"<(?:([a-z]+):)?([a-z_]+)>")
_CONVERTER = {None: "[^/]+", "string": "[^/]+", "int": "[0-9]+", "path": ".+"}


@dataclass(frozen=True)
class HttpRequest:
    """The parts of an HTTP request the pipeline reads."""

    method: str
    path: str
    query: Mapping[str, Sequence[str]] = field(default_factory=dict)
    body: bytes = b""
    content_type: str | None = None
    origin: str | None = None
    authorization: str | None = None
    session: str | None = None
    host_url: str = "http://127.0.0.1/"


class Dispatcher:
    """Routes requests to the route table's handlers under the rules above."""

    def __init__(self, routes: Sequence[Route], services: Services) -> None:
        self.services = services
        self.token = services.settings.api_token
        compiled = [(_compile(route.rule), route) for route in routes]
        # static segments first, so /api/runners/bulk wins over /api/runners/<runner_id>
        self._routes = sorted(compiled, key=lambda item: item[1].rule.count("<"))

    def dispatch(self, request: HttpRequest) -> ApiResponse:
        """The envelope answer to ``request``."""
        try:
            return self._dispatch(request)
        except Exception:  # the last line of defence: never an HTML 500
            return self.internal_error(request)

    def internal_error(self, request: HttpRequest) -> ApiResponse:
        """Log the active exception with a reference and answer 500 without internals."""
        ref = uuid.uuid4().hex[:8]
        log.exception("unhandled error %s in %s %s", ref, request.method, request.path)
        return error(
            500,
            "internal",
            f"internal error (reference {ref}; the web log has the details). "
            "Please report it with the request that caused it",
        )

    def not_found(self, path: str) -> ApiResponse:
        """404 for a path no route matches."""
        return error(**_not_found(path))

    def method_not_allowed(self, method: str, path: str) -> ApiResponse:
        """405 (or 404) for a method no route of ``path`` takes."""
        try:
            self._match(method, path)
        except ApiError as exc:
            return exc.response()
        return error(405, "method_not_allowed", f"{method} is not supported on {path}")

    def too_large(self, limit: int = MAX_BODY_BYTES) -> ApiResponse:
        """413 for a body over ``limit`` (a route's ``max_body``, :data:`MAX_BODY_BYTES` by
        default)."""
        return error(
            413,
            "too_large",
            f"the request body is larger than {limit // 1024} KiB; send less "
            "(strategy code is limited to 256 KiB)",
        )

    def _dispatch(self, request: HttpRequest) -> ApiResponse:
        if request.path not in PUBLIC_PATHS and not authorized(
            self.token, request.authorization, request.session
        ):
            return error(
                401,
                "unauthorized",
                "this server needs its API token: send 'Authorization: Bearer <token>' "
                "(the value of TRADESIM_API_TOKEN) or log in at /login",
                headers={"WWW-Authenticate": 'Bearer realm="tradesim"'},
            )
        try:
            route, path_args = self._match(request.method, request.path)
        except ApiError as exc:
            return exc.response()
        refused = csrf_problem(
            request.method,
            request.content_type,
            bool(request.body),
            request.origin,
            request.host_url,
        )
        if refused is not None:
            return error(*refused)
        if len(request.body) > route.max_body:
            return self.too_large(route.max_body)
        try:
            api_request = self._validate(route, path_args, request)
            return self._run(route, api_request)
        except ApiError as exc:
            return exc.response()

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route for ``method`` among the most specific rules matching ``path`` (a static
        ``/api/runners/bulk`` shadows ``/api/runners/<runner_id>``, so its ``Allow`` lists only
        POST); ApiError 404/405 otherwise."""
        wanted = "GET" if method == "HEAD" else method
        allowed: list[str] = []
        level: int | None = None
        for pattern, route in self._routes:
            dynamic = route.rule.count("<")
            if level is not None and dynamic != level:
                break
            found = pattern.fullmatch(path)
            if found is None:
                continue
            level = dynamic
            if wanted in route.methods:
                return route, found.groupdict()
            allowed += [m for m in route.methods if m not in allowed]
        if not allowed:
            raise ApiError(**_not_found(path))
        raise ApiError(
            405,
            "method_not_allowed",
            f"{method} is not supported on {path}; use {', '.join(allowed)}",
            {"allowed": allowed},
            headers={"Allow": ", ".join(allowed)},
        )

    def _validate(
        self, route: Route, path_args: dict[str, str], request: HttpRequest
    ) -> ApiRequest:
        models: dict[type, BaseModel] = {}
        if route.path is not None:
            models[route.path] = check_model(route.path, path_args, "path")
        query = {}
        for name, values in request.query.items():
            if len(values) != 1:
                raise ApiError(400, "validation", f"query parameter {name!r} given more than once")
            query[name] = values[0]
        if route.query is not None:
            models[route.query] = check_model(route.query, query, "query")
        body = parse_json(request.body) if request.body else None
        if route.body is not None:
            if not request.body:
                if route.body_required:
                    fields = ", ".join(route.body.model_fields)
                    raise ApiError(
                        400, "validation", f"send a JSON object body with the fields: {fields}"
                    )
                body = {}
            models[route.body] = check_model(route.body, body, "body")
        return ApiRequest(path=path_args, query=query, body=body, models=models)

    def _run(self, route: Route, request: ApiRequest) -> ApiResponse:
        return run_handler(route.handler, self.services, request)


def run_handler(handler: Handler, services: Services, request: ApiRequest) -> ApiResponse:
    """Run a handler, mapping the engine's exceptions onto HTTP errors (``ApiError`` is
    re-raised for the dispatcher); pages that reuse a handler call this too."""
    try:
        return handler(services, request)
    except ApiError:
        raise
    except CommandError as exc:
        status = _COMMAND_STATUS.get(exc.code, 400)
        return error(status, exc.code, exc.message, exc.details)
    except EngineUnavailable as exc:
        return error(503, "engine_unavailable", str(exc))
    except StrategyError as exc:
        return error(400, "strategy_error", str(exc), exc.to_dict())
    except (ConfigError, DataError) as exc:
        return error(400, "validation", str(exc))
    except (redis.ConnectionError, redis.TimeoutError):
        where = mask_url(services.settings.redis_url) or "REDIS_URL"
        return error(
            503,
            "redis_unavailable",
            f"Redis is not answering at {where}: start everything with `tradesim up` "
            "(it runs an embedded Redis), or start your Redis server and check REDIS_URL",
        )


def respond(handler: Handler, services: Services, request: ApiRequest) -> ApiResponse:
    """:func:`run_handler` with a handler's own refusals (``ApiError``) as their envelope too:
    for pages and tools that call a handler in-process, past the dispatcher's input checks."""
    try:
        return run_handler(handler, services, request)
    except ApiError as exc:
        return exc.response()


def _not_found(path: str) -> dict[str, Any]:
    return {
        "status": 404,
        "code": "not_found",
        "message": f"no API endpoint {path!r}: the endpoints are listed in /api/openapi.json",
    }


def parse_json(raw: bytes) -> Any:
    """The JSON in ``raw``; ApiError 400 for bad JSON, NaN/Infinity, numbers over
    :data:`MAX_NUMBER_DIGITS` digits or nesting deeper than :data:`MAX_JSON_DEPTH`."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "validation", "the request body is not UTF-8 text") from None
    try:
        value = json.loads(
            text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_no_constant
        )
    except RecursionError:
        value = None
        depth_error = True
    except json.JSONDecodeError as exc:
        raise ApiError(
            400,
            "validation",
            f"the request body is not valid JSON: {exc.msg} at line {exc.lineno} "
            f"column {exc.colno}",
        ) from None
    except _NumberError as exc:
        raise ApiError(400, "validation", str(exc)) from None
    else:
        depth_error = _too_deep(value)
    if depth_error:
        raise ApiError(
            400,
            "validation",
            f"the request body is nested more than {MAX_JSON_DEPTH} levels deep; "
            "send a flatter object",
        )
    return value


class _NumberError(ValueError):
    pass


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_NUMBER_DIGITS:
        raise _NumberError(f"a number in the request body has more than {MAX_NUMBER_DIGITS} digits")
    return int(text)


def _parse_float(text: str) -> float | int:
    """A JSON number with a fraction or exponent; a whole one (``3600.0``, ``1e3``) is an int,
    as JSON Schema counts it an integer (so ``"interval_s": 3600.0`` is accepted where a whole
    number is declared; number fields take ints anyway)."""
    if len(text) > MAX_NUMBER_DIGITS:
        raise _NumberError(f"a number in the request body has more than {MAX_NUMBER_DIGITS} digits")
    value = float(text)
    if value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _no_constant(name: str) -> Any:
    raise _NumberError(f"{name} is not a JSON number; send a finite number or null")


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def _compile(rule: str) -> re.Pattern[str]:
    parts = []
    last = 0
    for found in _SEGMENT.finditer(rule):
        parts.append(re.escape(rule[last : found.start()]))
        parts.append(f"(?P<{found.group(2)}>{_CONVERTER[found.group(1)]})")
        last = found.end()
    parts.append(re.escape(rule[last:]))
    return re.compile("".join(parts))
