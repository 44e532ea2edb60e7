"""REST handlers for the engine, runners, events and symbols, with their request models."""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from engine.api.core import ApiError, ApiRequest, ApiResponse, Route, ok, ok_raw
from engine.api.schema import (
    Body,
    EmptyBody,
    EventType,
    NoQuery,
    PathParams,
    Query,
    QueryInt,
    RunnerId,
    StrategyName,
    StreamId,
    SymbolName,
    TimeframeName,
    absent,
)
from engine.data.symbols import symbols_by_category
from engine.platform.services import Services
from engine.storage.runner_store import RunnerStore

Number = int | float
Snapshot = dict[str, Any]
REDIS = (503,)  # every route that reads Redis answers 503 when it is down


class RunnerPath(PathParams):
    """A runner in the path."""

    runner_id: RunnerId


class CreateRunner(Body):
    """Create and start a runner: ``strategy_name`` (a file in lua-strategies) or
    ``strategy_path`` (relative to it) picks the strategy."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [{"required": ["strategy_name"]}, {"required": ["strategy_path"]}]
        }
    )

    runner_id: RunnerId
    symbol: SymbolName
    strategy_name: StrategyName = absent()
    strategy_path: str = absent(
        pattern=r"^[A-Za-z0-9_-][A-Za-z0-9_./-]{0,199}\.lua$",
        examples=["examples/ema_crossover.lua"],
    )
    timeframe: TimeframeName = "1m"
    window_size: int = Field(100, ge=2, le=10_000)
    params: dict[str, Number] = Field(
        default_factory=dict, max_length=64, examples=[{"fast_period": 12}]
    )

    @model_validator(mode="after")
    def _one_strategy(self) -> CreateRunner:
        if not self.strategy_name and not self.strategy_path:
            raise ValueError("give strategy_name (e.g. 'ema_crossover') or strategy_path")
        return self


class BulkAction(Body):
    """Apply one action to several runners (all of them when ``runner_ids`` is omitted,
    except for delete, which needs the list)."""

    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"action": {"const": "delete"}}},
            "then": {"required": ["runner_ids"]},
        }
    )

    action: Literal["start", "stop", "pause", "delete"]
    runner_ids: list[RunnerId] = absent(min_length=1, max_length=200, schema={"uniqueItems": True})

    @model_validator(mode="after")
    def _delete_needs_ids(self) -> BulkAction:
        if self.action == "delete" and not self.runner_ids:
            raise ValueError("delete needs runner_ids (a non-empty list)")
        if self.runner_ids and len(set(self.runner_ids)) != len(self.runner_ids):
            raise ValueError("runner_ids lists a runner more than once; list each once")
        return self


class RunnerFilter(Query):
    """Filters for the runner list (case-insensitive exact matches)."""

    symbol: str = absent(max_length=32)
    status: Literal["running", "paused", "stopped", "error"] = absent()
    state: str = absent(max_length=32)
    strategy: str = absent(max_length=200)


class HistoryQuery(Query):
    """How many bars (oldest first)."""

    count: QueryInt = Field(100, ge=1, le=500)


class LogQuery(Query):
    """How many decisions (newest first)."""

    count: QueryInt = Field(100, ge=1, le=100)


class PositionsQuery(Query):
    """How many closed positions (newest first)."""

    count: QueryInt = Field(100, ge=1, le=500)


class EventsQuery(Query):
    """Events after ``after`` (a Redis stream id), optionally one runner's or one type's."""

    after: StreamId = "0-0"
    count: QueryInt = Field(100, ge=1, le=1000)
    runner_id: RunnerId = absent()
    type: EventType = absent()


_NON_JSON = ("NaN", "Infinity")
"""What Python's json writes for NaN and ±Infinity (not JSON): a stored snapshot containing
either text is answered through the parsing path instead of as is."""


def _plain_json(raw: str) -> bool:
    return not any(marker in raw for marker in _NON_JSON)


def _snapshot(services: Services, runner_id: str) -> dict[str, Any]:
    snap = services.engine.snapshot(runner_id)
    if snap is None:
        raise ApiError(
            404, "not_found", f"no runner '{runner_id}': GET /api/runners lists the runners"
        )
    return snap


def _rid(request: ApiRequest) -> str:
    return request.valid(RunnerPath).runner_id


EMPTY_SUMMARY: dict[str, Any] = {
    "total": 0,
    "running": 0,
    "paused": 0,
    "stopped": 0,
    "error": 0,
    "symbols": [],
    "total_pnl": 0.0,
    "realized_pnl": 0.0,
    "unrealized_pnl": 0.0,
}


def engine_health(services: Services, request: ApiRequest) -> ApiResponse:
    """The engine heartbeat; 503 when it has expired."""
    beat = services.engine.heartbeat()
    if beat is None:
        raise ApiError(
            503,
            "engine_unavailable",
            "engine offline (no heartbeat): start it with `tradesim up` or `tradesim engine`",
        )
    return ok({"online": True, **beat})


def engine_summary(services: Services, request: ApiRequest) -> ApiResponse:
    """Counts by status, symbols, P&L; ``online`` says whether the numbers are live."""
    summary = services.engine.summary() or EMPTY_SUMMARY
    return ok({**summary, "online": services.engine.is_online()})


def list_runners(services: Services, request: ApiRequest) -> ApiResponse:
    """All runner snapshots, filtered by ``symbol``, ``status``, ``state``, ``strategy``.

    Unfiltered, the snapshots' stored JSON text is sent as is (parsing and re-serializing
    100 snapshots cost the web ~100x more than joining them)."""
    query = request.valid(RunnerFilter)
    if not any(getattr(query, name) for name in ("symbol", "status", "state", "strategy")):
        raw = services.engine.raw_snapshots()
        if all(_plain_json(item) for item in raw):
            return ok_raw("[" + ",".join(raw) + "]")
    snaps = services.engine.snapshots()
    for name in ("symbol", "status", "state", "strategy"):
        wanted = getattr(query, name)
        if wanted:
            snaps = [s for s in snaps if str(s.get(name, "")).lower() == wanted.lower()]
    return ok(snaps)


def create_runner(services: Services, request: ApiRequest) -> ApiResponse:
    """Create and start a runner (201 with its snapshot)."""
    body = request.valid(CreateRunner)
    snapshot = services.engine.command("create", **body.model_dump(exclude_none=True))
    return ok(snapshot, status=201)


def get_runner(services: Services, request: ApiRequest) -> ApiResponse:
    """One runner's snapshot (its stored JSON text as is)."""
    rid = _rid(request)
    raw = services.engine.raw_snapshot(rid)
    if raw is not None and _plain_json(raw):
        return ok_raw(raw)
    return ok(_snapshot(services, rid))


