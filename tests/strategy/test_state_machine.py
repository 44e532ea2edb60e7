"""State machine and fill rules (DESIGN.md), checked with scripted strategies on built bars.

A scripted strategy returns, per bar number, the action the test put in its script, so every
expected price below follows from the bars and the rules, not from running the engine.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.backtest.run import run_backtest
from engine.data.bars import BarSeries
from engine.errors import InvalidTransitionError, StrategyError
from engine.strategy.fills import SimConfig
from engine.strategy.instance import StrategySource
from engine.strategy.state_machine import State, Trigger, next_state

DAY = 86_400_000
T0 = 1_700_000_000_000 // DAY * DAY


def bars(rows: list[tuple[float, float, float, float]], spread: float = 0.0) -> BarSeries:
    """Daily bars from (open, high, low, close) rows; bar k (1-based) opens at T0 + (k-1) days."""
    a = np.array(rows, dtype=float)
    close = a[:, 3]
    return BarSeries.from_arrays(
        symbol="TEST",
        timeframe="1d",
        timestamp=T0 + np.arange(len(rows), dtype=np.int64) * DAY,
        open=a[:, 0],
        high=a[:, 1],
        low=a[:, 2],
        close=close,
        volume=np.full(len(rows), 1000.0),
        bid=close - spread / 2,
        ask=close + spread / 2,
    )


def scripted(script: dict[int, str], fn: str = "any") -> StrategySource:
    """A strategy that returns ``script[bar]`` (Lua table source) on that 1-based bar."""
    entries = ",\n".join(f"[{bar}] = {action}" for bar, action in script.items())
    code = f"""
local script = {{
{entries}
}}
local T0, DAY = {T0}, {DAY}
local function act(market_data)
  local bar = (market_data.timestamp - T0) // DAY + 1
  return script[bar]
