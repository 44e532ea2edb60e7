"""REST handlers for market history: candles, coverage, CSV import, exchange downloads, and
the data jobs' sessions with their live progress."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, Field, WithJsonSchema

from engine.api.core import MAX_UPLOAD_BYTES, ApiError, ApiRequest, ApiResponse, Route, ok
from engine.api.schema import Body, PathParams, Query, QueryInt, TimeframeName, absent
from engine.data.candle_store import CandleStore
from engine.data.exchange import store_symbol
from engine.data.history import SIM, MarketData, check_source, preview_csv
from engine.data.timeframes import parse_timeframe
from engine.errors import ConfigError
from engine.platform.jobqueue import JobQueue
from engine.platform.services import Services
from engine.storage.collection_store import CollectionStore

MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1_000
DOWNLOAD_JOB = "jobs.data.download_job"
_DIGITS = re.compile(r"^-?[0-9]{1,15}$")


def _check_time(value: str) -> str:
    try:
        parse_time(value, "time")
    except ApiError:
        raise ValueError(
            f"got {value!r}; expected ms since the epoch or ISO-8601, e.g. 2024-01-01 or "
            "2024-01-01T12:00:00Z"
        ) from None
    return value


Time = Annotated[
    str,
    AfterValidator(_check_time),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": "^-?[0-9]{1,15}$"},
                {"type": "string", "format": "date"},
                {"type": "string", "format": "date-time"},
            ],
            "examples": ["2024-01-01", "1704067200000"],
        }
    ),
]
"""ms since the epoch or ISO-8601 (UTC if naive), as text; the document says exactly that
(digits, a date or a date-time) and the validator checks it."""
Source = Annotated[str, Field(pattern=r"^(csv:)?[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$")]


class HistoryPath(PathParams):
    """The symbol, as stored (``BTCUSDT``, ``GOOG``)."""

    symbol: Annotated[str, Field(pattern=r"^[A-Za-z0-9/_.-]{1,64}$")]


class HistoryQuery(Query):
    """Which candles: timeframe (default 1h), range, source, page size."""

    timeframe: TimeframeName | None = absent()
    start: Time | None = absent()
    end: Time | None = absent()
    source: Source | None = absent()
    limit: QueryInt = Field(1000, ge=1, le=10_000)


class ImportBody(Body):
    """CSV text to import (``symbol`` required unless ``preview``), or to preview."""

    content: Annotated[str, Field(min_length=1, examples=["time,open,high,low,close,volume"])]
    filename: Annotated[str, Field(max_length=255, examples=["btc.csv"])] | None = absent()
    symbol: Annotated[str, Field(min_length=1, max_length=64, examples=["BTCUSDT"])] | None = (
        absent()
    )
    timeframe: TimeframeName | None = absent()
    source: Source | None = absent()
    columns: dict[str, str] | None = absent()
    preview: bool | None = absent()


class DownloadBody(Body):
    """An exchange download: ccxt exchange id, its symbol, timeframe and range."""

    exchange: Annotated[
        str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$", examples=["binanceus"])
    ]
    symbol: Annotated[str, Field(min_length=1, max_length=64, examples=["BTC/USDT"])]
    timeframe: TimeframeName
    since: Time
    until: Time | None = absent()


def parse_time(value: str, name: str) -> int:
    """ms since the epoch from ``1704067200000`` (ms) or ISO-8601 (naive = UTC)."""
    text = value.strip()
    if _DIGITS.match(text):
        return int(text)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(
            400,
            "validation",
            f"{name}={value!r}: expected ms since the epoch or ISO-8601, e.g. 2024-01-01 or "
            "2024-01-01T12:00:00Z",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _int(request: ApiRequest, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    if not _DIGITS.match(raw.strip()):
        raise ApiError(400, "validation", f"{name}={raw!r}: expected a whole number")
    value = int(raw)
    if not low <= value <= high:
        raise ApiError(400, "validation", f"{name}={value}: expected {low}..{high}")
    return value


def _body(request: ApiRequest, example: str) -> dict[str, Any]:
    if not isinstance(request.body, dict):
        raise ApiError(400, "validation", f"send a JSON object like {example}")
    return request.body


def _jobs(services: Services) -> JobQueue:
    if services.jobs is None:
        raise ApiError(503, "jobs_unavailable", "no job queue: start the app with `tradesim up`")
    return services.jobs


def _text(body: dict[str, Any], name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise ApiError(400, "validation", f"{name} is required", {"field": name})
        return None
    if not isinstance(value, str):
        raise ApiError(400, "validation", f"{name} must be a string", {"field": name})
    return value


def bar_rows(series: Any) -> list[dict[str, Any]]:
    """Bars as ``{"time", "open", "high", "low", "close", "volume"}`` dicts."""
    columns = [series.timestamp.tolist()] + [
        getattr(series, n).tolist() for n in ("open", "high", "low", "close", "volume")
    ]
    keys = ("time", "open", "high", "low", "close", "volume")
    return [dict(zip(keys, row, strict=True)) for row in zip(*columns, strict=True)]


def get_history(services: Services, request: ApiRequest) -> ApiResponse:
    """Candles of a symbol (``timeframe`` default 1h, ``start``/``end`` ISO or ms, ``source``
    default: the stored source with most bars, else ``sim``; ``limit`` 1..10000, default
    1000). With ``start``, ``next`` is the ``start`` of the following page (or null)."""
    symbol = request.path["symbol"]
    timeframe = parse_timeframe(request.query.get("timeframe") or "1h").value
    start = parse_time(request.query["start"], "start") if request.query.get("start") else None
    end = parse_time(request.query["end"], "end") if request.query.get("end") else None
    if start is not None and end is not None and end < start:
        raise ApiError(400, "validation", f"end ({end}) is before start ({start})")
    limit = _int(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    source = request.query.get("source") or None
    data = MarketData(CandleStore(services.db))
    try:
        used, series = data.read(
            symbol, timeframe, source=source, start_ms=start, end_ms=end, limit=limit + 1
        )
    except ConfigError as exc:  # nothing stored and not a simulated symbol: no such history
        if str(exc).startswith("unknown symbol"):
            raise ApiError(404, "not_found", str(exc)) from None
        raise
    following = None
    if len(series) > limit:
        if start is not None:
            following = int(series.timestamp[limit])
            series = series.slice(0, limit)
        else:
            series = series.slice(1, None)
    return ok(
        {
            "symbol": series.symbol or store_symbol(symbol),
            "timeframe": timeframe,
            "source": used,
            "count": len(series),
            "next": following,
            "bars": bar_rows(series),
        }
    )


def coverage(services: Services, request: ApiRequest) -> ApiResponse:
    """Every stored series: first, last, bars, gaps; with its collection job if it has one."""
    data = MarketData(CandleStore(services.db))
    jobs = {
        (j["source"], j["symbol"], j["timeframe"]): j
        for j in CollectionStore(services.db).list_jobs()
    }
    rows = []
    for entry in data.coverage(symbol=request.query.get("symbol") or None):
        row = entry.to_dict()
        job = jobs.get((entry.source, entry.symbol, entry.timeframe))
        row["collection_id"] = job["id"] if job else None
        row["last_collection"] = job["last_run_at"] if job else None
        row["status"] = job["status"] if job else "stored"
        rows.append(row)
    return ok(rows)


def import_csv(services: Services, request: ApiRequest) -> ApiResponse:
    """Import CSV text: ``{filename, content, symbol, timeframe?, source?, columns?}``;
    ``{"preview": true, content}`` only shows the header, first rows and column mapping."""
    body = _body(request, '{"filename": "btc.csv", "content": "time,open,...", "symbol": "BTC"}')
    content = _text(body, "content")
    assert content is not None
    if body.get("preview"):
        return ok(preview_csv(content))
    columns = body.get("columns")
    if columns is not None and (
        not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values())
    ):
        raise ApiError(
            400, "validation", 'columns must map names to header cells: {"time": "Date"}'
        )
    result = MarketData(CandleStore(services.db)).import_text(
        content,
        _text(body, "filename", required=False) or "upload.csv",
        symbol=_text(body, "symbol"),
        timeframe=_text(body, "timeframe", required=False),
        source=_text(body, "source", required=False),
        columns=columns,
    )
    return ok(result.to_dict(), status=201)


def start_download(services: Services, request: ApiRequest) -> ApiResponse:
    """Queue an exchange download ``{exchange, symbol, timeframe, since, until?}`` (202);
    its session shows progress in ``GET /api/market-data/sessions``."""
    body = _body(
        request,
        '{"exchange": "binanceus", "symbol": "BTC/USDT", "timeframe": "1m", "since": "2024-01-01"}',
    )
    exchange_id = _text(body, "exchange")
    symbol = _text(body, "symbol")
    since = _text(body, "since")
    assert exchange_id is not None and symbol is not None and since is not None
    if exchange_id == SIM or exchange_id.startswith("csv:"):
        raise ApiError(400, "validation", "exchange must be a ccxt exchange id, e.g. binanceus")
    check_source(exchange_id)
    timeframe = parse_timeframe(_text(body, "timeframe") or "").value
    until = _text(body, "until", required=False)
    kwargs = {
        "exchange_id": exchange_id,
        "symbol": symbol,
        "timeframe": timeframe,
        "since_ms": parse_time(since, "since"),
        "until_ms": parse_time(until, "until") if until else None,
    }
    rq_id = f"download-{uuid.uuid4().hex[:12]}"
    session = CollectionStore(services.db).start_session(
        kind="download",
        source=exchange_id,
        symbol=store_symbol(symbol),
        timeframe=timeframe,
        status="queued",
        rq_job_id=rq_id,
    )
    _jobs(services).enqueue(
        "data", DOWNLOAD_JOB, {"session_id": session["id"], **kwargs}, job_id=rq_id
    )
    return ok(session_json(session, None), status=202)


def session_json(session: dict[str, Any], live: dict[str, Any] | None) -> dict[str, Any]:
    """A session row for the API, with its RQ job's progress while it runs."""
    out = dict(session)
    for key in ("started_at", "finished_at"):
        value = out.get(key)
        out[key] = value.isoformat() if isinstance(value, datetime) else value
    progress = 1.0 if session["status"] in ("ok", "failed", "cancelled") else 0.0
    out["progress"] = live.get("progress", progress) if live else progress
    out["stage"] = live.get("stage", "") if live else ""
    return out


