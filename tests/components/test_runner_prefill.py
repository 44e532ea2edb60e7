"""The create-runner form's prefill from a link: good values kept as their kinds, bad ones
left out and named."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from components.runner_prefill import check_params, parse_params, prefill, runner_link

SPECS = [
    {"name": "fast", "default": 10, "minimum": 2, "maximum": 50, "kind": "int"},
    {"name": "stop_pct", "default": 0.0, "minimum": 0.0, "maximum": 20.0, "kind": "float"},
]


def test_params_as_json_or_name_value_pairs() -> None:
    assert parse_params('{"fast": 8, "stop_pct": 1.5}') == ({"fast": 8, "stop_pct": 1.5}, [])
    assert parse_params(" fast=8; stop_pct = 1.5,") == ({"fast": "8", "stop_pct": "1.5"}, [])
    assert parse_params(None) == ({}, []) and parse_params("  ") == ({}, [])
    assert parse_params("{oops") == ({}, ["params (not valid JSON)"])
    assert parse_params("[1, 2]") == (
        {},
        ["params item '[1' (use name=value)", "params item '2]' (use name=value)"],
    )
    assert parse_params("{}")[0] == {}
    values, problems = parse_params("fast=8,=3,slow")
    assert values == {"fast": "8"} and len(problems) == 2


def test_check_params_keeps_the_declared_valid_values_as_their_kinds() -> None:
    values, problems = check_params({"fast": 8.0, "stop_pct": 99, "nope": 1, "extra": "x"}, SPECS)
    assert values == {"fast": 8} and isinstance(values["fast"], int)
    assert len(problems) == 3
    assert any("stop_pct" in p and "maximum" in p for p in problems)
    assert "param nope (not declared by the strategy)" in problems
    values, problems = check_params({"fast": 8.5, "stop_pct": "2.5"}, SPECS)
    assert values == {"stop_pct": 2.5} and "whole number" in problems[0]
    assert check_params({"fast": True, "stop_pct": [1]}, SPECS)[0] == {}


def test_prefill_checks_every_value_and_never_raises() -> None:
    query = {
        "symbol": "btc/usdt",
        "timeframe": "1h",
        "window": "200",
        "params": '{"fast": 12, "stop_pct": 0}',
    }
    assert prefill(query, SPECS) == {
        "symbol": "BTCUSDT",
        "timeframe": "1h",
        "window": 200,
        "params": {"fast": 12, "stop_pct": 0.0},
        "ignored": [],
    }
    bad = prefill(
        {"symbol": "NOPE", "timeframe": "7m", "window": "1.5", "params": "fast=abc"}, SPECS
    )
    assert bad["symbol"] is bad["timeframe"] is bad["window"] is None and bad["params"] == {}
    assert len(bad["ignored"]) == 4 and "symbol 'NOPE' (not a listed symbol)" in bad["ignored"]
    assert prefill({"window": "1"}, SPECS)["window"] is None
    assert prefill({"window": "nan"}, SPECS)["window"] is None
    assert prefill({"params": "fast=3"}, None)["ignored"] == ["params (no strategy chosen)"]
    twice = prefill({"timeframe": ["4h", "1d"], "symbol": []}, SPECS)
    assert twice["timeframe"] == "4h" and twice["symbol"] is None and twice["ignored"] == []
    assert prefill({}, SPECS) == {
        "symbol": None,
        "timeframe": None,
        "window": None,
        "params": {},
        "ignored": [],
    }


def test_the_sweep_link_round_trips_through_the_prefill() -> None:
    backtest = {
        "strategy_file": "ema_crossover.lua",
        "data": {"symbol": "ETHUSDT", "timeframe": "4h"},
        "sim": {"window_size": 250},
        "params": {"fast": 10, "stop_pct": 0.0},
    }
    link = runner_link(backtest, {"fast": 16})
    parts = urlsplit(link)
    assert parts.path == "/"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query["create"] == "1" and query["strategy"] == "ema_crossover.lua"
    assert prefill(query, SPECS) == {
        "symbol": "ETHUSDT",
        "timeframe": "4h",
        "window": 250,
        "params": {"fast": 16, "stop_pct": 0.0},
        "ignored": [],
    }
