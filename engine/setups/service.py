"""A setup's lifecycle: create, update, pause, resume, delete — with what it starts.

Creating a setup makes sure every (symbol, timeframe) it watches has a collection job (the
``collection_jobs`` of the market-data package; one it creates is listed in the setup's
``collection_ids``, one that existed already is left to its owner) and queues the first signal
calculation on the ``signals`` queue. Pausing disables the collection jobs it created (unless
another active setup watches the same series); deleting removes them (or hands them to such a
setup) together with its signals. Signal jobs of a setup that is not active do nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Engine

from engine.data.collection import cadence_s, schedule, unschedule
from engine.platform.jobqueue import JobQueue
from engine.setups.signals import first_bar_ms
from engine.setups.spec import SOURCE
from engine.storage.collection_store import CollectionStore
from engine.storage.setup_store import SetupStore

SIGNAL_QUEUE = "signals"
SIGNAL_JOB = "jobs.signals.signals_job"


def _now_ms() -> int:
    return int(time.time() * 1000)


def enqueue_signals(jobs: JobQueue, setup_id: int, timeframes: Sequence[str] | None = None) -> str:
    """Queue a signal calculation for a setup (all its timeframes, or ``timeframes``)."""
    kwargs: dict[str, Any] = {"setup_id": setup_id}
    if timeframes is not None:
        kwargs["timeframes"] = list(timeframes)
    return jobs.enqueue(SIGNAL_QUEUE, SIGNAL_JOB, kwargs)


def _series_job(collections: CollectionStore, symbol: str, timeframe: str) -> dict[str, Any] | None:
    for job in collections.list_jobs():
        if (job["source"], job["symbol"], job["timeframe"]) == (SOURCE, symbol, timeframe):
            return job
    return None


def _watchers(setups: SetupStore, symbol: str, timeframe: str, but: int) -> list[dict[str, Any]]:
    """Active setups other than ``but`` watching ``symbol`` on ``timeframe``."""
    return [
        s
        for s in setups.list(status="active", symbol=symbol)
        if s["id"] != but and timeframe in s["timeframes"]
    ]


def _start_collection(
    jobs: JobQueue, collections: CollectionStore, symbol: str, timeframe: str, now_ms: int
) -> int | None:
    """Create and schedule the series' collection job; None when one exists already (an
    existing but disabled one is enabled again)."""
    found = _series_job(collections, symbol, timeframe)
    if found is not None:
        if not found["enabled"]:
            job = collections.update_job(found["id"], enabled=True, status="scheduled")
            assert job is not None
            schedule(jobs, collections, job)
        return None
    job = collections.add_job(
        source=SOURCE,
        symbol=symbol,
        timeframe=timeframe,
        interval_s=cadence_s(timeframe),
        since_ms=first_bar_ms(timeframe, now_ms),
    )
    schedule(jobs, collections, job)
    return int(job["id"])


def _release(
    jobs: JobQueue,
    setups: SetupStore,
    collections: CollectionStore,
    setup: dict[str, Any],
    timeframes: Sequence[str],
    *,
    delete: bool,
) -> list[int]:
    """Stop (``delete``: remove) the setup's own collection jobs of ``timeframes``; a job
    another active setup still needs is handed to it instead. The ids the setup keeps."""
    kept: list[int] = []
    for job_id in setup["collection_ids"]:
        job = collections.get_job(job_id)
        if job is None:
            continue
        if job["timeframe"] not in timeframes:
            kept.append(job_id)
            continue
        others = _watchers(setups, setup["symbol"], job["timeframe"], setup["id"])
        if others:
            heir = others[0]
            setups.update(heir["id"], collection_ids=[*heir["collection_ids"], job_id])
            continue
        unschedule(jobs, collections, job)
        if delete:
            collections.delete_job(job_id)
        else:
            collections.update_job(job_id, enabled=False, status="disabled")
            kept.append(job_id)
    return kept


def create_setup(
    db: Engine,
    jobs: JobQueue,
    *,
    symbol: str,
    timeframes: list[str],
    indicators: list[str],
    strategies: list[str],
    now_ms: int | None = None,
) -> dict[str, Any]:
    """Store an active setup (fields already checked by :mod:`engine.setups.spec`), start
    collection for each timeframe and queue its first signal calculation."""
    now = _now_ms() if now_ms is None else now_ms
    setups, collections = SetupStore(db), CollectionStore(db)
    state = {tf: {"from_ms": first_bar_ms(tf, now), "through": {}} for tf in timeframes}
    setup = setups.create(
        symbol=symbol,
        source=SOURCE,
        timeframes=timeframes,
        indicators=indicators,
        strategies=strategies,
        signal_state=state,
    )
    created = [_start_collection(jobs, collections, symbol, tf, now) for tf in timeframes]
    stored = setups.update(setup["id"], collection_ids=[c for c in created if c is not None])
    assert stored is not None
    enqueue_signals(jobs, stored["id"])
    return stored


def update_setup(
    db: Engine,
    jobs: JobQueue,
    setup: dict[str, Any],
    *,
    timeframes: list[str] | None = None,
    indicators: list[str] | None = None,
    strategies: list[str] | None = None,
    now_ms: int | None = None,
) -> dict[str, Any]:
    """Change what a setup watches: collection follows added/removed timeframes, and the
    signals are recalculated (new strategies from the setup's first bar)."""
    now = _now_ms() if now_ms is None else now_ms
    setups, collections = SetupStore(db), CollectionStore(db)
    changes: dict[str, Any] = {}
    if indicators is not None:
        changes["indicators"] = indicators
    if strategies is not None:
        changes["strategies"] = strategies
    if timeframes is not None:
        removed = [tf for tf in setup["timeframes"] if tf not in timeframes]
        kept = _release(jobs, setups, collections, setup, removed, delete=True)
        added = [tf for tf in timeframes if tf not in setup["timeframes"]]
        if setup["status"] == "active":
            fresh = [_start_collection(jobs, collections, setup["symbol"], tf, now) for tf in added]
            kept += [c for c in fresh if c is not None]
        state = {tf: v for tf, v in setup["signal_state"].items() if tf in timeframes}
        for tf in added:
            state[tf] = {"from_ms": first_bar_ms(tf, now), "through": {}}
        changes.update(timeframes=timeframes, collection_ids=kept, signal_state=state)
    updated = setups.update(setup["id"], **changes)
    assert updated is not None
    if updated["status"] == "active":
        enqueue_signals(jobs, updated["id"])
    return updated


def set_status(db: Engine, jobs: JobQueue, setup: dict[str, Any], status: str) -> dict[str, Any]:
    """``active`` (resume: collection on, signals recalculated), ``paused`` or ``stopped``
    (collection of its own series off unless another active setup watches them)."""
    setups, collections = SetupStore(db), CollectionStore(db)
    if status == setup["status"]:
        return setup
    if status == "active":
        now = _now_ms()
        ids = list(setup["collection_ids"])
        for tf in setup["timeframes"]:
            created = _start_collection(jobs, collections, setup["symbol"], tf, now)
            if created is not None:
                ids.append(created)
        updated = setups.update(setup["id"], status="active", collection_ids=ids)
        assert updated is not None
        enqueue_signals(jobs, updated["id"])
        return updated
    kept = _release(jobs, setups, collections, setup, setup["timeframes"], delete=False)
    updated = setups.update(setup["id"], status=status, collection_ids=kept)
    assert updated is not None
    return updated


def delete_setup(db: Engine, jobs: JobQueue, setup: dict[str, Any]) -> None:
    """Remove a setup, its signals and the collection jobs it created (unless still needed)."""
    setups = SetupStore(db)
    _release(jobs, setups, CollectionStore(db), setup, setup["timeframes"], delete=True)
    setups.delete(setup["id"])


def on_bars_added(
    db: Engine, jobs: JobQueue, source: str, symbol: str, timeframe: str
) -> list[str]:
    """Queue signal calculations for the active setups watching a series that got new bars
    (called by the collection job); the job ids."""
    setups = SetupStore(db).list(status="active", symbol=symbol)
    return [
        enqueue_signals(jobs, s["id"], [timeframe])
        for s in setups
        if s["source"] == source and timeframe in s["timeframes"]
    ]
