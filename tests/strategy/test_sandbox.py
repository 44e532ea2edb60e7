"""Sandbox safety: hostile strategies are stopped with a clear StrategyError; the process lives.

CPU time per case is measured by benchmarks/bench_sandbox.py (target < 100 ms), not asserted here.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from engine.backtest.run import run_backtest
from engine.data.simulated import generate_history
from engine.errors import StrategyError, StrategyLimitError
from engine.strategy.instance import StrategySource
from tests.conftest import EXAMPLES, LUA_FIXTURES

HOSTILE = LUA_FIXTURES / "hostile"
BODY_LINE = 3  # each hostile body starts on line 3 of its fixture

#: (error class, message fragment, line): every error names a strategy line, limits included
#: (memory and deep recursion: the line the instruction hook last sampled in the strategy).
CASES: dict[str, tuple[type[StrategyError], str, int]] = {
    "os_execute": (StrategyError, "global 'os'", BODY_LINE),
    "io_open": (StrategyError, "global 'io'", BODY_LINE),
    "require_os": (StrategyError, "global 'require'", BODY_LINE),
    "load_with_env": (StrategyError, "global 'load'", BODY_LINE),
    "dofile": (StrategyError, "global 'dofile'", BODY_LINE),
    "string_rep_bomb": (StrategyError, "string.rep: result of 5.0e8 bytes exceeds", BODY_LINE),
    "table_bomb": (StrategyLimitError, "memory limit exceeded", BODY_LINE + 1),
    "infinite_loop": (StrategyLimitError, "instruction budget exceeded", BODY_LINE),
    "pcall_swallows_budget": (StrategyLimitError, "instruction budget exceeded", BODY_LINE),
    "deep_recursion": (StrategyLimitError, "memory limit exceeded", BODY_LINE),
    "python_object": (StrategyError, "global 'python'", BODY_LINE),
    "ffi": (StrategyError, "global 'require'", BODY_LINE),
    "debug_hook": (StrategyError, "global 'debug'", BODY_LINE),
    "string_dump": (StrategyError, "field 'dump'", BODY_LINE),
    "coroutine_escape": (StrategyError, "global 'coroutine'", BODY_LINE),
    "string_metatable": (StrategyError, "attempt to index a nil value", BODY_LINE),
    "gc_finalizer": (StrategyError, "__gc metamethods are not allowed", BODY_LINE),
    "collectgarbage": (StrategyError, "global 'collectgarbage'", BODY_LINE),
    "error_table": (StrategyError, "non-string value", BODY_LINE),
    "memory_in_pcall": (StrategyLimitError, "memory limit exceeded", BODY_LINE),
    "toplevel_loop": (StrategyLimitError, "instruction budget exceeded", 2),
    # single C calls the instruction budget cannot stop: the kernel's guards refuse them
    "rep_empty_maxinteger": (StrategyError, "string.rep: 9.2e18 repetitions exceed", BODY_LINE),
    "method_rep_maxinteger": (StrategyError, "string.rep: result of 1.8e19 bytes", BODY_LINE),
    "table_move_huge": (StrategyError, "table.move: 1.1e15 elements exceed", BODY_LINE),
    "pattern_lazy_backtracking": (StrategyError, "string.find: pattern '.-.-", BODY_LINE),
    "pattern_star_backtracking": (StrategyError, "on a 100000-byte subject", BODY_LINE),
    "pattern_balance_long": (StrategyError, "a subject of 200000 bytes exceeds", BODY_LINE),
    "toplevel_rep_empty": (StrategyError, "string.rep: 9.2e18 repetitions", 2),
    "toplevel_table_move": (StrategyError, "table.move: 1.1e15 elements", 2),
    "toplevel_pattern": (StrategyError, "matching steps (limit 3000000)", 2),
    "toplevel_pattern_star": (StrategyError, "string.find: pattern '(a*)*b'", 2),
    "toplevel_balance": (StrategyError, "100000-byte limit for pattern functions", 2),
}


@pytest.fixture(scope="module")
def series():
    return generate_history("BTCUSDT", "1h", 50, seed=3)


def test_corpus_is_complete():
    assert {p.stem for p in HOSTILE.glob("*.lua")} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_strategy_is_stopped_with_a_clear_error(name, series):
    kind, needle, line = CASES[name]
    source = StrategySource.from_file(HOSTILE / f"{name}.lua")
    with pytest.raises(StrategyError) as info:
        run_backtest(source, series)
    error = info.value
    assert isinstance(error, kind), f"{name}: {type(error).__name__}: {error}"
    assert needle in error.message
    assert error.file == f"{name}.lua"
    assert error.line == line, str(error)
    assert "<python>" not in error.message and "traceback" not in error.message


def test_process_survives_and_other_strategies_still_run(series):
    for name in sorted(CASES):
        with pytest.raises(StrategyError):
            run_backtest(StrategySource.from_file(HOSTILE / f"{name}.lua"), series)
    good = run_backtest(StrategySource.from_file(EXAMPLES / "ema_crossover.lua"), series)
    assert good.runs[0].equity.shape == (len(series),)
    assert Path("/tmp/tradesim-pwned").exists() is False


def test_syntax_error_names_file_and_line(series):
    code = "function detect_opportunity()\n  return {\nend\n"
    with pytest.raises(StrategyError) as info:
        run_backtest(StrategySource.from_code(code, "broken.lua"), series)
    assert info.value.line == 3 and info.value.message.startswith("syntax error")


def test_missing_function_is_reported(series):
    code = "function detect_opportunity() return nil end\n"
    with pytest.raises(StrategyError, match="missing function filter_commitment"):
        run_backtest(StrategySource.from_code(code, "partial.lua"), series)


def test_runtime_error_in_c_function_gets_the_strategy_line(series):
    code = (
        "function detect_opportunity(m)\n"
        "  local x = 1\n"
        "  return math.floor('abc')\n"
        "end\n"
        "function filter_commitment() end\nfunction manage_position() end\n"
    )
    with pytest.raises(StrategyError) as info:
        run_backtest(StrategySource.from_code(code, "c_error.lua"), series)
    assert info.value.line == 3 and "bad argument" in info.value.message


def test_unknown_indicator_and_bad_indicator_args(series):
    base = "function filter_commitment() end\nfunction manage_position() end\n"
    unknown = "function detect_opportunity(m, c, ind)\n  return ind.foo\nend\n" + base
    with pytest.raises(StrategyError, match="unknown indicator 'foo'") as info:
        run_backtest(StrategySource.from_code(unknown, "u.lua"), series)
    assert info.value.line == 2
    bad = "function detect_opportunity(m, c, ind)\n  local v = ind.ema(0)\n  return v\nend\n"
    with pytest.raises(StrategyError, match="ema") as info:
        run_backtest(StrategySource.from_code(bad + base, "b.lua"), series)
    assert info.value.line == 2
    # `return f(x)` is a tail call, which leaves no frame: the function's own line is named
    tail = "\nfunction detect_opportunity(m, c, ind)\n  return ind.ema(0)\nend\n" + base
    with pytest.raises(StrategyError, match="ema") as info:
        run_backtest(StrategySource.from_code(tail, "t.lua"), series)
    assert info.value.line == 2


def test_strategy_cannot_change_the_indicators_table_or_leak_globals(series):
    code = (
        "function detect_opportunity(m, c, ind)\n"
        "  ind.anything = 1\n"
        "end\n"
        "function filter_commitment() end\nfunction manage_position() end\n"
    )
    with pytest.raises(StrategyError, match="read-only"):
        run_backtest(StrategySource.from_code(code, "ro.lua"), series)


def test_log_and_math_available(series):
    code = (
        "function detect_opportunity(m, c, ind)\n"
        "  log('bar', m.close, math.max(1, 2), string.format('%.1f', 1.25), true, {})\n"
        "  c.count = (c.count or 0) + 1\n"
        "end\n"
        "function filter_commitment() end\nfunction manage_position() end\n"
    )
    result = run_backtest(StrategySource.from_code(code, "ok.lua"), series)
    assert np.all(result.runs[0].equity == 10_000)


def _run_top_level(code: str, series) -> None:
    body = "function detect_opportunity() end\nfunction filter_commitment() end\n"
    run_backtest(
        StrategySource.from_code(
            code + "\n" + body + "function manage_position() end\n", "guard.lua"
        ),
        series,
    )


@pytest.mark.parametrize(
    ("code", "needle"),
    [
        ('local s = table.concat({"a"}, "x", 1, 1 << 40)', "table.concat: 1.1e12 elements"),
        ('local s = table.concat({}, ("x"):rep(1000), 1, 100000)', "separators alone make"),
        (
            'local x = ("x"):rep(9 * 1024 * 1024); local s = string.format("%s%s", x, x)',
            "string.format: result of about 1.9e7 bytes",
        ),
        ('local s = ("a"):rep(3000):match("a*a*b")', "string.match: pattern 'a*a*b'"),
        ('for w in ("a"):rep(3000):gmatch("a-b") do end', "string.gmatch: pattern 'a-b'"),
        ('local s = ("a"):rep(3000):gsub("%ba", "")', "string.gsub: pattern '%ba'"),
        ('local s = ("a"):find(("a"):rep(1001))', "a pattern of 1001 bytes exceeds"),
    ],
)
def test_guards_name_the_function_and_the_limit(code, needle, series):
    with pytest.raises(StrategyError) as info:
        _run_top_level(code, series)
    assert needle in info.value.message and info.value.line == 1, info.value.message


def test_guarded_functions_still_work_within_the_limits(series):
    # results checked against Python's own string functions
    subject = "BTC/USDT 1h close=42000.5 " * 4  # 104 bytes: 104^3/6 steps for two repetitions
    code = (
        f'local s = "{subject}"\n'
        'assert(select(1, s:find("/")) == 4)\n'
        'assert(s:match("close=(%d+%.%d+)") == "42000.5")\n'
        f'assert(select(2, s:gsub("USDT", "USD")) == {subject.count("USDT")})\n'
        'local n = 0; for w in s:gmatch("%a+") do n = n + 1 end\n'
        f"assert(n == {len(re.findall('[A-Za-z]+', subject))})\n"
        'assert(string.format("%5.1f|%s", 3.14159, "x") == "  3.1|x")\n'
        'assert(table.concat({1, 2, 3}, ",") == "1,2,3")\n'
        'assert(#string.rep("ab", 1000, ",") == 2999)\n'
        "assert(select(2, table.move({1, 2, 3}, 1, 3, 2)) == nil)\n"
        'assert(("(()())"):rep(10):find("%b()") == 1)\n'
    )
    _run_top_level(code, series)