def list_sessions(services: Services, request: ApiRequest) -> ApiResponse:
    """Downloads and collection runs, newest first (``active=1``: queued/running only).

    A run whose RQ job ended without closing its session (its worker was killed) or vanished
    is marked failed here with the reason, so nothing stays "running" forever."""
    active = request.query.get("active") in ("1", "true", "yes")
    limit = _int(request, "limit", 50, 1, 500)
    store = CollectionStore(services.db)
    rows = store.list_sessions(status=("queued", "running") if active else None, limit=limit)
    jobs = services.jobs
    out = []
    for s in rows:
        live = None
        if jobs is not None and s["rq_job_id"] and s["status"] in ("queued", "running"):
            live = jobs.progress(s["rq_job_id"])
            reason = _abandoned(s, live)
            if reason:
                store.update_session(s["id"], status="failed", error=reason)
                s = store.get_session(s["id"]) or s
                live = None
        out.append(session_json(s, live))
    return ok(out)


def _abandoned(session: dict[str, Any], live: dict[str, Any] | None) -> str | None:
    """Why an open session will never be closed by its job, or None while it may still be."""
    age = (datetime.now(UTC) - session["started_at"]).total_seconds()
    if live is None:
        return "the job is gone from the queue (Redis was reset?)" if age > 30 else None
    if live["status"] in ("failed", "stopped", "canceled"):
        return f"the job ended as {live['status']} without finishing (its worker stopped?)"
    return None