def delete_runner(services: Services, request: ApiRequest) -> ApiResponse:
    """Delete a runner (config, state and published data)."""
    return ok(services.engine.command("delete", runner_id=_rid(request)))


def runner_history(services: Services, request: ApiRequest) -> ApiResponse:
    """Recent bars, oldest first (``count`` 1..500, default 100)."""
    rid = _rid(request)
    snap = _snapshot(services, rid)
    count = request.valid(HistoryQuery).count
    raw = services.engine.raw_bars(snap["symbol"], snap["timeframe"], count)
    if all(_plain_json(item) for item in raw):
        return ok_raw("[" + ",".join(raw) + "]")  # the stored bars as they are
    return ok(services.engine.bars(rid, count))


def runner_indicators(services: Services, request: ApiRequest) -> ApiResponse:
    """Current value, previous value and last 20 values of every indicator in use."""
    return ok(_snapshot(services, _rid(request)).get("indicators", {}))


def runner_logic_log(services: Services, request: ApiRequest) -> ApiResponse:
    """The decision log, newest first (``count`` 1..100, default 100)."""
    rid = _rid(request)
    _snapshot(services, rid)
    return ok(services.engine.decisions(rid, request.valid(LogQuery).count))


def runner_positions(services: Services, request: ApiRequest) -> ApiResponse:
    """The open position (or null) and closed trades (from the database), newest first."""
    rid = _rid(request)
    snap = _snapshot(services, rid)
    closed = RunnerStore(services.db).closed_positions(rid, request.valid(PositionsQuery).count)
    return ok({"open": snap.get("position"), "closed": closed})


def _command(name: str) -> Any:
    def handler(services: Services, request: ApiRequest) -> ApiResponse:
        return ok(services.engine.command(name, runner_id=_rid(request)))

    handler.__name__ = f"{name}_runner"
    handler.__doc__ = f"{name.capitalize()} one runner."
    return handler


BULK_ACTIONS = {
    "start": "start_all",
    "stop": "stop_all",
    "pause": "pause_all",
    "delete": "delete_many",
}


def bulk(services: Services, request: ApiRequest) -> ApiResponse:
    """``{"action": "start"|"stop"|"pause"|"delete", "runner_ids": [...]}``."""
    body = request.valid(BulkAction)
    args = {} if body.runner_ids is None else {"runner_ids": body.runner_ids}
    return ok(services.engine.command(BULK_ACTIONS[body.action], **args))


