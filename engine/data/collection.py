"""Scheduled collection: cadence per timeframe, one run (new bars + gap repair), backoff.

A run brings a series up to date from its last stored bar (or the job's ``since``), then
looks for gaps against the timeframe's expected grid under the symbol's trading calendar,
re-fetches them and lists what the source could not fill (never invented). The simulated
source (``sim``) is generated instead of fetched.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from engine.data.bars import Gap
from engine.data.candle_store import CandleStore
from engine.data.exchange import Cancel, DownloadCancelled, Progress, download
from engine.data.history import SIM, MarketData
from engine.data.sessions import calendar_for, find_gaps
from engine.data.timeframes import Timeframe, parse_timeframe
from engine.errors import ConfigError
from engine.storage.collection_store import CollectionStore

if TYPE_CHECKING:
    from engine.platform.jobqueue import JobQueue

MAX_BACKOFF_S = 6 * 3600
_DAILY_DELAY = timedelta(minutes=5)  # after the daily close (00:00 UTC)


def cadence_s(timeframe: str) -> int:
    """The seed's cadence: 5m/15m/30m every 5 minutes, 1h/4h/8h hourly, 1d daily (1m: every
    minute)."""
    tf = parse_timeframe(timeframe)
    if tf is Timeframe.M1:
        return 60
    if tf.ms <= Timeframe.M30.ms:
        return 300
    if tf.ms <= Timeframe.H8.ms:
        return 3600
    return 86400


def next_run(timeframe: str, now: datetime, *, interval_s: int, failures: int = 0) -> datetime:
    """When the next run is due: after a failure ``interval * 2**failures`` (capped at 6 h);
    daily series 5 minutes after the next 00:00 UTC close; others one interval later."""
    if failures:
        return now + timedelta(seconds=min(MAX_BACKOFF_S, interval_s * 2 ** min(failures, 12)))
    if parse_timeframe(timeframe) is Timeframe.D1 and interval_s == 86400:
        midnight = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        due = midnight + _DAILY_DELAY
        return due if due > now else due + timedelta(days=1)
    return now + timedelta(seconds=interval_s)


@dataclass
class RunOutcome:
    """What one run did."""

    bars_added: int = 0
    bars_expected: int = 0
    gaps_found: int = 0
    gaps_filled: int = 0
    unfilled: list[list[int]] = field(default_factory=list)
    last_bar_ms: int | None = None


def run_collection(
    store: CandleStore,
    *,
    source: str,
    symbol: str,
    timeframe: str,
    since_ms: int,
    client: Any = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    now: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> RunOutcome:
    """Bring one series up to date and repair its gaps; ``client`` is the ccxt exchange for
    exchange sources (None for ``sim``). Raises DataError when the source fails and
    DownloadCancelled when ``cancel()`` turns true."""
    tf = parse_timeframe(timeframe)
    outcome = RunOutcome()
    last = store.read(source, symbol, tf.value, limit=1, latest=True)
    start = int(last.timestamp[-1]) + tf.ms if len(last) else since_ms
    if source == SIM:
        now_ms = int(now() * 1000)
        before = len(store.times(source, symbol, tf.value, start_ms=since_ms))
        MarketData(store).read(
            symbol, tf.value, source=SIM, start_ms=since_ms, end_ms=now_ms, now_ms=now_ms
        )
        outcome.bars_added = len(store.times(source, symbol, tf.value, start_ms=since_ms)) - before
        if progress is not None:
            progress(outcome.bars_added, outcome.bars_added)
    else:
        if client is None:
            raise ConfigError(f"collecting from {source} needs its exchange client")
        fresh = download(
            client,
            store,
            symbol,
            tf.value,
            start,
            progress=progress,
            cancel=cancel,
            now=now,
            sleep=sleep,
        )
        outcome.bars_added += fresh.added
        outcome.bars_expected = fresh.fetched
        times = store.times(source, symbol, tf.value, start_ms=since_ms)
        calendar = calendar_for(symbol, tf.value, times)
        gaps = find_gaps(times, tf.value, calendar).gaps
        outcome.gaps_found = len(gaps)
        outcome.bars_added += _repair(client, store, symbol, tf, gaps, cancel, now, sleep)
        times = store.times(source, symbol, tf.value, start_ms=since_ms)
        left = find_gaps(times, tf.value, calendar).gaps
        outcome.gaps_filled = sum(1 for g in gaps if not _overlaps(g, left))
        outcome.unfilled = [[g.start_ms, g.end_ms, g.missing_bars] for g in left]
    latest = store.read(source, symbol, tf.value, limit=1, latest=True)
    outcome.last_bar_ms = int(latest.timestamp[-1]) if len(latest) else None
    return outcome


def _overlaps(gap: Gap, others: list[Gap]) -> bool:
    """Whether any of ``others`` (sorted) has a missing bar inside ``gap``."""
    return any(o.start_ms <= gap.end_ms and o.end_ms >= gap.start_ms for o in others)


def _repair(
    client: Any,
    store: CandleStore,
    symbol: str,
    tf: Timeframe,
    gaps: list[Gap],
    cancel: Cancel | None,
    now: Callable[[], float],
    sleep: Callable[[float], None],
) -> int:
    """Re-fetch gaps; one page covers every gap inside the span it returns, so the number of
    requests follows the span of the gaps, not their count."""
    added = 0
    covered_to = -1
    for gap in gaps:
        if gap.end_ms <= covered_to:
            continue
        start = max(gap.start_ms, covered_to + 1)
        if cancel is not None and cancel():
            raise DownloadCancelled("cancelled during gap repair", source=client.id)
        page_end = start + 999 * tf.ms  # one request's span
        result = download(
            client, store, symbol, tf.value, start, until_ms=page_end, now=now, sleep=sleep
        )
        added += result.added
        covered_to = max(gap.end_ms, result.last_ms or gap.end_ms, page_end)
    return added


COLLECT_JOB = "jobs.data.collect_job"
QUEUE = "data"


def schedule(
    jobs: JobQueue, store: CollectionStore, job: dict[str, Any], *, now: datetime | None = None
) -> dict[str, Any]:
    """Enqueue the job's next scheduled run with RQ's scheduler (``enqueue_at``) and record
    it; the run it replaces (if any) is dropped, so each job has one pending run."""
    moment = now or datetime.now(UTC)
    if job.get("scheduled_job_id"):
        jobs.cancel(job["scheduled_job_id"])
    due = (
        moment
        if job.get("last_run_at") is None
        else next_run(
            job["timeframe"], moment, interval_s=job["interval_s"], failures=job["failures"]
        )
    )
    rq_id = jobs.enqueue(
        QUEUE, COLLECT_JOB, {"collection_id": job["id"], "scheduled": True}, at=due
    )
    updated = store.update_job(job["id"], scheduled_job_id=rq_id, next_run_at=due)
    assert updated is not None
    return updated


def unschedule(jobs: JobQueue, store: CollectionStore, job: dict[str, Any]) -> None:
    """Drop the job's pending run."""
    if job.get("scheduled_job_id"):
        jobs.cancel(job["scheduled_job_id"])
    store.update_job(job["id"], scheduled_job_id=None, next_run_at=None)
