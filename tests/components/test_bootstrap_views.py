"""Candle bootstrap views: the table shows the result's numbers, the fan is SVG scatter."""

from __future__ import annotations

from typing import Any

from components import bootstrap_views as cb

RESULT: dict[str, Any] = {
    "paths": 50,
    "block": 60,
    "seed": 3,
    "final_return_pct": {"p5": -12.345, "p50": 4.5, "p95": 30.0},
    "max_drawdown_pct": {"p5": 5.0, "p50": 10.0, "p95": 25.25},
    "trades": {"p5": 10.0, "p50": 14.0, "p95": 19.0},
    "probability_of_loss": 0.32,
    "original": {"final_return_pct": 7.0, "max_drawdown_pct": 9.5, "trades": 15},
    "fan": {
        "bar": [0, 10, 19],
        "bands": {f"p{p}": [1000.0, 1000.0 + p, 1000.0 + 2 * p] for p in (5, 25, 50, 75, 95)},
        "original": [1000.0, 1010.0, 1020.0],
    },
}


def texts(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    children = getattr(node, "children", None)
    if children is None:
        return []
    if not isinstance(children, list):
        children = [children]
    return [t for child in children for t in texts(child)]


def test_table_and_fan() -> None:
    shown = texts(cb.make_table(RESULT))
    assert shown[5:10] == ["Final return %", "-12.35", "4.50", "30.00", "7.00"]
    assert shown[15:20] == ["Trades", "10", "14", "19", "15"]
    assert "Probability of loss: 32.0 %" in shown
    figure = cb.fan_figure(RESULT)
    assert {trace["type"] for trace in figure["data"]} == {"scatter"}
    assert figure["data"][-1]["y"] == RESULT["fan"]["original"]
    assert all(trace["x"] == [0, 10, 19] for trace in figure["data"])


def test_progress_counts_paths() -> None:
    view = texts(cb.progress_view({"status": "running", "done": 12, "paths": 50, "progress": 0.24}))
    assert "12 of 50 paths" in view