def _symbol_table() -> dict[str, list[dict[str, str]]]:
    return {
        category: [
            {"symbol": s.symbol, "display": s.display, "asset_class": s.asset_class} for s in specs
        ]
        for category, specs in symbols_by_category().items()
    }


SYMBOL_TABLE = _symbol_table()  # fixed at import: the curated list never changes at run time


def symbols(services: Services, request: ApiRequest) -> ApiResponse:
    """The 18 curated symbols by category."""
    return ok(SYMBOL_TABLE)


def events(services: Services, request: ApiRequest) -> ApiResponse:
    """Events after stream id ``after`` (oldest first), filtered by ``runner_id``/``type``."""
    query = request.valid(EventsQuery)
    filters = {"runner_id": query.runner_id, "event_type": query.type}
    raw, last = services.engine.raw_events(after=query.after, count=query.count, **filters)
    if all(_plain_json(item) for item in raw):  # the stored event data as it is
        last_id = json.dumps(last or query.after)
        return ok_raw(f'{{"events": [{",".join(raw)}], "last_id": {last_id}}}')
    found = services.engine.events(after=query.after, count=query.count, **filters)
    return ok({"events": found, "last_id": found[-1]["id"] if found else query.after})


RUNNER = "/api/runners/<runner_id>"
ONE: dict[str, Any] = {
    "path": RunnerPath,
    "query": NoQuery,
    "data": Snapshot,
    "errors": (404, *REDIS),
}
ACTION: dict[str, Any] = {
    **ONE,
    "body": EmptyBody,
    "body_required": False,
    "errors": (404, 409, *REDIS),
}
RUNNER_ROUTES: list[Route] = [
    Route(
        "/api/engine/health",
        ("GET",),
        engine_health,
        "Engine heartbeat (503 when offline)",
        query=NoQuery,
        data=dict[str, Any],
        errors=REDIS,
    ),
    Route(
        "/api/engine/summary",
        ("GET",),
        engine_summary,
        "Runner counts and total P&L",
        query=NoQuery,
        data=dict[str, Any],
        errors=REDIS,
    ),
    Route(
        "/api/runners",
        ("GET",),
        list_runners,
        "List runner snapshots",
        query=RunnerFilter,
        data=list[Snapshot],
        errors=REDIS,
    ),
    Route(
        "/api/runners",
        ("POST",),
        create_runner,
        "Create and start a runner",
        query=NoQuery,
        body=CreateRunner,
        status=201,
        data=Snapshot,
        errors=(404, 409, *REDIS),
    ),
    Route(
        "/api/runners/bulk",
        ("POST",),
        bulk,
        "Start/stop/pause/delete several runners",
        query=NoQuery,
        body=BulkAction,
        data=list[str],
        errors=(404, *REDIS),
    ),
    Route(RUNNER, ("GET",), get_runner, "A runner's snapshot", **ONE),
    Route(RUNNER, ("DELETE",), delete_runner, "Delete a runner", **ONE),
    Route(f"{RUNNER}/snapshot", ("GET",), get_runner, "A runner's snapshot", **ONE),
    Route(
        f"{RUNNER}/history",
        ("GET",),
        runner_history,
        "Recent bars",
        **{**ONE, "query": HistoryQuery, "data": list[dict[str, Any]]},
    ),
    Route(
        f"{RUNNER}/indicators",
        ("GET",),
        runner_indicators,
        "Indicator values",
        **{**ONE, "data": dict[str, Any]},
    ),
    Route(
        f"{RUNNER}/logic-log",
        ("GET",),
        runner_logic_log,
        "Decision log",
        **{**ONE, "query": LogQuery, "data": list[dict[str, Any]]},
    ),
    Route(
        f"{RUNNER}/positions",
        ("GET",),
        runner_positions,
        "Open and closed positions",
        **{**ONE, "query": PositionsQuery, "data": dict[str, Any]},
    ),
    *(
        Route(
            f"{RUNNER}/{name}",
            ("POST",),
            _command(name),
            f"{name.capitalize()} a runner",
            **ACTION,
        )
        for name in ("start", "pause", "resume", "stop")
    ),
    Route(
        "/api/symbols",
        ("GET",),
        symbols,
        "Curated symbols by category",
        query=NoQuery,
        data=dict[str, list[dict[str, str]]],
    ),
    Route(
        "/api/events",
        ("GET",),
        events,
        "Recent events from the stream",
        query=EventsQuery,
        data=dict[str, Any],
        errors=REDIS,
    ),
]