def cancel_session(services: Services, request: ApiRequest) -> ApiResponse:
    """Cancel a queued or running download/collection run."""
    store = CollectionStore(services.db)
    raw = request.path["session_id"]
    session = store.get_session(int(raw)) if raw.isdigit() else None
    if session is None:
        raise ApiError(404, "not_found", f"no session {raw!r}")
    if session["status"] not in ("queued", "running"):
        raise ApiError(409, "conflict", f"session {raw} is {session['status']}, not running")
    if session["rq_job_id"]:
        _jobs(services).cancel(session["rq_job_id"])
    if session["status"] == "queued":
        store.update_session(session["id"], status="cancelled", error="cancelled before start")
    return ok(session_json(store.get_session(session["id"]) or session, None))


HISTORY_ROUTES = [
    Route(
        "/api/history",
        ("GET",),
        coverage,
        "Coverage per stored series (bars, gaps)",
        errors=(400,),
    ),
    Route(
        "/api/history/<symbol>",
        ("GET",),
        get_history,
        "Candles (ISO or ms range, paging)",
        path=HistoryPath,
        query=HistoryQuery,
        errors=(400, 404),
    ),
    Route(
        "/api/history/import",
        ("POST",),
        import_csv,
        "Import CSV text (or preview it)",
        body=ImportBody,
        max_body=MAX_UPLOAD_BYTES,
        status=201,
        errors=(200, 400, 413),
    ),
    Route(
        "/api/history/download",
        ("POST",),
        start_download,
        "Queue an exchange download",
        body=DownloadBody,
        status=202,
        errors=(400, 503),
    ),
    Route(
        "/api/market-data/sessions",
        ("GET",),
        list_sessions,
        "Data job sessions + progress",
        errors=(400,),
    ),
    Route(
        "/api/market-data/sessions/<session_id>",
        ("DELETE",),
        cancel_session,
        "Cancel a download or collection run",
        errors=(400, 404, 409, 503),
    ),
]
