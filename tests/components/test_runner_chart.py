"""The runner chart figure: candles, resampling, overlays, oscillator, trade markers, SL/TP."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
import pytest

from components import runner_chart
from components.runner_chart import chart_timeframes
from components.runner_chart_traces import parse_call, strategy_indicators
from engine.indicators.registry import compute_indicator

T0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
MIN = 60_000


def make_bars(n: int = 120) -> list[dict[str, Any]]:
    rng = np.random.default_rng(7)
    close = 100 + np.cumsum(rng.normal(0, 0.5, n))
    bars = []
    for i, c in enumerate(close):
        o = c - rng.normal(0, 0.2)
        bars.append(
            {
                "time": T0 + i * MIN,
                "open": float(o),
                "high": float(max(o, c) + 0.3),
                "low": float(min(o, c) - 0.3),
                "close": float(c),
                "volume": float(10 + i),
            }
        )
    return bars


def runner_figure(bars: list[dict[str, Any]], **kw: Any) -> go.Figure:
    """The builder's dict, validated by Plotly (an invalid property raises here)."""
    return go.Figure(runner_chart.runner_figure(bars, **kw))


def traces(fig: Any, kind: str) -> list[Any]:
    return [t for t in fig.data if t.type == kind]


def named(fig: Any, name: str) -> Any:
    return next(t for t in fig.data if t.name == name)


def ms(values: Any) -> list[int]:
    return [int(v) for v in values]


TRADE = {
    "side": "long",
    "entry_time": T0 + 30 * MIN,
    "exit_time": T0 + 42 * MIN,
    "entry_price": 101.5,
    "exit_price": 103.25,
    "quantity": 2.0,
    "pnl": 3.5,
    "pnl_pct": 1.72,
    "exit_reason": "take_profit",
}
POSITION = {
    "side": "short",
    "entry_time": T0 + 100 * MIN,
    "entry_price": 99.0,
    "quantity": 1.0,
    "stop_loss": 101.0,
    "take_profit": 95.0,
}


def test_candles_volume_overlays_and_oscillator() -> None:
    bars = make_bars()
    fig = runner_figure(
        bars,
        symbol="BTCUSDT",
        base_timeframe="1m",
        overlays=["ema(10)", "bollinger(20, 2)"],
        oscillator="rsi(14)",
    )
    (candles,) = traces(fig, "candlestick")
    assert len(candles.x) == 120 and candles.close[-1] == pytest.approx(bars[-1]["close"])
    volume = next(t for t in traces(fig, "bar") if t.name == "volume")
    assert list(volume.y) == [b["volume"] for b in bars]
    assert volume.yaxis == "y2"
    ema = named(fig, "ema(10)")
    expected = compute_indicator("ema", {"close": np.array([b["close"] for b in bars])}, 10)
    np.testing.assert_allclose(np.asarray(ema.y, float), expected["value"], equal_nan=True)
    assert {"bollinger(20, 2) upper", "bollinger(20, 2) lower", "bollinger(20, 2) mid"} <= {
        t.name for t in fig.data
    }
    rsi = named(fig, "rsi(14)")
    assert rsi.yaxis == "y3"
    assert fig.layout.yaxis3.range == (0, 100)
    assert sorted(s.y0 for s in fig.layout.shapes) == [30, 70]
    assert fig.layout.template.layout.paper_bgcolor is not None  # plotly_dark
    assert fig.layout.paper_bgcolor == "#303030" and fig.layout.uirevision == "chart"


def test_macd_pane_and_no_oscillator() -> None:
    bars = make_bars()
    fig = runner_figure(bars, symbol="X", base_timeframe="1m", oscillator="macd(12, 26, 9)")
    assert {"MACD", "signal", "macd(12, 26, 9) hist"} <= {t.name for t in fig.data}
    flat = runner_figure(bars, symbol="X", base_timeframe="1m", oscillator=None)
    assert "yaxis3" not in flat.layout.to_plotly_json()


def test_resampled_to_a_larger_timeframe() -> None:
    bars = make_bars(60)
    fig = runner_figure(bars, symbol="X", base_timeframe="1m", timeframe="15m")
    (candles,) = traces(fig, "candlestick")
    assert len(candles.x) == 4
    first = bars[:15]
    assert candles.open[0] == pytest.approx(first[0]["open"])
    assert candles.high[0] == pytest.approx(max(b["high"] for b in first))
    assert candles.low[0] == pytest.approx(min(b["low"] for b in first))
    assert candles.close[0] == pytest.approx(first[-1]["close"])
    volume = named(fig, "volume")
    assert volume.y[0] == pytest.approx(sum(b["volume"] for b in first))


def test_markers_at_trade_times_with_hover_and_sl_tp_lines() -> None:
    old = {**TRADE, "entry_time": T0 - 50 * MIN, "exit_time": T0 - 40 * MIN}
    fig = runner_figure(
        make_bars(),
        symbol="BTCUSDT",
        base_timeframe="1m",
        trades=[TRADE, old],
        position=POSITION,
    )
    entries, exits = named(fig, "entries"), named(fig, "exits")
    assert ms(entries.x) == [TRADE["entry_time"], POSITION["entry_time"]]  # old trade: off chart
    assert list(entries.y) == [101.5, 99.0]
    assert list(entries.marker.symbol) == ["triangle-up", "triangle-down"]
    assert ms(exits.x) == [TRADE["exit_time"]] and list(exits.y) == [103.25]
    assert "P&L +3.50" in exits.hovertext[0] and "take_profit" in exits.hovertext[0]
    assert "Entry long" in entries.hovertext[0] and "open" in entries.hovertext[1]
    sl, tp = named(fig, "SL 101.00"), named(fig, "TP 95.00")
    assert list(sl.y) == [101.0, 101.0] and list(tp.y) == [95.0, 95.0]
    assert ms(sl.x)[0] == POSITION["entry_time"]


def test_markers_snap_to_resampled_candles() -> None:
    fig = runner_figure(
        make_bars(), symbol="X", base_timeframe="1m", timeframe="5m", trades=[TRADE]
    )
    assert ms(named(fig, "entries").x) == [T0 + 30 * MIN]
    assert ms(named(fig, "exits").x) == [T0 + 40 * MIN]
    no_position = runner_figure(make_bars(), symbol="X", base_timeframe="1m")
    assert not [t for t in no_position.data if str(t.name).startswith(("SL", "TP"))]


def test_empty_chart_says_it_waits() -> None:
    fig = runner_figure([], symbol="X", base_timeframe="1m", oscillator="rsi(14)")
    assert not fig.data and "Waiting for bars" in fig.layout.annotations[0].text


def test_indicator_keys_and_timeframes() -> None:
    assert parse_call("bollinger(20, 2).upper") == ("bollinger", (20.0, 2.0), "upper")
    assert parse_call("window.high") == ("window", (), "high")
    assert parse_call("nonsense(") is None
    keys = ["ema(10)", "ema(20)", "macd(12, 26, 9).histogram", "atr(14)", "window.high"]
    assert strategy_indicators(keys) == (["ema(10)", "ema(20)"], "macd(12, 26, 9)")
    assert strategy_indicators(["bollinger(20, 2).upper", "bollinger(20, 2).lower"]) == (
        ["bollinger(20, 2)"],
        None,
    )
    assert chart_timeframes("1h") == ["1h", "4h", "8h", "1d"]
