"""REST handlers for the engine, runners, events and symbols (seed endpoints)."""

from __future__ import annotations

from typing import Any

from engine.api.core import ApiError, ApiRequest, ApiResponse, Route, ok
from engine.data.symbols import symbols_by_category
from engine.live.keys import EVENT_TYPES
from engine.platform.services import Services
from engine.storage.runner_store import RunnerStore

CREATE_FIELDS = {
    "runner_id": str,
    "symbol": str,
    "strategy_name": str,
    "strategy_path": str,
    "timeframe": str,
    "window_size": int,
    "params": dict,
}


def _count(request: ApiRequest, default: int, maximum: int) -> int:
    raw = request.query.get("count")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, "validation", f"count={raw!r}: expected a whole number") from None
    if not 1 <= value <= maximum:
        raise ApiError(400, "validation", f"count={value}: expected 1..{maximum}")
    return value


def _snapshot(services: Services, runner_id: str) -> dict[str, Any]:
    snap = services.engine.snapshot(runner_id)
    if snap is None:
        raise ApiError(404, "not_found", f"no runner '{runner_id}'")
    return snap


def engine_health(services: Services, request: ApiRequest) -> ApiResponse:
    """The engine heartbeat; 503 when it has expired."""
    beat = services.engine.heartbeat()
    if beat is None:
        raise ApiError(503, "engine_unavailable", "engine offline: no heartbeat")
    return ok({"online": True, **beat})


def engine_summary(services: Services, request: ApiRequest) -> ApiResponse:
    """Counts by status, symbols, P&L; ``online`` says whether the numbers are live."""
    summary = services.engine.summary() or {
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
    return ok({**summary, "online": services.engine.is_online()})


def list_runners(services: Services, request: ApiRequest) -> ApiResponse:
    """All runner snapshots, filtered by ``symbol``, ``status``, ``state``, ``strategy``."""
    snaps = services.engine.snapshots()
    for field in ("symbol", "status", "state", "strategy"):
        wanted = request.query.get(field)
        if wanted:
            snaps = [s for s in snaps if str(s.get(field, "")).lower() == wanted.lower()]
    return ok(snaps)


def create_runner(services: Services, request: ApiRequest) -> ApiResponse:
    """Create and start a runner; every field is checked with a message that says the fix."""
    body = request.body
    if not isinstance(body, dict):
        raise ApiError(
            400,
            "validation",
            "send a JSON object like "
            '{"runner_id": "btc-ema", "symbol": "BTCUSDT", '
            '"strategy_name": "ema_crossover", "timeframe": "1m"}',
        )
    unknown = sorted(set(body) - set(CREATE_FIELDS))
    if unknown:
        raise ApiError(
            400,
            "validation",
            f"unknown field(s): {', '.join(unknown)}",
            {"allowed": sorted(CREATE_FIELDS)},
        )
    problems = {}
    for name, kind in CREATE_FIELDS.items():
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, kind):
            problems[name] = f"must be a {kind.__name__}, got {type(value).__name__}"
    if problems:
        first = next(iter(problems.items()))
        raise ApiError(400, "validation", f"{first[0]} {first[1]}", problems)
    snapshot = services.engine.command("create", **body)
    return ok(snapshot, status=201)


def get_runner(services: Services, request: ApiRequest) -> ApiResponse:
    """One runner's snapshot."""
    return ok(_snapshot(services, request.path["runner_id"]))


def delete_runner(services: Services, request: ApiRequest) -> ApiResponse:
    """Delete a runner (config, state and published data)."""
    return ok(services.engine.command("delete", runner_id=request.path["runner_id"]))


def runner_history(services: Services, request: ApiRequest) -> ApiResponse:
    """Recent bars, oldest first (``count`` 1..500, default 100)."""
    rid = request.path["runner_id"]
    _snapshot(services, rid)
    return ok(services.engine.bars(rid, _count(request, 100, 500)))


def runner_indicators(services: Services, request: ApiRequest) -> ApiResponse:
    """Current value, previous value and last 20 values of every indicator in use."""
    return ok(_snapshot(services, request.path["runner_id"]).get("indicators", {}))


