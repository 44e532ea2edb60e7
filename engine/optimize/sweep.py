"""The steps of a sweep, free of RQ: plan a batch, run a chunk, gather.

``jobs/sweep.py`` strings them together on RQ (one parent job plans and fans the chunks out,
a dependent job gathers); tests and the benchmark may call them directly. State lives in the
database only (:class:`SweepStore`), so any worker on any machine can run any step.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from engine.backtest.data_spec import load_series
from engine.errors import StrategyError, TradeSimError
from engine.optimize.evaluate import ChunkEvaluator
from engine.optimize.request import SweepConfig
from engine.optimize.tpe import suggest
from engine.storage.sweep_store import SweepStore

LOST_CHUNK = (
    "the worker running this combination's chunk died twice (it was retried once); "
    "run the sweep again to cover it"
)
CANCEL_POLL_S = 0.5


def plan_batch(store: SweepStore, config: SweepConfig, sweep_id: str, batch: int) -> int:
    """Write the combinations of ``batch`` as pending rows; the number of chunks (0: none,
    the sweep is complete or no longer active)."""
    if config.method != "tpe":
        combos = config.planned() if batch == 0 else []
    else:
        rows = store.results(sweep_id)
        remaining = config.trials - len(rows)
        history = [
            (row["params"], row["objective"] if row["status"] == "ok" else None) for row in rows
        ]
        combos = (
            suggest(
                config.space,
                history,
                min(config.batch_size, remaining),
                seed=config.seed,
                maximize=config.objective.maximize,
            )
            if remaining > 0
            else []
        )
    if not combos:
        return 0
    return store.plan_batch(sweep_id, batch, combos, config.chunk_size)


def run_chunk(
    store: SweepStore,
    config: SweepConfig,
    sweep_id: str,
    chunk: int,
    *,
    csv_folders: Sequence[Path] = (),
    on_combination: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Backtest every pending combination of ``chunk``, writing each row as it finishes;
    stops early when the sweep is no longer running. ``{"done", "failed", "stopped"}``."""
    rows = store.chunk_rows(sweep_id, chunk)
    done = failed = 0
    if not rows or store.status(sweep_id) != "running":
        return {"done": 0, "failed": 0, "stopped": bool(rows)}
    series = load_series(config.backtest.data, csv_folders=csv_folders)
    evaluator = ChunkEvaluator(config.backtest, series)
    objective = config.objective
    last_poll = time.monotonic()
    for row in rows:
        now = time.monotonic()
        if now - last_poll >= CANCEL_POLL_S:
            last_poll = now
            if store.status(sweep_id) != "running":
                return {"done": done, "failed": failed, "stopped": True}
        try:
            metrics = evaluator.evaluate(row["params"])
        except (StrategyError, TradeSimError) as exc:
            store.record(
                sweep_id,
                row["combo_index"],
                metrics=None,
                objective=None,
                feasible=False,
                error=str(exc),
            )
            failed += 1
            continue
        store.record(
            sweep_id,
            row["combo_index"],
            metrics=metrics,
            objective=objective.score(metrics),
            feasible=objective.feasible(metrics),
        )
        done += 1
        if on_combination is not None:
            on_combination(done + failed)
    return {"done": done, "failed": failed, "stopped": False}


def gather(store: SweepStore, config: SweepConfig, sweep_id: str) -> str:
    """After a batch: ``"next"`` when a tpe sweep has trials left (plan the next batch),
    else mark what a lost chunk left pending as failed, store the best row and finish;
    ``"finished"``, or the sweep's status when it was no longer running."""
    status = store.status(sweep_id)
    if status != "running":
        return str(status)
    store.fail_pending(sweep_id, LOST_CHUNK)
    rows = store.results(sweep_id)
    if config.method == "tpe" and len(rows) < config.trials:
        return "next"
    best = config.objective.best(rows)
    store.finish(sweep_id, None if best is None else best_summary(best))
    return "finished"


def best_summary(row: dict[str, Any]) -> dict[str, Any]:
    """What ``sweeps.best`` keeps of the best row."""
    return {
        "combo_index": row["combo_index"],
        "params": row["params"],
        "objective": row["objective"],
        "metrics": row["metrics"],
    }
