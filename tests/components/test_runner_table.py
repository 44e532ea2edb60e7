"""Runner Manager builders: grid rows, filters, summary, formatting and allowed actions."""

from __future__ import annotations

from typing import Any

from components.runner_format import allowed_actions, error_text, fmt_pnl, fmt_qty, pnl_class
from components.runner_table import (
    filter_options,
    filter_snapshots,
    grid_column_defs,
    runner_row,
    runner_rows,
    summarize,
)


def snap(runner_id: str, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "runner_id": runner_id,
        "symbol": "BTCUSDT",
        "timeframe": "1m",
        "strategy": "EMA Crossover",
        "status": "running",
        "error": None,
        "state": "Idle",
        "position": None,
        "last_bar": {"close": 42_000.0},
        "stats": {"total_pnl": 0.0},
        "uptime_s": 3_725.0,
    }
    return {**base, **over}


SNAPS = [
    snap("btc-ema", stats={"total_pnl": 12.345}),
    snap(
        "eth-rsi",
        symbol="ETHUSDT",
        strategy="RSI Mean Reversion",
        state="InPosition",
        position={"side": "long", "quantity": 4.4393, "entry_price": 2246.99},
        stats={"total_pnl": -25.5},
    ),
    snap("sol-bb", symbol="SOLUSDT", strategy="Bollinger", status="paused"),
    snap("aapl-macd", symbol="AAPL", strategy="MACD Cross", status="stopped", uptime_s=0.0),
    snap(
        "broken",
        symbol="ETHUSDT",
        status="error",
        error={"file": "user/broken.lua", "line": 7, "message": "attempt to index a nil value"},
    ),
]


def test_row_fields_and_formatting() -> None:
    row = runner_row(SNAPS[1], ack=5.0)
    assert row["runner_id"] == "eth-rsi" and row["status_label"] == "Running"
    assert row["position"] == "LONG 4.439 @ 2,246.99"
    assert (row["pnl"], row["pnl_text"], row["pnl_class"]) == (-25.5, "−25.50", "pnl-neg")
    assert row["uptime"] == "1h 02m" and row["ack"] == 5.0
    assert row["actions"] == ["view", "pause", "stop", "delete"]
    error_row = runner_row(SNAPS[4], offline=True)
    assert error_row["error"] == "user/broken.lua:7: attempt to index a nil value"
    assert error_row["actions"] == ["view", "start", "delete"] and error_row["offline"] is True
    assert runner_row(SNAPS[3])["uptime"] == "—"
    assert [r["runner_id"] for r in runner_rows(SNAPS, {"sol-bb": 1})] == [
        s["runner_id"] for s in SNAPS
    ]


def test_actions_make_sense_per_status() -> None:
    assert "pause" in allowed_actions("running") and "resume" not in allowed_actions("running")
    assert "resume" in allowed_actions("paused") and "pause" not in allowed_actions("paused")
    assert "stop" not in allowed_actions("stopped") and "start" in allowed_actions("stopped")
    assert "pause" not in allowed_actions("error")


def ids(found: list[Any]) -> list[str]:
    return [s["runner_id"] for s in found]


def test_filters_combine_and_search_matches_id_or_symbol() -> None:
    assert ids(filter_snapshots(SNAPS, symbols=["ETHUSDT"])) == ["eth-rsi", "broken"]
    assert ids(filter_snapshots(SNAPS, statuses=["paused", "error"])) == ["sol-bb", "broken"]
    assert ids(filter_snapshots(SNAPS, states=["InPosition"])) == ["eth-rsi"]
    assert ids(filter_snapshots(SNAPS, strategies=["MACD Cross"])) == ["aapl-macd"]
    assert ids(filter_snapshots(SNAPS, search="aapl")) == ["aapl-macd"]
    assert ids(filter_snapshots(SNAPS, search=" ETHusdt ", statuses=["running"])) == ["eth-rsi"]
    assert filter_snapshots(SNAPS, search="nothing") == []
    assert filter_options(SNAPS) == (
        ["AAPL", "BTCUSDT", "ETHUSDT", "SOLUSDT"],
        ["Bollinger", "EMA Crossover", "MACD Cross", "RSI Mean Reversion"],
    )


def test_summary_counts_symbols_and_pnl() -> None:
    summary = summarize(SNAPS)
    assert {k: summary[k] for k in ("total", "running", "paused", "stopped", "error")} == {
        "total": 5,
        "running": 2,
        "paused": 1,
        "stopped": 1,
        "error": 1,
    }
    assert summary["symbols"] == ["BTCUSDT", "ETHUSDT"]  # only running runners are active
    assert round(summary["total_pnl"], 3) == -13.155


def test_columns_use_the_asset_renderers() -> None:
    renderers = {c["field"]: c.get("cellRenderer") for c in grid_column_defs()}
    assert renderers["status"] == "RunnerStatus"
    assert renderers["runner_id"] == "RunnerLink"
    assert renderers["actions"] == "RunnerActions"


def test_number_formats() -> None:
    assert fmt_pnl(0.001) == "0.00" and fmt_pnl(1234.5) == "+1,234.50"
    assert pnl_class(0.001) == "pnl-flat" and pnl_class(None) == "pnl-flat"
    assert fmt_qty(16129.03) == "16,129" and fmt_qty(0.023531) == "0.02353"
    assert error_text({"message": "boom"}) == "boom" and error_text(None) == ""
