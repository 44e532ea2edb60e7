"""What a sweep optimizes: one metric, maximized or minimized, and constraints on results
(``max_drawdown_pct <= 20``, ``num_trades >= 10``) that exclude a combination from "best".
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import ConfigError

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
METRICS: tuple[str, ...] = (
    "total_return_pct",
    "annualized_return_pct",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown_pct",
    "win_rate_pct",
    "profit_factor",
    "num_trades",
    "expectancy",
    "sqn",
    "net_pnl",
    "final_equity",
)
"""Metrics offered first in the UI (any numeric key of the metrics dict is accepted)."""


def metric_value(metrics: Mapping[str, Any], name: str) -> float | None:
    """A metric as a float (``"∞"`` -> inf), or None when missing or not a number."""
    value = metrics.get(name)
    if value == "∞":
        return math.inf
    if value == "-∞":
        return -math.inf
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return None if math.isnan(value) else float(value)


@dataclass(frozen=True)
class Constraint:
    """``metric op value``, e.g. ``max_drawdown_pct <= 20``."""

    metric: str
    op: str
    value: float

    def holds(self, metrics: Mapping[str, Any]) -> bool:
        """True when the metric exists and satisfies the bound."""
        found = metric_value(metrics, self.metric)
        return found is not None and OPERATORS[self.op](found, self.value)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {"metric": self.metric, "op": self.op, "value": self.value}

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


@dataclass(frozen=True)
class Objective:
    """The metric to optimize and its direction; ``constraints`` filter "best"."""

    metric: str = "total_return_pct"
    maximize: bool = True
    constraints: tuple[Constraint, ...] = ()

    def feasible(self, metrics: Mapping[str, Any]) -> bool:
        """Whether every constraint holds."""
        return all(c.holds(metrics) for c in self.constraints)

    def score(self, metrics: Mapping[str, Any]) -> float | None:
        """The objective metric (None when the backtest gave none, e.g. no trades)."""
        return metric_value(metrics, self.metric)

    def best(self, rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
        """The row (``{"metrics", "combo_index", ...}``) with the best objective among the
        finished ones that meet every constraint; ties go to the lowest combination index."""
        best: dict[str, Any] | None = None
        best_key: tuple[float, int] | None = None
        for row in rows:
            metrics = row.get("metrics")
            if row.get("status", "ok") != "ok" or metrics is None or not self.feasible(metrics):
                continue
            value = self.score(metrics)
            if value is None:
                continue
            key = (-value if self.maximize else value, int(row["combo_index"]))
            if best_key is None or key < best_key:
                best, best_key = row, key
        return best

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (stored with the sweep)."""
        return {
            "metric": self.metric,
            "direction": "maximize" if self.maximize else "minimize",
            "constraints": [c.to_dict() for c in self.constraints],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Objective:
        """Inverse of :meth:`to_dict` (also the request's ``objective`` + ``constraints``)."""
        return parse_objective(
            data.get("metric"), data.get("direction"), data.get("constraints") or []
        )


def parse_objective(metric: object, direction: object, constraints: object) -> Objective:
    """Check the request's objective and constraints; ConfigError naming what is wrong."""
    name = metric or "total_return_pct"
    if not isinstance(name, str) or not name.isidentifier():
        raise ConfigError(f"objective: give a metric name such as {', '.join(METRICS[:4])}")
    way = direction or "maximize"
    if way not in ("maximize", "minimize"):
        raise ConfigError(f"direction {way!r}: expected maximize or minimize")
    if not isinstance(constraints, Sequence) or isinstance(constraints, str):
        raise ConfigError(
            'constraints: give a list like [{"metric": "num_trades", "op": ">=", "value": 10}]'
        )
    parsed = []
    for i, raw in enumerate(constraints):
        if not isinstance(raw, Mapping) or set(raw) != {"metric", "op", "value"}:
            raise ConfigError(f"constraints[{i}]: give metric, op and value")
        m, op, value = raw["metric"], raw["op"], raw["value"]
        if not isinstance(m, str) or not m.isidentifier():
            raise ConfigError(f"constraints[{i}].metric: give a metric name")
        if op not in OPERATORS:
            raise ConfigError(f"constraints[{i}].op {op!r}: expected one of {', '.join(OPERATORS)}")
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ConfigError(f"constraints[{i}].value: give a finite number")
        parsed.append(Constraint(m, str(op), float(value)))
    return Objective(name, way == "maximize", tuple(parsed))
