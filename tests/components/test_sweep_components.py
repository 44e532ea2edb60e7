"""The Optimize form's live count and request body, and the sweep charts' aggregation and
scatter points."""

from __future__ import annotations

import math

from components.sweep_charts import heatmap_figure, line_figure, result_rows, scatter_figure
from components.sweep_controls import make_chart_controls, shown
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


def test_scatter_shows_every_combination_coloured_hollow_when_infeasible_best_starred() -> None:
    data = rows()
    for row in data:  # a = 1 with c = 5 fails the constraints
        row["feasible"] = row["status"] == "ok" and not (
            row["params"]["a"] == 1 and row["params"]["c"] == 5
        )
    fig = scatter_figure(data, "b", "total_return_pct", "c", best_index=7)
    filled, hollow, best = fig["data"]
    finished = [r for r in data if r["status"] == "ok"]
    ok = [r for r in finished if r["feasible"]]
    bad = [r for r in finished if not r["feasible"]]
    assert filled["x"] == [r["params"]["b"] for r in ok]
    assert filled["y"] == [r["params"]["a"] * r["params"]["b"] + r["params"]["c"] for r in ok]
    assert filled["marker"]["color"] == [r["params"]["c"] for r in ok]
    assert filled["marker"]["showscale"] and filled["marker"]["colorbar"]["title"]["text"] == "c"
    assert hollow["x"] == [r["params"]["b"] for r in bad] == [10, 20]
    assert hollow["y"] == [r["metrics"]["total_return_pct"] for r in bad] == [15, 25]
    assert hollow["marker"]["symbol"] == "circle-open" and "colorscale" not in hollow["marker"]
    assert (best["x"], best["y"]) == ([20], [45]) and best["marker"]["symbol"] == "star"
    assert len(filled["x"]) + len(hollow["x"]) == 8  # the failed row is left out
    assert "a = 1<br>b = 10<br>c = 0" in filled["text"][0]


def test_scatter_with_one_or_two_params_and_no_colour() -> None:
    one = [
        {
            "combo_index": i,
            "params": {"n": n},
            "status": "ok",
            "metrics": {"sharpe": n / 10},
            "feasible": True,
        }
        for i, n in enumerate((5, 10, 15))
    ]
    fig = scatter_figure(one, "n", "sharpe", None, best_index=2)
    assert fig["data"][0]["x"] == [5, 10, 15] and fig["data"][0]["y"] == [0.5, 1.0, 1.5]
    assert "colorscale" not in fig["data"][0]["marker"] and len(fig["data"]) == 2
    assert fig["data"][1]["x"] == [15]
    two = [{**r, "params": {"n": r["params"]["n"], "m": i}} for i, r in enumerate(one)]
    colored = scatter_figure(two, "m", "sharpe", "n")["data"]
    assert len(colored) == 1 and colored[0]["marker"]["color"] == [5, 10, 15]
    assert colored[0]["x"] == [0, 1, 2]
    assert scatter_figure([], "n", "sharpe", "n")["data"][0]["x"] == []


def test_controls_offer_the_heatmap_from_two_params_and_show_each_views_inputs() -> None:
    def views(params: list[str]) -> list[dict]:
        row = make_chart_controls(params, "line", "sharpe")
        return row.children[0].children[1].options

    assert [v["value"] for v in views(["n"])] == ["heatmap", "line", "scatter"]
    assert views(["n"])[0]["disabled"] and not views(["a", "b"])[0]["disabled"]
    assert shown("scatter") == {"y": {"display": "none"}, "color": {}, "agg": {"display": "none"}}
    assert shown("heatmap")["y"] == {} and shown("line")["agg"] == {}
