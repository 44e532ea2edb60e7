"""REST handlers for strategy files: list, read, create, update, delete and validate.

The store is built per request from ``services.settings.strategy_dir`` (it is only a few
paths). Store errors map onto HTTP: a bad name or body 400, unknown strategy 404, a taken
name or a read-only example 409, code over 256 KiB 413.
"""

from __future__ import annotations

import functools
import time
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ConfigDict, Field, model_validator

from engine.api.core import ApiError, ApiRequest, ApiResponse, Handler, Route, ok
from engine.api.schema import Body, NoQuery, PathParams, Query, StrategyName, absent
from engine.storage.runner_store import RunnerStore
from engine.strategy.metadata import parse_metadata
from engine.strategy.store import (
    StrategyExists,
    StrategyInUse,
    StrategyNameError,
    StrategyNotFound,
    StrategyReadOnly,
    StrategyStore,
    StrategyTooLarge,
    check_code,
    check_name,
)
from engine.strategy.validator import Diagnostic, validate_strategy

if TYPE_CHECKING:
    from engine.platform.services import Services

_ERRORS: tuple[tuple[type[Exception], int, str], ...] = (
    (StrategyNameError, 400, "validation"),
    (StrategyNotFound, 404, "not_found"),
    (StrategyExists, 409, "conflict"),
    (StrategyInUse, 409, "conflict"),
    (StrategyReadOnly, 409, "read_only"),
    (StrategyTooLarge, 413, "too_large"),
)


def _code() -> Any:
    """Required code (256 KiB at most, checked by the store as bytes: 413)."""
    return Field(examples=["function on_bar(ctx) end"])


Info = dict[str, Any]


class StrategyPath(PathParams):
    """A strategy in the path (its file name without ``.lua``)."""

    name: StrategyName


class StrategyList(Query):
    """Search and filter the list."""

    q: str = absent(max_length=200)
    kind: Literal["example", "user"] = absent()


class CreateStrategy(Body):
    """A new user strategy from ``code`` or from a ``template`` id (``empty`` or an example's
    name); neither gives the empty template."""

    model_config = ConfigDict(json_schema_extra={"not": {"required": ["code", "template"]}})

    name: StrategyName
    code: str = absent()
    template: StrategyName = absent()

    @model_validator(mode="after")
    def _not_both(self) -> CreateStrategy:
        if self.code is not None and self.template is not None:
            raise ValueError("give either 'code' or 'template', not both")
        return self


class SaveStrategy(Body):
    """The new code of a user strategy."""

    code: str = _code()


class ValidateSaved(Body):
    """Code to check as this strategy's file (omit to check the saved file)."""

    code: str = absent()


class ValidateCode(Body):
    """Code to check; ``filename`` only names it in messages."""

    code: str = _code()
    filename: str = Field("strategy.lua", min_length=1, max_length=100)


def _mapped(handler: Handler) -> Handler:
    """Turn the store's errors into :class:`ApiError` with the right status."""

    @functools.wraps(handler)
    def wrapper(services: Services, request: ApiRequest) -> ApiResponse:
        try:
            return handler(services, request)
        except tuple(cls for cls, _status, _code in _ERRORS) as exc:
            status, code = next((s, c) for cls, s, c in _ERRORS if isinstance(exc, cls))
            raise ApiError(status, code, str(exc)) from None

    return wrapper


def _store(services: Services) -> StrategyStore:
    return StrategyStore(services.settings.strategy_dir)


def _report(code: str, filename: str) -> dict[str, Any]:
    """Diagnostics with counts and the time the validation took."""
    started = time.perf_counter()
    diagnostics = validate_strategy(code, filename)
    elapsed_ms = (time.perf_counter() - started) * 1000
    return {
        "valid": not any(d.severity == "error" for d in diagnostics),
        "counts": _counts(diagnostics),
        "diagnostics": [d.to_dict() for d in diagnostics],
        "elapsed_ms": round(elapsed_ms, 3),
    }


def _counts(diagnostics: list[Diagnostic]) -> dict[str, int]:
    counts = {"error": 0, "warning": 0, "info": 0}
    for d in diagnostics:
        counts[d.severity] += 1
    return counts


def _detail(store: StrategyStore, name: str) -> dict[str, Any]:
    """A strategy's info, code, metadata and diagnostics."""
    info, code = store.get(name)
    meta, _problems = parse_metadata(code)
    diagnostics = validate_strategy(code, f"{name}.lua")
    return {
        **info.to_dict(),
        "code": code,
        "metadata": meta.to_dict(),
        "diagnostics": [d.to_dict() for d in diagnostics],
    }


