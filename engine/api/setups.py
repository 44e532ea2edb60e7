"""REST handlers for trading setups and strategy signals.

``POST /api/trading-setup/create`` checks every field (400 naming it), stores the setup,
starts collection for each timeframe and queues the first signal calculation; the answer has
the setup id and one chart URL per timeframe. Signals are read with ``GET /api/signals`` and
recalculated with ``POST /api/strategies/calculate`` (a setup, or an ad-hoc symbol/timeframe).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from engine.api.core import ApiError, ApiRequest, ApiResponse, Route, ok
from engine.api.schema import Body, PathParams, Query, QueryInt, SymbolName, absent
from engine.data.candle_store import CandleStore
from engine.platform.jobqueue import JobQueue
from engine.platform.services import Services
from engine.setups import service, spec
from engine.setups.service import SIGNAL_QUEUE
from engine.storage.setup_store import SetupStore
from engine.strategy.store import StrategyStore

if TYPE_CHECKING:
    SetupTimeframe = str
else:
    SetupTimeframe = Literal[spec.SETUP_TIMEFRAMES]

IndicatorToken = Annotated[str, Field(pattern=r"^[a-z_]{2,16}(_[0-9.]{1,10}){0,3}$")]
StrategyRef = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
ADHOC_JOB = "jobs.signals.adhoc_signals_job"


class SetupPath(PathParams):
    """A setup id (a whole number)."""

    setup_id: Annotated[str, Field(pattern=r"^[0-9]{1,9}$", examples=["1"])]


class CreateSetupBody(Body):
    """One symbol, its timeframes (at least one), indicator tokens and strategy names."""

    symbol: SymbolName
    timeframes: Annotated[list[SetupTimeframe], Field(min_length=1, max_length=7)]
    indicators: Annotated[list[IndicatorToken], Field(default_factory=list, max_length=12)]
    strategies: Annotated[list[StrategyRef], Field(default_factory=list, max_length=12)]


class UpdateSetupBody(Body):
    """What to change (each optional); ``status`` pauses, stops or resumes."""

    timeframes: Annotated[list[SetupTimeframe], Field(min_length=1, max_length=7)] | None = absent()
    indicators: Annotated[list[IndicatorToken], Field(max_length=spec.MAX_ITEMS)] | None = absent()
    strategies: Annotated[list[StrategyRef], Field(max_length=spec.MAX_ITEMS)] | None = absent()
    status: Literal["active", "paused", "stopped"] | None = absent()


class SetupListQuery(Query):
    """Filters of the setup list."""

    status: Literal["active", "paused", "stopped"] | None = absent()
    symbol: SymbolName | None = absent()


class CalculateBody(Body):
    """A setup (``setup_id``), or an ad-hoc ``symbol`` + ``timeframe`` + ``strategies``."""

    setup_id: Annotated[int, Field(ge=1, le=999_999_999)] | None = absent()
    symbol: SymbolName | None = absent()
    timeframe: SetupTimeframe | None = absent()
    strategies: Annotated[list[StrategyRef], Field(max_length=spec.MAX_ITEMS)] | None = absent()
    indicators: Annotated[list[IndicatorToken], Field(max_length=spec.MAX_ITEMS)] | None = absent()


class SignalQuery(Query):
    """Signal filters: setup, strategy, symbol, timeframe, bar time from ``since`` (ms),
    rows after ``after_id`` (live polling), newest first, at most ``limit``."""

    setup_id: QueryInt = Field(-1, ge=-1, le=999_999_999, description="-1: all; 0: ad hoc")
    strategy: StrategyRef | None = absent()
    symbol: SymbolName | None = absent()
    timeframe: SetupTimeframe | None = absent()
    since: QueryInt = Field(0, ge=0, le=10**15)
    after_id: QueryInt = Field(0, ge=0, le=10**15)
    limit: QueryInt = Field(100, ge=1, le=1000)


def _jobs(services: Services) -> JobQueue:
    if services.jobs is None:
        raise ApiError(503, "jobs_unavailable", "this process has no job queue; use tradesim up")
    return services.jobs


def _invalid(exc: spec.SetupInvalid) -> ApiError:
    field = f"body.{exc.field}"
    return ApiError(
        400, "validation", f"{field}: {exc.message}", [{"field": field, "message": exc.message}]
    )


def _iso(value: Any) -> Any:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(value, datetime) else value


def signal_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored signal for the API (``time`` in ms, plus ``time_iso``)."""
    out = {k: _iso(v) for k, v in row.items()}
    moment = datetime.fromtimestamp(row["time"] / 1000, tz=UTC)
    out["time_iso"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return out


def setup_json(services: Services, setup: Mapping[str, Any]) -> dict[str, Any]:
    """A setup with its chart URLs, data freshness (last stored bar per timeframe) and its
    newest signal."""
    candles = CandleStore(services.db)
    fresh = {}
    for tf in setup["timeframes"]:
        last = candles.read(setup["source"], setup["symbol"], tf, limit=1, latest=True)
        fresh[tf] = int(last.timestamp[-1]) if len(last) else None
    last_signal = SetupStore(services.db).last_signals([setup["id"]]).get(setup["id"])
    out = {k: _iso(v) for k, v in setup.items() if k != "signal_state"}
    out.update(
        setup_id=setup["id"],
        chart_urls=spec.chart_urls(setup),
        last_bar_ms=fresh,
        last_signal=None if last_signal is None else signal_json(last_signal),
    )
    return out


def _setup(services: Services, raw: str) -> dict[str, Any]:
    found = SetupStore(services.db).get(int(raw))
    if found is None:
        raise ApiError(404, "not_found", f"no trading setup {raw}; list them at /api/trading-setup")
    return found


def _checked(services: Services, body: Mapping[str, Any]) -> dict[str, Any]:
    """The given fields, checked and canonical; ApiError 400 naming the wrong field."""
    out: dict[str, Any] = {}
    try:
        if body.get("symbol") is not None:
            out["symbol"] = spec.check_symbol(body["symbol"])
        if body.get("timeframes") is not None:
            out["timeframes"] = spec.check_timeframes(body["timeframes"])
        if body.get("indicators") is not None:
            out["indicators"] = spec.check_indicators(body["indicators"])
        if body.get("strategies") is not None:
            store = StrategyStore(services.settings.strategy_dir)
            out["strategies"] = spec.check_strategies(body["strategies"], store)
    except spec.SetupInvalid as exc:
        raise _invalid(exc) from None
    return out


def create(services: Services, request: ApiRequest) -> ApiResponse:
    """``POST /api/trading-setup/create``: 201 ``{setup_id, chart_urls, setup}``."""
    body = request.valid(CreateSetupBody).model_dump()
    fields = _checked(services, body)
    setup = service.create_setup(services.db, _jobs(services), **fields)
    data = setup_json(services, setup)
    return ok({"setup_id": setup["id"], "chart_urls": data["chart_urls"], "setup": data}, 201)


def list_setups(services: Services, request: ApiRequest) -> ApiResponse:
    """``GET /api/trading-setup``: newest first."""
    query = request.valid(SetupListQuery)
    rows = SetupStore(services.db).list(status=query.status, symbol=query.symbol)
    return ok([setup_json(services, s) for s in rows])


def get_setup(services: Services, request: ApiRequest) -> ApiResponse:
    """``GET /api/trading-setup/<id>``."""
    return ok(setup_json(services, _setup(services, request.valid(SetupPath).setup_id)))


def update(services: Services, request: ApiRequest) -> ApiResponse:
    """``PUT /api/trading-setup/<id>``: change timeframes/indicators/strategies and/or status."""
    setup = _setup(services, request.valid(SetupPath).setup_id)
    body = request.valid(UpdateSetupBody).model_dump(exclude_none=True)
    fields = _checked(services, body)
    jobs = _jobs(services)
    if fields:
        setup = service.update_setup(services.db, jobs, setup, **fields)
    if "status" in body:
        setup = service.set_status(services.db, jobs, setup, body["status"])
    return ok(setup_json(services, setup))


def delete(services: Services, request: ApiRequest) -> ApiResponse:
    """``DELETE /api/trading-setup/<id>``: the setup, its signals and its collection jobs."""
    setup = _setup(services, request.valid(SetupPath).setup_id)
    service.delete_setup(services.db, _jobs(services), setup)
    return ok({"deleted": setup["id"]})


def status_handler(status: str) -> Any:
    """The handler that moves a setup to ``status`` (pause: ``paused``, resume: ``active``)."""

    def handler(services: Services, request: ApiRequest) -> ApiResponse:
        setup = _setup(services, request.valid(SetupPath).setup_id)
        setup = service.set_status(services.db, _jobs(services), setup, status)
        return ok(setup_json(services, setup))

    handler.__doc__ = f"Set a setup's status to {status}."
    return handler


def calculate(services: Services, request: ApiRequest) -> ApiResponse:
    """``POST /api/strategies/calculate``: queue a signal calculation; 202 ``{job_id}``."""
    body = request.valid(CalculateBody).model_dump(exclude_none=True)
    jobs = _jobs(services)
    if "setup_id" in body:
        setup = _setup(services, str(body["setup_id"]))
        if setup["status"] != "active":
            raise ApiError(409, "conflict", f"setup {setup['id']} is {setup['status']}: resume it")
        job_id = service.enqueue_signals(jobs, setup["id"])
        return ok({"job_id": job_id, "setup_id": setup["id"]}, 202)
    missing = [k for k in ("symbol", "timeframe", "strategies") if not body.get(k)]
    if missing:
        raise ApiError(
            400,
            "validation",
            f"give setup_id, or symbol, timeframe and strategies (missing: {', '.join(missing)})",
            [{"field": f"body.{k}", "message": "is required"} for k in missing],
        )
    fields = _checked(services, body)
    args = {"symbol": fields["symbol"], "timeframe": body["timeframe"]}
    args.update(strategies=fields["strategies"], indicators=fields.get("indicators", []))
    job_id = jobs.enqueue(SIGNAL_QUEUE, ADHOC_JOB, args)
    return ok({"job_id": job_id, "setup_id": 0}, 202)


def signals(services: Services, request: ApiRequest) -> ApiResponse:
    """``GET /api/signals``: stored signals, newest first."""
    q = request.valid(SignalQuery)
    rows = SetupStore(services.db).signals(
        setup_id=None if q.setup_id < 0 else q.setup_id,
        symbol=q.symbol,
        timeframe=q.timeframe,
        strategy=q.strategy,
        since_ms=q.since,
        after_id=q.after_id,
        limit=q.limit,
    )
    return ok([signal_json(r) for r in rows])


SETUP = "/api/trading-setup/<setup_id>"
SETUP_ROUTES = [
    Route(
        "/api/trading-setup/create",
        ("POST",),
        create,
        "Create a trading setup (starts collection and signals)",
        body=CreateSetupBody,
        status=201,
        errors=(400, 503),
    ),
    Route(
        "/api/trading-setup",
        ("GET",),
        list_setups,
        "Trading setups, newest first",
        query=SetupListQuery,
    ),
    Route(SETUP, ("GET",), get_setup, "One trading setup", path=SetupPath, errors=(404,)),
    Route(
        SETUP,
        ("PUT",),
        update,
        "Change a trading setup",
        path=SetupPath,
        body=UpdateSetupBody,
        errors=(400, 404, 503),
    ),
    Route(
        SETUP,
        ("DELETE",),
        delete,
        "Delete a trading setup and what it started",
        path=SetupPath,
        errors=(404, 503),
    ),
    Route(
        f"{SETUP}/pause",
        ("POST",),
        status_handler("paused"),
        "Pause a trading setup",
        path=SetupPath,
        errors=(404, 503),
    ),
    Route(
        f"{SETUP}/resume",
        ("POST",),
        status_handler("active"),
        "Resume a trading setup",
        path=SetupPath,
        errors=(404, 503),
    ),
    Route(
        "/api/strategies/calculate",
        ("POST",),
        calculate,
        "Queue a signal calculation (a setup or ad hoc)",
        body=CalculateBody,
        status=202,
        errors=(400, 404, 409, 503),
    ),
    Route("/api/signals", ("GET",), signals, "Strategy signals, newest first", query=SignalQuery),
]
