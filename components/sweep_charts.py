"""Charts and table rows of a sweep's results (``GET /api/sweeps/<id>/results`` rows).

Pure functions: a 2-D heatmap of any metric over two params (the other params aggregated by
max or mean), a 1-D line over one param, a scatter of every combination (one param against a
metric, coloured by another param) and the rows for the results grid.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from components.backtest_charts import ACCENT, base_layout
from engine.optimize.objective import metric_value

Figure = dict[str, Any]
HEAT_SCALE = [[0.0, "#c0392b"], [0.5, "#2b2b2b"], [1.0, "#00bc8c"]]
INFEASIBLE = "#7f8c8d"
BEST_MARKER = {
    "symbol": "star",
    "size": 16,
    "color": "#f1c40f",
    "line": {"width": 1, "color": "#222"},
}
TABLE_METRICS = (
    "total_return_pct",
    "sharpe",
    "sortino",
    "max_drawdown_pct",
    "win_rate_pct",
    "profit_factor",
    "num_trades",
    "expectancy",
    "exposure_pct",
    "final_equity",
)


def _ok(rows: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in rows if r.get("status") == "ok" and r.get("metrics")]


def _aggregate(values: list[float], how: str) -> float:
    finite = [v for v in values if np.isfinite(v)]
    if not finite:
        return float("nan")
    return float(np.mean(finite)) if how == "mean" else float(np.max(finite))


def _cells(
    rows: Sequence[Mapping[str, Any]], keys: Sequence[str], metric: str, how: str
) -> dict[tuple[Any, ...], float]:
    groups: dict[tuple[Any, ...], list[float]] = defaultdict(list)
    for row in _ok(rows):
        value = metric_value(row["metrics"], metric)
        if value is not None:
            groups[tuple(row["params"].get(k) for k in keys)].append(value)
    return {key: _aggregate(values, how) for key, values in groups.items()}


def heatmap_figure(
    rows: Sequence[Mapping[str, Any]],
    x: str,
    y: str,
    metric: str,
    how: str = "max",
    best: Mapping[str, Any] | None = None,
) -> Figure:
    """``metric`` over params ``x`` × ``y``; combinations that differ only in other params
    are aggregated by ``how`` (max or mean). Missing cells stay blank; ``best`` (params of
    the best combination) is marked with a star."""
    cells = _cells(rows, (x, y), metric, how)
    xs = sorted({k[0] for k in cells})
    ys = sorted({k[1] for k in cells})
    z = [[_json(cells.get((xv, yv))) for xv in xs] for yv in ys]
    finite = [v for v in cells.values() if np.isfinite(v)]
    bound = max((abs(v) for v in finite), default=1.0) or 1.0
    centered = metric.endswith(("return_pct", "pnl")) or metric in (
        "sharpe",
        "sortino",
        "expectancy",
    )
    trace: dict[str, Any] = {
        "type": "heatmap",
        "x": [str(v) for v in xs],
        "y": [str(v) for v in ys],
        "z": z,
        "colorscale": HEAT_SCALE if centered else "Viridis",
        "reversescale": metric == "max_drawdown_pct",
        "hovertemplate": f"{x}=%{{x}}<br>{y}=%{{y}}<br>{metric}=%{{z:.4g}}<extra></extra>",
        "colorbar": {"title": {"text": metric.replace("_", " "), "side": "right"}, "thickness": 14},
        "xgap": 1,
        "ygap": 1,
    }
    if centered:
        trace.update(zmin=-bound, zmax=bound)
    others = " (other params: " + how + ")" if len(rows) and len(_param_names(rows)) > 2 else ""
    data: list[dict[str, Any]] = [trace]
    if best and x in best and y in best:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [str(best[x])],
                "y": [str(best[y])],
                "marker": BEST_MARKER,
                "name": "best",
                "hovertemplate": "best<extra></extra>",
                "showlegend": False,
            }
        )
    return {
        "data": data,
        "layout": base_layout(
            f"{metric.replace('_', ' ')} over {x} × {y}{others}",
            xaxis={"title": {"text": x}, "type": "category"},
            yaxis={"title": {"text": y}, "type": "category"},
            margin={"l": 64, "r": 16, "t": 40, "b": 48},
        ),
    }


def line_figure(rows: Sequence[Mapping[str, Any]], x: str, metric: str, how: str = "max") -> Figure:
    """``metric`` along one param (other params aggregated by ``how``)."""
    cells = _cells(rows, (x,), metric, how)
    xs = sorted(k[0] for k in cells)
    return {
        "data": [
            {
                "type": "scatter",
                "mode": "lines+markers",
                "x": xs,
                "y": [_json(cells[(v,)]) for v in xs],
                "line": {"color": ACCENT, "width": 2},
                "marker": {"size": 6},
                "hovertemplate": f"{x}=%{{x}}<br>{metric}=%{{y:.4g}}<extra></extra>",
                "name": metric,
            }
        ],
        "layout": base_layout(
            f"{metric.replace('_', ' ')} along {x}",
            xaxis={"title": {"text": x}},
            yaxis={"title": {"text": metric.replace("_", " ")}},
        ),
    }


def _number(value: Any) -> float | None:
    """``value`` as a finite float, or None (missing, text or non-finite)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if np.isfinite(value) else None