end
function detect_opportunity(m, c, i, p) return act(m) end
function filter_commitment(m, c, i, p) return act(m) end
function manage_position(m, c, i, p) return act(m) end
"""
    return StrategySource.from_code(code, "scripted.lua")


FLAT = [(100.0, 101.0, 99.0, 100.0)] * 8


def run(source, series, **config):
    return run_backtest(source, series, config=SimConfig(**config))


def test_opportunity_then_commit_takes_effect_next_bar():
    s = scripted({2: '{signal = "x"}', 3: '{action = "enter_long", quantity = 2}'})
    result = run(s, bars(FLAT))
    trade = result.trades[0]
    assert trade.entry_bar == 3 and trade.entry_price == 100.0 and trade.quantity == 2
    assert trade.exit_reason == "end_of_data" and trade.exit_bar == 8


def test_transitions_are_recorded_with_bar_time_and_trigger():
    s = scripted(
        {
            2: '{signal = "x", reason = "seen"}',
            3: '{action = "enter_long"}',
            5: '{action = "exit", reason = "done"}',
        }
    )
    transitions = run(s, bars(FLAT)).runs[0].transitions
    assert [(t.bar, t.from_state, t.to_state, t.trigger) for t in transitions] == [
        (2, "Idle", "Analyzing", "opportunity"),
        (3, "Analyzing", "InPosition", "enter"),
        (5, "InPosition", "Idle", "signal"),
    ]
    assert transitions[0].time == T0 + DAY and transitions[0].reason == "seen"
    assert transitions[2].reason == "done"


def test_price_inside_bar_fills_there_else_at_close():
    rows = [(100, 110, 90, 105)] * 6
    inside = run(scripted({2: '{action = "enter_long", price = 95, quantity = 1}'}), bars(rows))
    outside = run(scripted({2: '{action = "enter_long", price = 80, quantity = 1}'}), bars(rows))
    assert inside.trades[0].entry_price == 95
    assert outside.trades[0].entry_price == 105


def test_next_open_fill_mode():
    rows = [(100, 101, 99, 100), (100, 101, 99, 100.5), (102, 103, 101, 102), (104, 105, 103, 104)]
    s = scripted({2: '{action = "enter_long", quantity = 1}'})
    trade = run(s, bars(rows), fill_mode="next_open").trades[0]
    assert (trade.entry_bar, trade.entry_price) == (3, 102)


def test_stop_loss_checked_from_next_bar_and_before_the_strategy():
    rows = [(100, 101, 99, 100), (100, 101, 90, 100), (100, 101, 94, 96), (96, 97, 95, 96)]
    # bar 2's low (90) would hit a 95 stop, but the position entered on bar 2 is checked from bar 3
    s = scripted(
        {
            2: '{action = "enter_long", quantity = 1, stop_loss = 95}',
            3: '{action = "exit", reason = "never reached"}',
        }
    )
    trade = run(s, bars(rows)).trades[0]
    assert (trade.exit_bar, trade.exit_price, trade.exit_reason) == (3, 95, "stop_loss")


def test_stop_first_when_stop_and_target_inside_one_bar():
    rows = [(100, 101, 99, 100), (100, 101, 99, 100), (100, 120, 80, 100)]
    s = scripted({2: '{action = "enter_long", quantity = 1, stop_loss = 90, take_profit = 110}'})
    trade = run(s, bars(rows)).trades[0]
    assert (trade.exit_price, trade.exit_reason) == (90, "stop_loss")


def test_gap_through_stop_fills_at_open_and_gap_through_target_too():
    rows = [(100, 101, 99, 100), (100, 101, 99, 100), (85, 86, 80, 82)]
    s = scripted({2: '{action = "enter_long", quantity = 1, stop_loss = 90}'})
    assert run(s, bars(rows)).trades[0].exit_price == 85
    rows_up = [(100, 101, 99, 100), (100, 101, 99, 100), (115, 118, 114, 116)]
    t = scripted({2: '{action = "enter_long", quantity = 1, take_profit = 110}'})
    trade = run(t, bars(rows_up)).trades[0]
    assert (trade.exit_price, trade.exit_reason) == (115, "take_profit")


def test_short_position_pnl_and_stop_above():
    rows = [(100, 101, 99, 100), (100, 101, 99, 100), (100, 112, 95, 98)]
    s = scripted({2: '{action = "enter_short", quantity = 3, stop_loss = 110}'})
    trade = run(s, bars(rows)).trades[0]
    assert trade.side == "short" and trade.exit_price == 110
    assert trade.pnl == pytest.approx((110 - 100) * 3 * -1)


def test_commission_and_fixed_slippage():
    rows = [(100, 101, 99, 100)] * 4
    s = scripted({2: '{action = "enter_long", quantity = 2}', 3: '{action = "exit"}'})
    trade = run(s, bars(rows), commission_rate=0.001, slippage_bps=10).trades[0]
    entry, exit_ = 100 * 1.001, 100 * 0.999
    assert trade.entry_price == pytest.approx(entry)
    assert trade.exit_price == pytest.approx(exit_)
    fees = (entry + exit_) * 2 * 0.001
    assert trade.pnl == pytest.approx((exit_ - entry) * 2 - fees)
    assert trade.pnl_pct == pytest.approx(trade.pnl / (entry * 2) * 100)


def test_spread_slippage_model_pays_half_the_spread():
    rows = [(100, 101, 99, 100)] * 4
    s = scripted({2: '{action = "enter_long", quantity = 1}', 3: '{action = "exit"}'})
    trade = run(s, bars(rows, spread=0.5), slippage_model="spread").trades[0]
    assert trade.entry_price == pytest.approx(100.25)
    assert trade.exit_price == pytest.approx(99.75)


def test_update_stop_and_target():
    rows = [(100, 101, 99, 100)] * 3 + [(100, 104, 99.5, 103), (103, 104, 98, 99)]
    s = scripted(
        {
            2: '{action = "enter_long", quantity = 1}',
            3: '{action = "update_stop_loss", new_stop = 99.2}',
            4: '{action = "update_take_profit", new_target = 150}',
        }
    )
    trade = run(s, bars(rows)).trades[0]
    assert (trade.exit_bar, trade.exit_price, trade.exit_reason) == (5, 99.2, "stop_loss")


def test_analyzing_bar_limit_returns_to_idle():
    s = scripted({1: '{signal = "maybe"}'})
    result = run(s, bars(FLAT), max_analyzing_bars=3)
    assert result.trades == []
    transitions = result.runs[0].transitions
    assert [(t.bar, t.trigger) for t in transitions] == [
        (1, "opportunity"),
        (4, "analysis_timeout"),
    ]


def test_mfe_mae_and_bars_held():
    rows = [
        (100, 101, 99, 100),
        (100, 101, 99, 100),
        (100, 108, 97, 104),
        (104, 106, 95, 100),
        (100, 101, 99, 100),
    ]
    s = scripted({2: '{action = "enter_long", quantity = 2}', 5: '{action = "exit"}'})
    trade = run(s, bars(rows)).trades[0]
    assert trade.mfe == pytest.approx((108 - 100) * 2)
    assert trade.mae == pytest.approx((95 - 100) * 2)
    assert trade.bars_held == 3


def test_equity_curve_is_capital_plus_realized_plus_unrealized():
    rows = [
        (100, 101, 99, 100),
        (100, 101, 99, 100),
        (100, 106, 99, 105),
        (105, 106, 99, 102),
        (102, 103, 101, 102),
    ]
    s = scripted({2: '{action = "enter_long", quantity = 10}', 4: '{action = "exit"}'})
    result = run(s, bars(rows), initial_capital=1000)
    equity = result.runs[0].equity
    assert equity.tolist() == pytest.approx([1000, 1000, 1050, 1020, 1020])


@pytest.mark.parametrize(
    ("action", "needle"),
    [
        ('{action = "buy"}', "unknown action 'buy'"),
        (
            '{action = "enter_long", quantity = "2"}',
            "field 'quantity' = string; it must be a number",
        ),
        ('{action = "enter_long", stop = 90}', "unknown field 'stop'"),
        ('{action = "enter_long", quantity = -1}', "quantity = -1"),
        ('{action = "enter_long", quantity = 0/0}', "finite number"),
        ('{action = "enter_long", stop_loss = 120}', "stop_loss 120 is on the wrong side"),
        ('"enter"', "must return a table or nil, got a string"),
    ],
)
def test_contract_violations_are_strategy_errors_naming_the_problem(action, needle):
    s = scripted({2: action})
    with pytest.raises(StrategyError) as info:
        run(s, bars(FLAT))
    assert needle in info.value.message
    assert info.value.file == "scripted.lua"
    assert info.value.line is not None


def test_update_stop_field_name_is_checked_in_position():
    s = scripted({2: '{action = "enter_long"}', 3: '{action = "update_stop_loss", stop = 1}'})
    with pytest.raises(StrategyError, match=r"unknown field 'stop'.*new_stop"):
        run(s, bars(FLAT))


def test_inapplicable_actions_are_ignored_not_fatal():
    s = scripted({2: '{action = "exit"}', 3: '{action = "cancel_analysis"}'})
    assert run(s, bars(FLAT)).trades == []


def test_python_transition_table_raises_on_invalid():
    assert next_state(State.IDLE, Trigger.OPPORTUNITY) is State.ANALYZING
    with pytest.raises(InvalidTransitionError):
        next_state(State.IDLE, Trigger.STOP_LOSS)


def test_result_json_has_the_seed_format():
    s = scripted({2: '{action = "enter_long", quantity = 1}', 4: '{action = "exit"}'})
    data = run(s, bars(FLAT)).to_dict()
    for key in (
        "backtest_id",
        "strategy",
        "symbol",
        "start_time",
        "end_time",
        "num_runs",
        "metrics",
        "runs",
        "trades",
        "equity",
        "timing",
        "bars",
    ):
        assert key in data
    trade = data["trades"][0]
    assert set(trade) >= {
        "run_id",
        "entry_time",
        "exit_time",
        "side",
        "entry_price",
        "exit_price",
        "quantity",
        "pnl",
        "pnl_pct",
        "exit_reason",
    }
    json.dumps(data)
