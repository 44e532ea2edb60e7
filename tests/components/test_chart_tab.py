"""The chart tab's figure and its live tail: traces per indicator and pane, markers at the
signals, and a tail update that turns the figure into the full rebuild."""

from __future__ import annotations

import json
import math

from components.chart_tab import chart_figure, tail_update
from engine.data.simulated import generate_history
from engine.data.timeframes import Timeframe
from engine.setups.spec import parse_indicator

CALLS = [parse_indicator(t) for t in ("sma_20", "bollinger_20_2", "rsi_14", "macd")]


def _signal(n: int, time: int, side: str, price: float) -> dict:
    return {
        "id": n,
        "time": time,
        "signal": side,
        "strategy": "ema_crossover",
        "price": price,
        "confidence": 0.5 if side == "BUY" else None,
        "reason": "test",
        "indicators": {"sma(20)": 1.5},
    }


def test_figure_has_overlays_panes_volume_and_markers() -> None:
    series = generate_history("BTCUSDT", Timeframe.H1, 300, seed=1)
    signals = [
        _signal(1, int(series.timestamp[50]), "BUY", 100.0),
        _signal(2, int(series.timestamp[80]), "SELL", 110.0),
    ]
    figure, trace_map = chart_figure(series, CALLS, signals)
    names = [t.get("name") for t in figure["data"]]
    assert names[0] == "BTCUSDT" and names[-2:] == ["BUY", "SELL"]
    assert "sma(20)" in names and "bollinger(20, 2) upper" in names
    axes = {t["name"]: t.get("yaxis") for t in figure["data"] if t.get("name")}
    assert (
        axes["sma(20)"] == "y" and axes["rsi(14)"] == "y3" and axes["macd(12, 26, 9) macd"] == "y4"
    )
    assert "yaxis4" in figure["layout"] and "yaxis5" not in figure["layout"]
    buy, sell = figure["data"][-2:]
    assert buy["x"] == [signals[0]["time"]] and sell["y"] == [110.0]
    assert "confidence 0.50" in buy["hovertext"][0] and "confidence —" in sell["hovertext"][0]
    sma = figure["data"][trace_map[0][0]]["y"]
    expected = sum(series.close[:20]) / 20
    assert sma[18] is None and math.isclose(sma[19], expected, rel_tol=1e-9)


def test_a_tail_update_equals_the_full_rebuild() -> None:
    series = generate_history("ETHUSDT", Timeframe.H1, 400, seed=3)
    shown = series.slice(0, 395)
    before, trace_map = chart_figure(shown, CALLS)
    after, _ = chart_figure(series, CALLS)
    update = tail_update(series, CALLS, trace_map, len(shown))
    patched = json.loads(json.dumps(before))  # what the browser holds: no shared lists
    at = len(shown) - 1
    candle = patched["data"][0]
    candle["x"] += update["x"][1:]
    for key, values in update["candle"].items():
        candle[key][at] = values[0]
        candle[key] += values[1:]
    for index, values in update["traces"].items():
        trace = patched["data"][int(index)]
        trace["x"] += update["x"][1:]
        trace["y"][at] = values["y"][0]
        trace["y"] += values["y"][1:]
        if "color" in values:
            trace["marker"]["color"][at] = values["color"][0]
            trace["marker"]["color"] += values["color"][1:]
    for got, want in zip(patched["data"], after["data"], strict=True):
        for key in ("x", "y", "open", "close"):
            if key in want:
                assert got[key] == want[key], (want.get("name"), key)