def _hover(params: Mapping[str, Any], metric: str, value: float) -> str:
    shown = "<br>".join(f"{k} = {v}" for k, v in params.items())
    return f"{shown}<br>{metric} = {value:.4g}"


def scatter_figure(
    rows: Sequence[Mapping[str, Any]],
    x_param: str,
    metric: str,
    color_param: str | None = None,
    best_index: int | None = None,
) -> Figure:
    """Every finished combination as a point: param ``x_param`` against ``metric``, filled and
    coloured by param ``color_param`` (continuous scale with a colorbar; one colour when None)
    if it meets the constraints, hollow grey if not; the combination ``best_index`` starred.
    Nothing is aggregated, so any number of swept params shows."""
    points = []
    for row in _ok(rows):
        x = _number(row["params"].get(x_param))
        y = _number(metric_value(row["metrics"], metric))
        if x is not None and y is not None:
            points.append((row, x, y))
    feasible = [p for p in points if p[0].get("feasible")]
    infeasible = [p for p in points if not p[0].get("feasible")]
    colors = [_number(p[0]["params"].get(color_param)) for p in feasible] if color_param else []
    marker: dict[str, Any] = {"size": 10, "line": {"width": 1, "color": "rgba(255,255,255,0.55)"}}
    if colors and all(c is not None for c in colors):
        marker.update(
            color=colors,
            colorscale="Viridis",
            showscale=True,
            colorbar={"title": {"text": color_param, "side": "right"}, "thickness": 14},
        )
    else:
        marker["color"] = ACCENT
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "markers",
            "x": [p[1] for p in feasible],
            "y": [p[2] for p in feasible],
            "text": [_hover(p[0]["params"], metric, p[2]) for p in feasible],
            "hovertemplate": "%{text}<extra></extra>",
            "marker": marker,
            "name": "meets constraints",
        }
    ]
    if infeasible:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [p[1] for p in infeasible],
                "y": [p[2] for p in infeasible],
                "text": [_hover(p[0]["params"], metric, p[2]) for p in infeasible],
                "hovertemplate": "%{text}<br>(fails the constraints)<extra></extra>",
                "marker": {"size": 10, "symbol": "circle-open", "color": INFEASIBLE},
                "opacity": 0.8,
                "name": "fails constraints",
            }
        )
    best = [p for p in points if p[0]["combo_index"] == best_index]
    if best:
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [best[0][1]],
                "y": [best[0][2]],
                "marker": BEST_MARKER,
                "name": "best",
                "hovertemplate": f"best (#{best_index})<extra></extra>",
            }
        )
    colored = f", colour: {color_param}" if color_param else ""
    return {
        "data": data,
        "layout": base_layout(
            f"{metric.replace('_', ' ')} against {x_param} (every combination{colored})",
            xaxis={"title": {"text": x_param}},
            yaxis={"title": {"text": metric.replace("_", " ")}},
            legend={"x": 0, "xanchor": "left", "y": -0.1, "yanchor": "top"},
            margin={"l": 64, "r": 16, "t": 40, "b": 64},
        ),
    }


def _param_names(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    return list(rows[0]["params"]) if rows else []


def swept_params(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Params that take more than one value in the results."""
    names = _param_names(rows)
    return [n for n in names if len({r["params"].get(n) for r in rows}) > 1] or names


def _json(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else round(value, 6)


def result_rows(rows: Sequence[Mapping[str, Any]], best_index: int | None) -> list[dict[str, Any]]:
    """Grid rows: combination, params as columns, status, objective, the headline metrics."""
    out = []
    for row in rows:
        metrics = row.get("metrics") or {}
        item: dict[str, Any] = {
            "combo": row["combo_index"],
            "status": row["status"] + (" ★" if row["combo_index"] == best_index else ""),
            "feasible": "yes" if row.get("feasible") else "no",
            "objective": _json(row.get("objective")),
            "error": row.get("error") or "",
        }
        item.update({f"p_{k}": v for k, v in row["params"].items()})
        for key in TABLE_METRICS:
            value = metric_value(metrics, key)
            item[key] = None if value is None else _json(value)
        out.append(item)
    return out


def result_columns(params: Sequence[str], maximize: bool = True) -> list[dict[str, Any]]:
    """Column definitions matching :func:`result_rows`, best objective first."""
    fmt = {"function": "params.value == null ? '' : d3.format(',.4~f')(params.value)"}
    cols: list[dict[str, Any]] = [
        {"field": "combo", "headerName": "#", "width": 70, "maxWidth": 80},
        *({"field": f"p_{p}", "headerName": p, "minWidth": 80} for p in params),
        {"field": "status", "headerName": "Status", "minWidth": 90},
        {
            "field": "objective",
            "headerName": "Objective",
            "valueFormatter": fmt,
            "minWidth": 120,
            "sort": "desc" if maximize else "asc",
        },
        {"field": "feasible", "headerName": "Meets constraints", "minWidth": 150},
    ]
    cols += [
        {
            "field": k,
            "headerName": k.replace("_pct", " %").replace("_", " "),
            "valueFormatter": fmt,
            "minWidth": 120,
        }
        for k in TABLE_METRICS
    ]
    cols.append({"field": "error", "headerName": "Error", "minWidth": 160})
    return cols