def runner_logic_log(services: Services, request: ApiRequest) -> ApiResponse:
    """The decision log, newest first (``count`` 1..100, default 100)."""
    rid = request.path["runner_id"]
    _snapshot(services, rid)
    return ok(services.engine.decisions(rid, _count(request, 100, 100)))


def runner_positions(services: Services, request: ApiRequest) -> ApiResponse:
    """The open position (or null) and closed trades (from the database), newest first."""
    rid = request.path["runner_id"]
    snap = _snapshot(services, rid)
    closed = RunnerStore(services.db).closed_positions(rid, _count(request, 100, 500))
    return ok({"open": snap.get("position"), "closed": closed})


def _command(name: str) -> Any:
    def handler(services: Services, request: ApiRequest) -> ApiResponse:
        return ok(services.engine.command(name, runner_id=request.path["runner_id"]))

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
    body = request.body if isinstance(request.body, dict) else {}
    action = body.get("action")
    if action not in BULK_ACTIONS:
        raise ApiError(400, "validation", f"action must be one of {', '.join(BULK_ACTIONS)}")
    ids = body.get("runner_ids")
    if action == "delete" and not ids:
        raise ApiError(400, "validation", "delete needs runner_ids (a non-empty list)")
    args = {} if ids is None else {"runner_ids": ids}
    return ok(services.engine.command(BULK_ACTIONS[action], **args))


def symbols(services: Services, request: ApiRequest) -> ApiResponse:
    """The 18 curated symbols by category."""
    return ok(
        {
            category: [
                {"symbol": s.symbol, "display": s.display, "asset_class": s.asset_class}
                for s in specs
            ]
            for category, specs in symbols_by_category().items()
        }
    )


def events(services: Services, request: ApiRequest) -> ApiResponse:
    """Events after stream id ``after`` (oldest first), filtered by ``runner_id``/``type``."""
    event_type = request.query.get("type")
    if event_type and event_type not in EVENT_TYPES:
        raise ApiError(
            400, "validation", f"type={event_type!r}: use one of " + ", ".join(EVENT_TYPES)
        )
    after = request.query.get("after", "0-0")
    if not _stream_id(after):
        raise ApiError(400, "validation", f"after={after!r}: expected a stream id like 0-0")
    found = services.engine.events(
        after=after,
        count=_count(request, 100, 1000),
        runner_id=request.query.get("runner_id") or None,
        event_type=event_type,
    )
    return ok({"events": found, "last_id": found[-1]["id"] if found else after})


def _stream_id(text: str) -> bool:
    left, _, right = text.partition("-")
    return left.isdigit() and (right == "" or right.isdigit())


RUNNER = "/api/runners/<runner_id>"
RUNNER_ROUTES: list[Route] = [
    Route("/api/engine/health", ("GET",), engine_health, "Engine heartbeat (503 offline)"),
    Route("/api/engine/summary", ("GET",), engine_summary, "Runner counts and total P&L"),
    Route("/api/runners", ("GET",), list_runners, "List runner snapshots"),
    Route("/api/runners", ("POST",), create_runner, "Create and start a runner"),
    Route("/api/runners/bulk", ("POST",), bulk, "Start/stop/pause/delete several runners"),
    Route(RUNNER, ("GET",), get_runner, "A runner's snapshot"),
    Route(RUNNER, ("DELETE",), delete_runner, "Delete a runner"),
    Route(f"{RUNNER}/snapshot", ("GET",), get_runner, "A runner's snapshot"),
    Route(f"{RUNNER}/history", ("GET",), runner_history, "Recent bars"),
    Route(f"{RUNNER}/indicators", ("GET",), runner_indicators, "Indicator values"),
    Route(f"{RUNNER}/logic-log", ("GET",), runner_logic_log, "Decision log"),
    Route(f"{RUNNER}/positions", ("GET",), runner_positions, "Open and closed positions"),
    *(
        Route(f"{RUNNER}/{name}", ("POST",), _command(name), f"{name.capitalize()} a runner")
        for name in ("start", "pause", "resume", "stop")
    ),
    Route("/api/symbols", ("GET",), symbols, "Curated symbols by category"),
    Route("/api/events", ("GET",), events, "Recent events from the stream"),
]
