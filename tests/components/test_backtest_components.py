"""Backtest page builders against plain-Python references: drawdown, monthly returns, the
average of runs, hour counts, metric formatting, the better value, the form's request body."""

from __future__ import annotations

import math

import pytest

from components import backtest_charts as charts
from components.backtest_form import form_request
from components.backtest_history import best_index, make_compare_table
from components.backtest_results import fmt_metric, headline_metrics, trade_rows

TIMES = [
    "2024-01-01T00:00:00Z",
    "2024-01-20T00:00:00Z",
    "2024-02-10T00:00:00Z",
    "2024-02-28T00:00:00Z",
    "2024-03-05T00:00:00Z",
]
EQUITY = [100.0, 110.0, 99.0, 121.0, 115.0]


def result(runs: list[dict], trades: list[dict] | None = None) -> dict:
    return {
        "config": {"initial_capital": 100.0},
        "run_equity": runs,
        "trades": trades or [],
        "runs": [],
        "num_runs": len(runs),
        "metrics": {},
        "strategy": "S",
        "symbol": "X",
        "timeframe": "1h",
    }


def trade(entry: str, exit_: str, pnl: float, side: str = "long") -> dict:
    return {
        "entry_time": entry,
        "exit_time": exit_,
        "pnl": pnl,
        "pnl_pct": pnl,
        "side": side,
        "entry_price": 1.0,
        "exit_price": 1.0,
        "exit_reason": "signal",
        "quantity": 1.0,
        "bars_held": 1,
        "run_id": 0,
    }


def test_drawdown_is_the_distance_below_the_running_peak() -> None:
    fig = charts.drawdown_figure(result([{"run_id": 0, "time": TIMES, "equity": EQUITY}]))
    expected, peak = [], -math.inf
    for e in EQUITY:
        peak = max(peak, e)
        expected.append((e / peak - 1) * 100)
    assert fig["data"][0]["y"] == pytest.approx(expected, abs=1e-4)  # rounded to 4 places


def test_monthly_returns_chain_month_end_equity() -> None:
    months = charts.monthly_returns(result([{"run_id": 0, "time": TIMES, "equity": EQUITY}]))
    assert months == pytest.approx(
        {(2024, 1): 10.0, (2024, 2): 10.0, (2024, 3): 115 / 121 * 100 - 100}
    )
    table = charts.monthly_table(result([{"run_id": 0, "time": TIMES, "equity": EQUITY}]))
    assert table["rows"][0][0][0] == "2024" and table["rows"][0][1][0] == "+10.0%"
    assert table["rows"][0][-1][0] == "+15.0%"  # the year compounds to 115 / 100


def test_runs_average_on_fractions_of_their_span() -> None:
    a = {
        "run_id": 0,
        "time": ["2024-01-01T00:00:00Z", "2024-01-03T00:00:00Z"],
        "equity": [100, 120],
    }
    b = {"run_id": 1, "time": ["2024-02-01T00:00:00Z", "2024-02-05T00:00:00Z"], "equity": [100, 80]}
    days, mean = charts.average_curve([a, b])
    assert days[-1] == pytest.approx(3.0) and mean[0] == 100 and mean[-1] == pytest.approx(100)
    mid = len(mean) // 2
    assert mean[mid] == pytest.approx(100, abs=0.2)
    fig = charts.equity_figure(result([a, b]))
    assert [t["name"] for t in fig["data"]] == ["runs", "runs", "average of 2 runs"]


def test_hours_and_hold_times() -> None:
    trades = [
        trade("2024-01-01T03:00:00Z", "2024-01-01T05:30:00Z", 5.0),
        trade("2024-01-02T03:10:00Z", "2024-01-02T04:10:00Z", -1.0),
        trade("2024-01-02T23:00:00Z", "2024-01-03T01:00:00Z", 2.0),
    ]
    bars = charts.hour_bars(trades)
    wins, losses = bars["data"][0]["y"], bars["data"][1]["y"]
    assert wins[3] == 1 and losses[3] == 1 and wins[23] == 1 and sum(wins) + sum(losses) == 3
    scatter = charts.hold_scatter(trades)
    assert scatter["data"][0]["x"] == [2.5, 2.0] and scatter["data"][1]["x"] == [1.0]
    rows = trade_rows(trades)
    assert rows[0]["entry_time"] == "2024-01-01 03:00:00" and rows[2]["id"] == 2


def test_candle_markers_are_capped_and_focus_zooms() -> None:
    trades = [
        trade(f"2024-01-01T{h:02d}:00:00Z", f"2024-01-01T{h:02d}:30:00Z", 1.0) for h in range(24)
    ] * 50
    bars = {"time": ["2024-01-01T00:00:00"], "open": [1], "high": [1], "low": [1], "close": [1]}
    fig = charts.candles_figure(bars, trades)
    assert len(fig["data"][1]["x"]) == charts.MAX_MARKED_TRADES
    focused = charts.candles_figure(bars, trades[:24], focus=trades[5])
    assert focused["layout"]["xaxis"]["range"] == ["2024-01-01T03:00:00", "2024-01-01T07:30:00"]


