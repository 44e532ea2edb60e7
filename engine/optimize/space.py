"""Parameter spaces of a sweep: the values each ``@param`` takes, and the combinations the
grid, random and TPE methods visit.

A range is a list of values (``{"values": [5, 10, 20]}``) or ``{"min", "max", "step"}``
(both ends included when the step lands on them); every value is checked against the
param's declared kind and range, so integer params stay integers. Params left out of the
space keep their default (or the value given in the sweep's ``params``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from engine.errors import ConfigError
from engine.strategy.metadata import Number, ParamSpec, StrategyMetadata

MAX_VALUES = 10_000
"""Values one parameter may take."""
MAX_COMBINATIONS = 100_000
"""Combinations one sweep may run (each is a full backtest)."""

Combination = dict[str, Number]


@dataclass(frozen=True)
class ParamRange:
    """The values one parameter takes in a sweep (sorted as given), and its kind."""

    name: str
    kind: str
    values: tuple[Number, ...]
    step: Number | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (stored with the sweep)."""
        return {"name": self.name, "kind": self.kind, "values": list(self.values)}


def parse_range(spec: ParamSpec, raw: object) -> ParamRange:
    """One param's range from ``{"values": [...]}`` or ``{"min", "max", "step"}``."""
    where = f"space.{spec.name}"
    if not isinstance(raw, Mapping):
        raise ConfigError(
            f'{where}: give {{"values": [..]}} or {{"min": .., "max": .., "step": ..}}'
        )
    unknown = sorted(set(raw) - {"values", "min", "max", "step"})
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)}; use values or min/max/step"
        )
    if "values" in raw:
        if set(raw) != {"values"}:
            raise ConfigError(f"{where}: give either values or min/max/step, not both")
        items = raw["values"]
        if not isinstance(items, Sequence) or isinstance(items, str) or not items:
            raise ConfigError(f"{where}.values: give a non-empty list of numbers")
        if len(items) > MAX_VALUES:
            raise ConfigError(f"{where}.values: at most {MAX_VALUES} values")
        values = tuple(dict.fromkeys(spec.validate(v) for v in items))
        return ParamRange(spec.name, spec.kind, values)
    missing = [k for k in ("min", "max") if k not in raw]
    if missing:
        raise ConfigError(f"{where}: {' and '.join(missing)} missing; give min, max and step")
    low, high = spec.validate(raw["min"]), spec.validate(raw["max"])
    if high < low:
        raise ConfigError(f"{where}: max {high} is below min {low}; swap them")
    step_raw = raw.get("step", 1 if spec.kind == "int" else None)
    if step_raw is None:
        raise ConfigError(f"{where}: a float param needs a step, e.g. 0.5")
    if isinstance(step_raw, bool) or not isinstance(step_raw, int | float) or step_raw <= 0:
        raise ConfigError(f"{where}.step: give a positive number, got {step_raw!r}")
    if spec.kind == "int" and float(step_raw) != int(step_raw):
        raise ConfigError(f"{where}.step: {spec.name} is an integer param; use a whole step")
    step: Number = int(step_raw) if spec.kind == "int" else float(step_raw)
    count = math.floor((high - low) / step + 1e-9) + 1
    if count > MAX_VALUES:
        raise ConfigError(f"{where}: {count:,} values (at most {MAX_VALUES:,}); use a larger step")
    if spec.kind == "int":
        values = tuple(int(low) + int(step) * i for i in range(count))
    else:
        values = tuple(round(float(low) + float(step) * i, 12) for i in range(count))
    return ParamRange(spec.name, spec.kind, values, step)


def parse_space(metadata: StrategyMetadata, raw: object) -> list[ParamRange]:
    """Ranges for the params named in ``raw`` (a mapping name -> range), in declaration order."""
    if not isinstance(raw, Mapping) or not raw:
        names = ", ".join(p.name for p in metadata.params) or "none"
        raise ConfigError(f"space: give a range for at least one param (declared: {names})")
    specs = {p.name: p for p in metadata.params}
    unknown = [name for name in raw if name not in specs]
    if unknown:
        declared = ", ".join(specs) or "none"
        raise ConfigError(f"space: unknown param(s) {', '.join(unknown)}; declared: {declared}")
    return [parse_range(spec, raw[spec.name]) for spec in metadata.params if spec.name in raw]


def count(space: Sequence[ParamRange]) -> int:
    """Number of grid combinations."""
    return math.prod(len(r.values) for r in space)


def combination(space: Sequence[ParamRange], index: int) -> Combination:
    """The ``index``-th grid combination (the first param varies slowest)."""
    out: Combination = {}
    for r in reversed(space):
        index, digit = divmod(index, len(r.values))
        out[r.name] = r.values[digit]
    return {r.name: out[r.name] for r in space}


def grid(space: Sequence[ParamRange]) -> list[Combination]:
    """Every combination, first param slowest (``itertools.product`` order)."""
    total = count(space)
    check_total(total)
    return [combination(space, i) for i in range(total)]


def random_draws(space: Sequence[ParamRange], n: int, seed: int) -> list[Combination]:
    """``n`` distinct combinations drawn uniformly from the grid with a seeded generator (all
    of them, in grid order, when ``n`` covers the grid)."""
    total = count(space)
    if n < 1:
        raise ConfigError(f"trials must be at least 1, got {n}")
    check_total(min(n, total))
    if n >= total:
        return grid(space)
    rng = np.random.default_rng(seed)
    picks = rng.choice(total, size=n, replace=False) if total < 2**62 else None
    if picks is None:  # pragma: no cover - a space that large is refused by MAX_VALUES first
        raise ConfigError("the space is too large to sample")
    return [combination(space, int(i)) for i in picks]


def check_total(total: int) -> None:
    """ConfigError when a sweep would run more than :data:`MAX_COMBINATIONS` backtests."""
    if total > MAX_COMBINATIONS:
        raise ConfigError(
            f"{total:,} combinations (at most {MAX_COMBINATIONS:,}); use larger steps, fewer "
            "values, or the random / tpe method with a number of trials"
        )
