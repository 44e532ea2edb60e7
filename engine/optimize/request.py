"""A sweep request, checked and resolved into a frozen :class:`SweepConfig`.

The body is a backtest request (strategy, data, fills, fixed ``params``; see
:mod:`engine.backtest.request`) plus ``space`` (a range per swept param), ``method``
(``grid`` / ``random`` / ``tpe``), ``trials`` and ``seed`` (random and tpe), ``objective`` and
``direction``, ``constraints``, and optionally ``chunk_size`` / ``batch_size``. Every problem
raises :class:`ConfigError` before anything is queued.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.backtest.request import BacktestConfig, parse_request
from engine.errors import ConfigError
from engine.optimize.objective import Objective, parse_objective
from engine.optimize.space import (
    Combination,
    ParamRange,
    check_total,
    count,
    grid,
    parse_space,
    random_draws,
)
from engine.strategy.instance import StrategySource
from engine.strategy.store import StrategyStore

SWEEP_FIELDS = (
    "space",
    "method",
    "trials",
    "objective",
    "direction",
    "constraints",
    "chunk_size",
    "batch_size",
)
METHODS = ("grid", "random", "tpe")
TARGET_CHUNKS = 16
"""Chunks a batch is split into by default (enough to keep several workers busy)."""
MAX_CHUNK = 100


@dataclass(frozen=True, kw_only=True)
class SweepConfig:
    """Everything needed to run (and re-run identically) one sweep."""

    backtest: BacktestConfig
    space: tuple[ParamRange, ...]
    method: str
    trials: int
    seed: int
    objective: Objective
    chunk_size: int
    batch_size: int

    @property
    def total(self) -> int:
        """Combinations the sweep runs."""
        if self.method == "grid":
            return count(self.space)
        return min(self.trials, count(self.space)) if self.method == "random" else self.trials

    def planned(self) -> list[Combination]:
        """Grid and random: every combination, in order (tpe asks batch by batch)."""
        if self.method == "grid":
            return grid(self.space)
        if self.method == "random":
            return random_draws(self.space, self.trials, self.seed)
        raise ConfigError("tpe sweeps choose combinations batch by batch")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (stored in ``sweeps.config``)."""
        return {
            "backtest": self.backtest.to_dict(),
            "space": [r.to_dict() | {"step": r.step} for r in self.space],
            "method": self.method,
            "trials": self.trials,
            "seed": self.seed,
            "objective": self.objective.to_dict(),
            "chunk_size": self.chunk_size,
            "batch_size": self.batch_size,
        }

    def to_request(self) -> dict[str, Any]:
        """A ``POST /api/sweeps`` body that reproduces this sweep (exact code and data)."""
        objective = self.objective.to_dict()
        body = self.backtest.to_request()
        body.update(
            space={r.name: {"values": list(r.values)} for r in self.space},
            method=self.method,
            seed=self.seed,
            objective=objective["metric"],
            direction=objective["direction"],
            constraints=objective["constraints"],
            chunk_size=self.chunk_size,
            batch_size=self.batch_size,
        )
        if self.method != "grid":
            body["trials"] = self.trials
        body.pop("runs", None)
        return body

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SweepConfig:
        """Inverse of :meth:`to_dict`."""
        return cls(
            backtest=BacktestConfig.from_dict(data["backtest"]),
            space=tuple(
                ParamRange(r["name"], r["kind"], tuple(r["values"]), r.get("step"))
                for r in data["space"]
            ),
            method=data["method"],
            trials=int(data["trials"]),
            seed=int(data["seed"]),
            objective=Objective.from_dict(data["objective"]),
            chunk_size=int(data["chunk_size"]),
            batch_size=int(data["batch_size"]),
        )


def parse_sweep(
    body: object, *, strategies: StrategyStore, csv_folders: Sequence[Path] = ()
) -> SweepConfig:
    """Check ``body`` (see the module docstring); raises with a fix-it message."""
    if not isinstance(body, Mapping):
        raise ConfigError('send a JSON object with a backtest request plus "space"')
    backtest_body = {k: v for k, v in body.items() if k not in SWEEP_FIELDS}
    if backtest_body.get("runs", 1) != 1:
        raise ConfigError("a sweep runs each combination once over the range; leave runs out")
    backtest = parse_request(backtest_body, strategies=strategies, csv_folders=csv_folders)
    source = StrategySource.from_code(backtest.strategy_code, backtest.strategy_file)
    space = tuple(parse_space(source.metadata, body.get("space")))
    method = body.get("method") or "grid"
    if method not in METHODS:
        raise ConfigError(f"method {method!r}: expected one of {', '.join(METHODS)}")
    trials = _int(body, "trials", 50 if method != "grid" else 0, 1 if method != "grid" else 0)
    if method == "grid":
        check_total(count(space))
    else:
        if trials < 1:
            raise ConfigError(f"{method} needs trials >= 1")
        check_total(trials)
    objective = parse_objective(
        body.get("objective"), body.get("direction"), body.get("constraints") or []
    )
    batch_size = _int(body, "batch_size", 16, 1)
    planned = count(space) if method == "grid" else min(trials, count(space))
    per_batch = planned if method != "tpe" else min(batch_size, trials)
    default_chunk = max(1, min(MAX_CHUNK, math.ceil(per_batch / TARGET_CHUNKS)))
    chunk_size = _int(body, "chunk_size", default_chunk, 1)
    if chunk_size > MAX_CHUNK:
        raise ConfigError(f"chunk_size must be 1..{MAX_CHUNK}, got {chunk_size}")
    return SweepConfig(
        backtest=backtest,
        space=space,
        method=method,
        trials=trials,
        seed=backtest.seed,
        objective=objective,
        chunk_size=chunk_size,
        batch_size=batch_size,
    )


def _int(body: Mapping[str, Any], name: str, default: int, minimum: int) -> int:
    value = body.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value