def test_metric_text_infinity_and_the_better_value() -> None:
    assert fmt_metric("∞", "ratio") == "∞"
    assert fmt_metric(float("inf"), "ratio") == "∞"
    assert fmt_metric(None, "pct") == "—" and fmt_metric(12.345, "pct") == "+12.35%"
    assert best_index("sharpe", [1.0, 2.0, None]) == 1
    assert best_index("max_drawdown_pct", [10.0, 5.0]) == 1
    assert best_index("sharpe", [1.0, 1.0]) is None
    runs = [
        {"metrics": {"sharpe": 1.0, "profit_factor": "∞"}, "num_trades": 2},
        {"metrics": {"sharpe": 3.0, "profit_factor": "∞"}, "num_trades": 3},
    ]
    mean = headline_metrics({"runs": runs})
    assert mean["sharpe"] == 2.0 and mean["profit_factor"] == "∞" and mean["num_trades"] == 5
    table = make_compare_table(
        [
            {**result([]), "runs": [{"metrics": {"sharpe": 0.5}, "num_trades": 1}]},
            {**result([]), "runs": [{"metrics": {"sharpe": 1.5}, "num_trades": 1}]},
        ]
    )
    text = str(table)
    assert "better" in text and "1.50" in text


def test_form_request_maps_fields_onto_the_api_body() -> None:
    body = form_request(
        "examples/ema_crossover.lua",
        {"fast": 8, "slow": None},
        {
            "symbol": "ETHUSDT",
            "timeframe": "15m",
            "source": "sim",
            "preset": "custom",
            "start": "2024-01-01",
            "end": "2024-02-01",
            "runs": 10,
            "duration": "7d",
            "capital": 5000,
            "commission_pct": 0.1,
            "slippage_model": "fixed",
            "slippage_bps": 2,
            "fill": "next_open",
            "window": 50,
            "seed": 3,
        },
    )
    assert body == {
        "strategy": "examples/ema_crossover.lua",
        "params": {"fast": 8},
        "symbol": "ETHUSDT",
        "timeframe": "15m",
        "source": "sim",
        "fill": "next_open",
        "slippage_model": "fixed",
        "start": "2024-01-01",
        "end": "2024-02-01",
        "runs": 10,
        "duration": "7d",
        "capital": 5000.0,
        "slippage_bps": 2.0,
        "commission": 0.001,
        "window": 50,
        "seed": 3,
    }
    assert form_request("x", {}, {"preset": "7d", "runs": 1})["preset"] == "7d"


def test_chart_bars_fit_the_candle_budget_and_focus_uses_native_bars() -> None:
    from engine.data.bars import resample
    from engine.data.simulated import generate_history
    from engine.data.timeframes import Timeframe

    series = generate_history("BTCUSDT", "1m", 20_000)
    bars = charts.chart_bars(series)
    assert bars["timeframe"] == "15m" and len(bars["time"]) <= charts.MAX_CANDLES
    assert bars["close"] == resample(series, Timeframe("15m")).close.tolist()
    trade_ = trade("2024-01-02T10:00:00Z", "2024-01-02T11:00:00Z", 1.0)
    focused = charts.chart_bars(series, trade_)
    assert focused["timeframe"] == "1m"
    assert focused["time"][0] == "2024-01-02T08:00:00" and len(focused["time"]) == 300


def test_histogram_is_binned_here_and_counts_every_trade() -> None:
    pnls = [-2.93, -1.07, -0.51, 0.0, 0.13, 0.29, 1.55, 2.01, 4.47, 9.0]
    trades = [dict(trade(TIMES[0], TIMES[1], p), pnl_pct=p) for p in pnls]
    wins, losses = charts.returns_histogram(trades)["data"]
    lo, bins = min(pnls), charts.HISTOGRAM_BINS
    width = (max(pnls) - lo) / bins
    for series, keep in ((wins, lambda p: p > 0), (losses, lambda p: p <= 0)):
        expected = [0] * bins
        for p in pnls:  # plain loop: bin k holds [lo + k w, lo + (k + 1) w), the last one closed
            if keep(p):
                expected[min(int((p - lo) / width), bins - 1)] += 1
        assert series["y"] == expected
    assert sum(wins["y"]) + sum(losses["y"]) == len(pnls)


def test_hold_scatter_keeps_the_extremes_when_thinned() -> None:
    n = charts.MAX_SCATTER_TRADES * 3
    trades = [
        trade(
            "2024-01-01T00:00:00Z",
            f"2024-01-{1 + (i % 28):02d}T{(i * 7) % 24:02d}:00:00Z",
            math.sin(i) * (1 + i % 97),
        )
        for i in range(n)
    ]
    fig = charts.hold_scatter(trades)
    shown = [y for t in fig["data"] for y in t["y"]]
    assert len(shown) == charts.MAX_SCATTER_TRADES
    pnl = sorted(round(float(t["pnl"]), 2) for t in trades)
    assert min(shown) == pnl[0] and max(shown) == pnl[-1]
    longest = max(t for tr in fig["data"] for t in tr["x"])
    assert longest == pytest.approx(27 * 24 + 23, abs=24)
    assert "2,000 of 6,000 trades" in fig["layout"]["title"]["text"]
    few = charts.hold_scatter(trades[:10])
    assert sum(len(t["x"]) for t in few["data"]) == 10
    assert "of" not in few["layout"]["title"]["text"]
