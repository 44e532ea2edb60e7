"""The Optimize form's live count and request body, and the sweep charts' aggregation."""

from __future__ import annotations

import math

from components.sweep_charts import heatmap_figure, line_figure, result_rows
from components.sweep_form import combination_count, count_text, ranges_from_inputs, sweep_request


def rows() -> list[dict]:
    out = []
    index = 0
    for a in (1, 2):
        for b in (10, 20):
            for c in (0, 5):
                out.append(
                    {
                        "combo_index": index,
                        "params": {"a": a, "b": b, "c": c},
                        "status": "ok",
                        "metrics": {"total_return_pct": a * b + c, "num_trades": 3},
                        "objective": a * b + c,
                        "feasible": True,
                    }
                )
                index += 1
    out.append(
        {
            "combo_index": index,
            "params": {"a": 2, "b": 20, "c": 9},
            "status": "failed",
            "metrics": None,
            "objective": None,
            "feasible": False,
            "error": "boom",
        }
    )
    return out


def test_count_follows_the_ranges() -> None:
    ids = [{"name": "fast"}, {"name": "slow"}, {"name": "stop"}]
    columns = [
        [["on"], ["on"], []],  # sweep switches
        [2, 10, 0],
        [10, 30, 5],
        [2, 5, 1],
        ["", " 20, 40 ;60", ""],
    ]
    space = ranges_from_inputs(ids, columns)
    assert space == {"fast": {"min": 2, "max": 10, "step": 2}, "slow": {"values": [20, 40, 60]}}
    assert combination_count(space) == 5 * 3
    assert count_text(space, "grid", None) == "15 combinations"
    assert count_text(space, "random", 4) == "4 trials of 15 combinations (random)"
    assert combination_count({"x": {"min": 5, "max": 1, "step": 1}}) is None
    assert combination_count({}) is None
    body = sweep_request(
        "ema_crossover.lua",
        space,
        {
            "method": "tpe",
            "trials": 30,
            "seed": 3,
            "max_dd": 20,
            "min_trades": 5,
            "commission_pct": 0.1,
            "preset": "30d",
        },
    )
    assert body["trials"] == 30 and body["seed"] == 3 and math.isclose(body["commission"], 0.001)
    assert body["constraints"] == [
        {"metric": "max_drawdown_pct", "op": "<=", "value": 20.0},
        {"metric": "num_trades", "op": ">=", "value": 5.0},
    ]


def test_heatmap_aggregates_the_other_params_by_max_or_mean() -> None:
    data = rows()
    fig = heatmap_figure(data, "a", "b", "total_return_pct", "max", best={"a": 2, "b": 20})
    trace = fig["data"][0]
    assert trace["x"] == ["1", "2"] and trace["y"] == ["10", "20"]
    # z[y][x]: max over c of a*b + c
    assert trace["z"] == [[15, 25], [25, 45]]
    assert fig["data"][1]["x"] == ["2"] and fig["data"][1]["y"] == ["20"]
    mean = heatmap_figure(data, "a", "b", "total_return_pct", "mean")["data"][0]["z"]
    assert mean == [[12.5, 22.5], [22.5, 42.5]]  # the failed row is left out
    line = line_figure(data, "c", "total_return_pct", "mean")["data"][0]
    assert line["x"] == [0, 5] and line["y"] == [22.5, 27.5]
    table = result_rows(data, best_index=7)
    assert table[7]["status"] == "ok ★" and table[-1]["error"] == "boom"
    assert table[0]["p_a"] == 1 and table[-1]["total_return_pct"] is None
