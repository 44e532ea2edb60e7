"""Create-runner form: options, the checks before the engine, mapping engine errors to fields."""

from __future__ import annotations

from components.runner_form import (
    check_runner_id,
    coerce_params,
    engine_error_field,
    make_param_inputs,
    param_id,
    suggest_runner_id,
    symbol_options,
    validate_form,
)

PARAMS = [
    {"name": "period", "default": 14, "minimum": 2, "maximum": 50, "kind": "int"},
    {"name": "stop_atr", "default": 2.0, "minimum": 0.5, "maximum": 6.0, "kind": "float"},
]
GOOD = {
    "runner_id": "eth-rsi",
    "symbol": "ETHUSDT",
    "strategy": "examples/rsi_mean_reversion.lua",
    "timeframe": "5m",
    "window_size": 100,
}


def test_symbols_grouped_by_category() -> None:
    options = symbol_options()
    headers = [o for o in options if o.get("disabled")]
    symbols = [o["value"] for o in options if not o.get("disabled")]
    assert len(headers) == 4 and len(symbols) == 18
    assert options[0]["value"] == "__group__Crypto majors" and options[1]["value"] == "BTCUSDT"
    assert symbols[-3:] == ["EURUSD", "GBPUSD", "USDJPY"]


def test_runner_id_rules() -> None:
    assert check_runner_id("btc-ema.v2_1") is None
    assert "letters, digits" in (check_runner_id("bad id!") or "")
    assert "letters, digits" in (check_runner_id("-starts-with-dash") or "")
    assert "Give the runner an id" in (check_runner_id("  ") or "")
    assert "already exists" in (check_runner_id("btc-ema", ["btc-ema"]) or "")


def test_validate_form_checks_every_field_and_param() -> None:
    assert validate_form(GOOD, PARAMS, {"period": 14, "stop_atr": 2.5}) == {}
    bad = {**GOOD, "symbol": None, "strategy": "", "timeframe": "2m", "window_size": 1}
    problems = validate_form(bad, PARAMS, {"period": 51, "stop_atr": None}, taken=["eth-rsi"])
    assert set(problems) == {
        "runner_id",
        "symbol",
        "strategy",
        "timeframe",
        "window_size",
        "param:period",
        "param:stop_atr",
    }
    assert "above the maximum 50" in problems["param:period"]
    assert (
        "whole number"
        in validate_form(GOOD, PARAMS, {"period": 7.5, "stop_atr": 1})["param:period"]
    )
    assert coerce_params(PARAMS, {"period": 20.0, "stop_atr": 3}) == {"period": 20, "stop_atr": 3.0}
    assert isinstance(coerce_params(PARAMS, {"period": 20.0, "stop_atr": 3})["period"], int)


def test_engine_errors_land_on_their_field() -> None:
    names = ["period", "stop_atr"]
    assert engine_error_field("conflict", "runner 'x' already exists", None, names) == "runner_id"
    assert (
        engine_error_field("validation", "param period: 99 is above the maximum 50", None, names)
        == "param:period"
    )
    assert engine_error_field("validation", "unknown symbol 'FOO': use one of", None, names) == (
        "symbol"
    )
    assert engine_error_field("validation", "window_size must be 2..10000", None, names) == (
        "window_size"
    )
    assert engine_error_field("strategy_error", "x.lua:3: syntax error", None, names) == "strategy"
    assert engine_error_field("validation", "something else", None, names) is None


def test_suggested_id_is_unique_and_param_inputs_carry_ranges() -> None:
    path = "examples/ema_crossover.lua"
    assert suggest_runner_id("BTCUSDT", path, []) == "btcusdt-ema_crossover"
    taken = ["btcusdt-ema_crossover", "btcusdt-ema_crossover-2"]
    assert suggest_runner_id("BTCUSDT", path, taken) == "btcusdt-ema_crossover-3"
    assert suggest_runner_id(None, path, []) == ""
    (row,) = make_param_inputs(PARAMS, {"period": 21})
    inputs = [col.children[1] for col in row.children]
    assert [i.id for i in inputs] == [param_id("period"), param_id("stop_atr")]
    assert (inputs[0].value, inputs[0].min, inputs[0].max, inputs[0].step) == (21, 2, 50, 1)
    assert (inputs[1].value, inputs[1].step) == (2.0, "any")