@_mapped
def list_strategies(services: Services, request: ApiRequest) -> ApiResponse:
    """All strategies (examples first). Query: ``q`` (substring of name, title, description
    or indicator) and ``kind`` (``example`` | ``user``)."""
    query = request.valid(StrategyList)
    found = _store(services).list()
    text = (query.q or "").strip().lower()
    rows = [
        s.to_dict()
        for s in found
        if (not query.kind or s.kind == query.kind)
        and (
            not text
            or text in " ".join((s.name, s.title, s.description, *s.indicators_used)).lower()
        )
    ]
    return ok(rows)


def _name(request: ApiRequest) -> str:
    return request.valid(StrategyPath).name


@_mapped
def get_strategy(services: Services, request: ApiRequest) -> ApiResponse:
    """One strategy with its code, parsed metadata and diagnostics."""
    return ok(_detail(_store(services), _name(request)))


@_mapped
def list_templates(services: Services, request: ApiRequest) -> ApiResponse:
    """Templates for "New": Empty, then the example strategies."""
    return ok([t.to_dict() for t in _store(services).templates()])


@_mapped
def create_strategy(services: Services, request: ApiRequest) -> ApiResponse:
    """Create a user strategy from ``{name, code}`` or ``{name, template}`` (201)."""
    body = request.valid(CreateStrategy)
    store = _store(services)
    if body.template is not None:
        store.template(body.template)  # 404 with the available ids before anything is written
    checked = None if body.code is None else check_code(body.code)
    info = store.create(check_name(body.name), code=checked, template=body.template)
    return ok(_detail(store, info.name), status=201)


@_mapped
def update_strategy(services: Services, request: ApiRequest) -> ApiResponse:
    """Replace a user strategy's code with ``{code}`` (invalid code is saved, with its
    diagnostics in the answer)."""
    store = _store(services)
    info = store.update(_name(request), check_code(request.valid(SaveStrategy).code))
    return ok(_detail(store, info.name))


@_mapped
def delete_strategy(services: Services, request: ApiRequest) -> ApiResponse:
    """Delete a user strategy; 409 while runners use it."""
    name = _name(request)
    delete_unused(_store(services), RunnerStore(services.db), name)
    return ok({"deleted": name})


def delete_unused(strategies: StrategyStore, runners: RunnerStore, name: str) -> None:
    """Delete a user strategy unless runners were created from it (StrategyInUse names them)."""
    users = runners.runners_using(strategies.relative_path(name))
    if users:
        raise StrategyInUse(
            f"strategy {name!r} is used by runner(s) {', '.join(users)}: delete them first"
        )
    strategies.delete(name)


@_mapped
def validate_saved(services: Services, request: ApiRequest) -> ApiResponse:
    """Validate the saved file, or ``{code}`` if given (checked as that strategy's file)."""
    name = _name(request)
    body = request.valid(ValidateSaved)
    store = _store(services)
    if body.code is not None:
        store.relative_path(name)  # 404 for an unknown name (cheap: no validation)
        code = check_code(body.code)
    else:
        _info, code = store.get(name)
    return ok({"name": name, **_report(code, f"{name}.lua")})


@_mapped
def validate_code(services: Services, request: ApiRequest) -> ApiResponse:
    """Validate ``{code}`` (optional ``filename`` for messages); nothing is saved."""
    body = request.valid(ValidateCode)
    return ok(_report(check_code(body.code), body.filename))


ONE: dict[str, Any] = {"path": StrategyPath, "query": NoQuery, "data": Info, "errors": (404,)}
STRATEGY_ROUTES: list[Route] = [
    Route(
        "/api/strategies",
        ("GET",),
        list_strategies,
        "List strategies (examples and user)",
        query=StrategyList,
        data=list[Info],
    ),
    Route(
        "/api/strategies",
        ("POST",),
        create_strategy,
        "Create a strategy (code or template)",
        query=NoQuery,
        body=CreateStrategy,
        status=201,
        data=Info,
        errors=(404, 409),
    ),
    Route(
        "/api/strategies/validate",
        ("POST",),
        validate_code,
        "Validate Lua code",
        query=NoQuery,
        body=ValidateCode,
        data=Info,
    ),
    Route(
        "/api/strategy-templates",
        ("GET",),
        list_templates,
        "Templates for new strategies",
        query=NoQuery,
        data=list[Info],
    ),
    Route("/api/strategies/<name>", ("GET",), get_strategy, "A strategy with code", **ONE),
    Route(
        "/api/strategies/<name>",
        ("PUT",),
        update_strategy,
        "Save a user strategy",
        **{**ONE, "body": SaveStrategy, "errors": (404, 409)},
    ),
    Route(
        "/api/strategies/<name>",
        ("DELETE",),
        delete_strategy,
        "Delete a user strategy",
        **{**ONE, "errors": (404, 409)},
    ),
    Route(
        "/api/strategies/<name>/validate",
        ("POST",),
        validate_saved,
        "Validate a saved strategy (or code given for it)",
        **{**ONE, "body": ValidateSaved, "body_required": False},
    ),
]
