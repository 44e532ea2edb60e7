"""The logic log and closed-positions grids: row content, order, ids and classes."""

from __future__ import annotations

from components.runner_logs import (
    history_column_defs,
    history_rows,
    logic_column_defs,
    logic_rows,
    make_log_grid,
)

DECISIONS = [
    {
        "bar": 12,
        "time": 1_704_067_920_000,
        "price": 10.0,
        "state": "Analyzing",
        "function": "filter_commitment",
        "result": "enter_long",
        "to": "InPosition",
    },
    {
        "bar": 11,
        "time": 1_704_067_860_000,
        "price": 9.5,
        "state": "Idle",
        "function": "detect_opportunity",
        "result": "ok",
        "to": "Analyzing",
        "logs": ["rsi", 28.1],
    },
    {
        "bar": 10,
        "time": 1_704_067_800_000,
        "price": 9.25,
        "state": "Idle",
        "function": "detect_opportunity",
        "result": "nil",
        "to": "Idle",
    },
]


def test_logic_rows_keep_newest_first_and_mark_transitions() -> None:
    rows = logic_rows(DECISIONS, price_decimals=2)
    assert [r["bar"] for r in rows] == [12, 11, 10]
    assert rows[0]["transition"] == "Analyzing → InPosition" and rows[2]["transition"] == ""
    assert [r["result_class"] for r in rows] == ["res-enter", "res-other", "res-nil"]
    assert rows[1]["log"] == "rsi · 28.1" and rows[0]["time"] == "2024-01-01 00:12"
    assert rows[2]["price"] == "9.25"
    assert len({r["id"] for r in rows}) == 3
    assert {c["field"] for c in logic_column_defs()} >= {"bar", "function", "result", "transition"}


def test_history_rows() -> None:
    trade = {
        "side": "short",
        "entry_time": 0,
        "exit_time": 300_000,
        "entry_price": 100.0,
        "exit_price": 98.0,
        "quantity": 1.0,
        "pnl": 2.0,
        "pnl_pct": 2.0,
        "exit_reason": "take_profit",
        "bars_held": 5,
    }
    (row,) = history_rows([trade], "5m", 2)
    assert row["side"] == "SHORT" and row["prices"] == "100.00 → 98.00"
    assert row["pnl_text"] == "+2.00 (+2.00%)" and row["pnl_class"] == "pnl-pos"
    assert row["reason"] == "take profit" and row["held"] == "5 bars · 25m 00s"
    assert [c["field"] for c in history_column_defs()][:2] == ["exit", "side"]


def test_grid_keys_rows_by_id() -> None:
    grid = make_log_grid("g", logic_rows(DECISIONS, 2), logic_column_defs(), "nothing yet")
    assert grid.getRowId == "params.data.id"
    assert grid.dashGridOptions["localeText"]["noRowsToShow"] == "nothing yet"
