"""RQ jobs on the ``data`` queue: exchange downloads and (scheduled) collection runs.

Each run is a ``collection_sessions`` row (bars added, gaps found/filled, error). Progress is
in ``job.meta["progress"]`` (0..1) and ``job.meta["stage"]``; ``job.meta["cancel"] = True``
stops a run between pages. Failures of the source (exchange down, unknown market) end the
session as ``failed`` with the reason and never crash the worker; a scheduled collection
that failed backs off (its next run waits ``interval * 2**failures``, at most 6 h).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rq import get_current_job
from sqlalchemy.engine import Engine

from engine.data import exchange
from engine.data.candle_store import CandleStore
from engine.data.collection import run_collection, schedule
from engine.data.exchange import DownloadCancelled
from engine.data.history import SIM
from engine.errors import TradeSimError
from engine.platform.settings import Settings
from engine.setups.service import on_bars_added
from engine.storage.collection_store import CollectionStore
from engine.storage.db import make_engine
from jobs.queue import RQJobQueue


def _database() -> Engine:
    return make_engine(Settings.from_env())


class _Reporter:
    """Progress into job.meta (and the session row), cancellation from job.meta."""

    def __init__(self, sessions: CollectionStore, session_id: int) -> None:
        self.job = get_current_job()
        self.sessions = sessions
        self.session_id = session_id

    def progress(self, fetched: int, expected: int) -> None:
        fraction = min(1.0, fetched / expected) if expected else 1.0
        self.sessions.update_session(self.session_id, bars_expected=expected)
        if self.job is not None:
            self.job.meta = self.job.get_meta()  # keep a cancel flag set meanwhile
            self.job.meta.update(
                progress=round(fraction, 4), stage=f"{fetched:,} / {expected:,} bars"
            )
            self.job.save_meta()

    def cancelled(self) -> bool:
        return self.job is not None and bool(self.job.get_meta().get("cancel"))


def _finish(
    sessions: CollectionStore, session_id: int, work: Callable[[], dict[str, Any]]
) -> dict[str, Any]:
    """Run ``work`` and close the session: ok with its counts, cancelled, or failed."""
    sessions.update_session(session_id, status="running")
    try:
        counts = work()
    except DownloadCancelled as exc:
        sessions.update_session(session_id, status="cancelled", error=exc.message)
        return {"session_id": session_id, "status": "cancelled"}
    except TradeSimError as exc:
        sessions.update_session(session_id, status="failed", error=str(exc))
        return {"session_id": session_id, "status": "failed", "error": str(exc)}
    except Exception as exc:  # an engine bug: record it, then let RQ mark the job failed
        sessions.update_session(session_id, status="failed", error=f"{type(exc).__name__}: {exc}")
        raise
    sessions.update_session(session_id, status="ok", **counts)
    return {"session_id": session_id, "status": "ok", **counts}


def download_job(
    session_id: int,
    *,
    exchange_id: str,
    symbol: str,
    timeframe: str,
    since_ms: int,
    until_ms: int | None = None,
) -> dict[str, Any]:
    """Download exchange history into the candle store; the session row says what it did."""
    db = _database()
    try:
        sessions = CollectionStore(db)
        reporter = _Reporter(sessions, session_id)

        def work() -> dict[str, Any]:
            result = exchange.download(
                exchange.make_client(exchange_id),
                CandleStore(db),
                symbol,
                timeframe,
                since_ms,
                until_ms=until_ms,
                progress=reporter.progress,
                cancel=reporter.cancelled,
            )
            return {"bars_added": result.added}

        return _finish(sessions, session_id, work)
    finally:
        db.dispose()


def collect_job(
    collection_id: int, *, scheduled: bool = False, session_id: int | None = None
) -> dict[str, Any]:
    """One collection run of a ``collection_jobs`` row: new bars, gap repair, a session row.

    A scheduled run enqueues the next one (RQ's scheduler); a stale scheduled run (replaced
    by an edit) does nothing. A manual run (``scheduled=False``) leaves the schedule alone.
    """
    db = _database()
    try:
        store = CollectionStore(db)
        found = store.get_job(collection_id)
        current = get_current_job()
        if found is None:
            return {"status": "gone"}
        job: dict[str, Any] = found
        if scheduled and (
            not job["enabled"] or (current is not None and job["scheduled_job_id"] != current.id)
        ):
            return {"status": "stale"}
        if session_id is None:
            session_id = store.start_session(
                kind="collection",
                job_id=collection_id,
                source=job["source"],
                symbol=job["symbol"],
                timeframe=job["timeframe"],
                rq_job_id=current.id if current is not None else None,
            )["id"]
        reporter = _Reporter(store, session_id)
        store.update_job(collection_id, status="running")

        def work() -> dict[str, Any]:
            client = None if job["source"] == SIM else exchange.make_client(job["source"])
            outcome = run_collection(
                CandleStore(db),
                source=job["source"],
                symbol=job["symbol"],
                timeframe=job["timeframe"],
                since_ms=job["since_ms"],
                client=client,
                progress=reporter.progress,
                cancel=reporter.cancelled,
            )
            store.update_job(collection_id, last_bar_ms=outcome.last_bar_ms)
            return {
                "bars_added": outcome.bars_added,
                "gaps_found": outcome.gaps_found,
                "gaps_filled": outcome.gaps_filled,
                "unfilled": outcome.unfilled,
            }

        result = _finish(store, session_id, work)
        failed = result["status"] == "failed"
        updated = store.update_job(
            collection_id,
            status="failed" if failed else ("ok" if job["enabled"] else "disabled"),
            failures=job["failures"] + 1 if failed else 0,
            last_error=result.get("error"),
            last_run_at=datetime.now(UTC),
        )
        if result.get("bars_added") and current is not None:
            # setups watching this series get their signals brought up to date
            queue = RQJobQueue(current.connection)
            on_bars_added(db, queue, job["source"], job["symbol"], job["timeframe"])
        if scheduled and updated is not None and current is not None:
            # the pending run is this one: schedule the next without cancelling it
            schedule(RQJobQueue(current.connection), store, {**updated, "scheduled_job_id": None})
        return result
    finally:
        db.dispose()
