"""Static validation of strategies: one broken fixture per check, the tokenizer's edge cases,
and the guarantees the editor relies on (never runs code, never raises, size guard)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from engine.strategy.lua_lexer import string_value, tokenize
from engine.strategy.validator import MAX_CODE_BYTES, Diagnostic, validate_strategy
from tests.conftest import LUA_FIXTURES

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "validator"
STRATEGIES = sorted((ROOT / "lua-strategies").rglob("*.lua"))

FUNCTIONS = """
function filter_commitment(market_data, context, indicators, position) return nil end
function manage_position(market_data, context, indicators, position) return nil end
"""


def check(code: str) -> list[Diagnostic]:
    """Errors and warnings only (infos are advice)."""
    return [d for d in validate_strategy(code) if d.severity != "info"]


def detect(body: str, header: str = "") -> str:
    """A valid strategy whose detect_opportunity has ``body``."""
    return (
        f"{header}function detect_opportunity(market_data, context, indicators, position)\n"
        f"{body}\n  return nil\nend\n{FUNCTIONS}"
    )


# fixture -> (severity, line, column, message substring) for every error and warning it gives
BROKEN = {
    "syntax_error.lua": [("error", 6, 31, "'then' expected near 'return'")],
    "missing_function.lua": [("error", 1, 1, "missing function `manage_position`")],
    "local_function.lua": [("error", 8, 7, "`filter_commitment` is declared `local`")],
    "unknown_indicator.lua": [("error", 5, 26, "`indicators.emaa`; did you mean `ema`?")],
    "indicator_field_called.lua": [("error", 4, 37, "`indicators.high` is a value")],
    "indicator_not_called.lua": [("error", 4, 26, "`indicators.rsi` is a function")],
    "context_fields.lua": [("warning", 2, 1, "`never_used` is declared in @context")],
    "nil_unchecked.lua": [("warning", 6, 15, "ema value `slow` may be nil during warm-up")],
    "nil_direct.lua": [("warning", 4, 6, "`indicators.rsi(...)` may be nil")],
    "nil_table.lua": [("warning", 4, 9, "macd value `m` may be nil")],
    "unknown_action.lua": [("error", 8, 22, 'unknown action "exti"; did you mean `exit`?')],
    "action_field.lua": [("error", 9, 42, "`stop` is not a field of update_stop_loss")],
    "action_field_type.lua": [("error", 8, 38, "`price` of exit must be a number")],
    "forbidden_global.lua": [("error", 4, 15, "`os` is not available in the strategy sandbox")],
    "string_dump.lua": [("error", 4, 17, "`string.dump` is not available")],
    "undeclared_param.lua": [("error", 6, 33, "`params.oversold` is not declared")],
    "param_problems.lua": [
        ("error", 2, 1, "bad @param syntax"),
        ("error", 3, 1, "the default 300 is outside 5..200"),
        ("error", 4, 1, "the minimum 5 is greater than the maximum 1"),
        ("error", 5, 1, "@param slow is declared twice (first on line 3)"),
    ],
}


@pytest.mark.parametrize("fixture", sorted(BROKEN))
def test_broken_fixture_gives_exactly_its_diagnostics(fixture: str) -> None:
    code = (FIXTURES / fixture).read_text("utf-8")
    found = check(code)
    assert [(d.severity, d.line, d.column) for d in found] == [e[:3] for e in BROKEN[fixture]]
    for diagnostic, (*_, text) in zip(found, BROKEN[fixture], strict=True):
        assert text in diagnostic.message


def test_every_fixture_is_covered() -> None:
    assert {p.name for p in FIXTURES.glob("*.lua")} == {*BROKEN, "clean.lua"}


def test_missing_function_message_says_how_to_fix() -> None:
    [d] = check((FIXTURES / "missing_function.lua").read_text("utf-8"))
    assert "function manage_position(market_data, context, indicators, position)" in d.message


def test_action_field_lists_the_allowed_fields() -> None:
    [d] = check((FIXTURES / "action_field.lua").read_text("utf-8"))
    assert "did you mean `new_stop`?" in d.message and "allowed: new_stop, reason" in d.message


def test_undeclared_context_field_is_info_at_its_first_use() -> None:
    found = validate_strategy((FIXTURES / "context_fields.lua").read_text("utf-8"))
    infos = [d for d in found if d.severity == "info"]
    assert [(d.line, d.column) for d in infos] == [(7, 11)]
    assert "`streak` is not declared in @context" in infos[0].message


@pytest.mark.parametrize("path", [FIXTURES / "clean.lua", *STRATEGIES], ids=lambda p: p.name)
def test_clean_strategies_give_no_errors_or_warnings(path: Path) -> None:
    assert check(path.read_text("utf-8")) == []


def test_clean_fixture_gives_nothing_at_all() -> None:
    assert validate_strategy((FIXTURES / "clean.lua").read_text("utf-8")) == []


# -- syntax ----------------------------------------------------------------------------------


def test_syntax_error_at_end_of_file_points_after_the_last_character() -> None:
    [d] = check(detect("  if market_data.close > 1 then") + "x = 1 +")
    assert d.line == 8 and d.column == 8 and "near <eof>" in d.message


def test_unfinished_string_points_at_the_string() -> None:
    [d] = check(detect('  local s = "abc'))
    assert (d.line, d.column) == (2, 13) and "unfinished string" in d.message


def test_unreadable_character_points_at_the_character() -> None:
    [d] = check(detect("  local s = 1 € 2"))
    assert (d.line, d.column) == (2, 15) and "unexpected symbol" in d.message


def test_unclosed_block_does_not_also_report_the_functions_after_it_as_missing() -> None:
    [d] = check(detect("  if market_data.close > 1 then\n    log(1)"))
    assert "'end' expected" in d.message


def test_required_function_defined_inside_another_function() -> None:
    code = detect("").replace(
        "function manage_position", "function setup()\nfunction manage_position"
    )
    [d] = check(code + "end\n")
    assert (d.line, d.column) == (8, 1) and "defined inside another function" in d.message


def test_required_functions_defined_in_a_top_level_block_or_by_assignment_are_found() -> None:
    code = detect("").replace("function manage_position(", "do manage_position = function(")
    assert check(code + "end\n") == []


def test_compiling_never_runs_the_code() -> None:
    code = "while true do end\n" + detect("")
    assert check(code) == []


def test_validation_works_on_other_threads() -> None:
    results: list[list[Diagnostic]] = []
    threads = [
        threading.Thread(target=lambda: results.append(check(detect("  if then"))))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [[d.line for d in r] for r in results] == [[2]] * 3


def test_code_over_the_size_limit_gives_one_error() -> None:
    code = detect("  -- " + "x" * MAX_CODE_BYTES)
    assert [(d.severity, d.line) for d in validate_strategy(code)] == [("error", 1)]
    assert "256 KiB" in validate_strategy(code)[0].message


@pytest.mark.parametrize(
    "code", ["", "\x00\x01", "x = [==[", "--[[", "'\\", "end end ) } ]", "{(" * 500, "€ @ $ !"]
)
def test_any_text_gives_diagnostics_without_raising(code: str) -> None:
    assert all(d.line >= 1 and d.column >= 1 for d in validate_strategy(code))


def test_diagnostics_are_sorted_and_json_able() -> None:
    found = validate_strategy(detect("  local x = indicators.nope(1)\n  os.exit()"))
    assert found == sorted(found, key=lambda d: (d.line, d.column))
    first = found[0]
    assert json.loads(json.dumps(first.to_dict())) == {
        "severity": "error",
        "line": 2,
        "column": 24,
        "message": first.message,
    }


# -- nil checks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "guard",
    [
        "if x == nil then return nil end",
        "if x ~= nil and x > 1 then return nil end",
        "if nil == x then return nil end",
        "if not x then return nil end",
        "if x then log(x + 1) end",
        "local y = x and x * 2",
        "local y = (x or 0) + 1",
        "if not (market_data and x) then return nil end",
        'if type(x) ~= "number" then return nil end',
    ],
)
def test_nil_guards_are_recognised(guard: str) -> None:
    assert check(detect(f"  local x = indicators.ema(10)\n  {guard}\n  log(x * 2)")) == []


def test_guard_may_come_before_the_assignment() -> None:
    code = detect("  local x\n  x = indicators.atr(14)\n  if x == nil then return nil end")
    assert check(code) == []


@pytest.mark.parametrize(
    "use",
    ["if x > 1 then return nil end", "local y = 2 * x or 0", "log(x.upper)"],
)
def test_uses_that_are_not_guards(use: str) -> None:
    [d] = check(detect(f"  local x = indicators.bollinger(20, 2)\n  {use}"))
    assert (d.severity, d.line) == ("warning", 2) and "bollinger value `x`" in d.message


def test_multiple_assignment_checks_each_name() -> None:
    body = "  local a, n, b = indicators.sma(5), 3, indicators.sma(10)\n  if a == nil then end"
    [d] = check(detect(body))
    assert "sma value `b`" in d.message and d.column == 15


@pytest.mark.parametrize(
    "expr", ["2 + indicators.atr(14)", "-indicators.atr(14)", "indicators.macd(1, 2, 3).macd"]
)
def test_direct_use_of_an_indicator_call_warns(expr: str) -> None:
    [d] = check(detect(f"  log({expr})"))
    assert d.severity == "warning" and "may be nil during warm-up" in d.message


def test_indicator_call_with_a_default_is_fine() -> None:
    assert check(detect("  local x = indicators.rsi(14) or 50\n  log(x < 30)")) == []


# -- globals, actions, declarations --------------------------------------------------------


def test_forbidden_names_that_are_locals_fields_or_table_keys_are_fine() -> None:
    body = "  local debug = true\n  local t = {os = 1, io = 2}\n  if debug then log(t.os, t.io) end"
    assert check(detect(body)) == []


@pytest.mark.parametrize("name", ["io", "require", "load", "dofile", "coroutine", "package"])
def test_each_forbidden_global_is_reported(name: str) -> None:
    [d] = check(detect(f"  log({name})"))
    assert d.line == 2 and f"`{name}` is not available in the strategy sandbox" in d.message


def test_action_assigned_to_a_field_is_checked() -> None:
    [d] = check(detect('  local r = {}\n  r.action = "enter_lng"'))
    assert d.line == 3 and "did you mean `enter_long`?" in d.message


def test_nested_tables_and_functions_do_not_leak_fields() -> None:
    body = (
        '  local r = {action = "exit", reason = "x", price = market_data.close,\n'
        "             extra = nil == {stop = 1}}"
    )
    [d] = check(detect(body))
    assert d.line == 3 and "`extra` is not a field of exit" in d.message


def test_params_in_brackets_are_checked() -> None:
    [d] = check(detect('  log(params["slow"])', header="-- @param fast 10 2..50\n"))
    assert (d.line, d.column) == (3, 14) and "`params.slow` is not declared" in d.message


def test_unknown_name_in_indicators_tag_warns() -> None:
    [d] = check(detect("", header="-- @indicators ema, rsii\n"))
    assert (d.severity, d.line) == ("warning", 1) and "did you mean `rsi`?" in d.message


def test_metadata_problems_become_diagnostics() -> None:
    found = validate_strategy(detect("", header="-- @risk extreme\n-- @version 2\n"))
    assert [(d.severity, d.line) for d in found] == [("warning", 1), ("info", 2)]


# -- tokenizer -------------------------------------------------------------------------------


def test_comment_markers_inside_strings_are_not_comments() -> None:
    tokens = tokenize("local s = \"a -- b\" .. 'c --[[ d' -- real comment\nx = 1")
    texts = [t.text for t in tokens]
    assert texts == ["local", "s", "=", '"a -- b"', "..", "'c --[[ d'", "x", "=", "1"]
    assert (tokens[6].line, tokens[6].column) == (2, 1)


def test_escaped_quotes_and_backslashes() -> None:
    tokens = tokenize(r"""a = "say \"hi\"" b = 'it\'s' c = "\\" d = "x\z
         y" e""")
    strings = [string_value(t) for t in tokens if t.kind == "string"]
    assert strings == [r"say \"hi\"", r"it\'s", "\\\\", "x\\z\n         y"]
    assert tokens[-1].text == "e" and tokens[-1].line == 2


def test_long_brackets_with_levels() -> None:
    code = "--[==[ comment ]] still ]==] s = [[a\n]] b]] t = [=[x]]y]=] u"
    tokens = tokenize(code)
    assert [t.text for t in tokens if t.kind == "name"] == ["s", "b", "t", "u"]
    strings = [string_value(t) for t in tokens if t.kind == "string"]
    assert strings == ["a\n", "x]]y"]
    assert tokens[-1].line == 2


def test_long_comment_spanning_lines_keeps_line_numbers() -> None:
    tokens = tokenize("--[[\nindicators.nope()\n]]\nx --[ not long\ny")
    assert [(t.text, t.line) for t in tokens] == [("x", 4), ("y", 5)]


def test_numbers() -> None:
    tokens = tokenize("0x1F 0xA.8p-1 3 3.0 .5 1e10 2.5E-3 7..8")
    assert [t.text for t in tokens] == [
        *("0x1F", "0xA.8p-1", "3", "3.0", ".5", "1e10", "2.5E-3", "7.", ".8"),
    ]
    assert {t.kind for t in tokens[:7]} == {"number"}


def test_keywords_operators_and_unterminated_input() -> None:
    tokens = tokenize("if a ~= b then x = a // 2 ... end 'open\n$ [[never closed")
    assert [t.kind for t in tokens[:3]] == ["keyword", "name", "op"]
    assert tokens[-3].text == "'open" and tokens[-2].kind == "error"
    assert string_value(tokens[-1]) == "never closed"


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("rep_empty_maxinteger", "`string.rep` with a huge count"),
        ("method_rep_maxinteger", "`string.rep` with a huge count"),
        ("table_move_huge", "`table.move` with a huge count"),
        ("toplevel_table_move", "`table.move` with a huge count"),
    ],
)
def test_c_call_bombs_are_warned_about(name, needle):
    code = (LUA_FIXTURES / "hostile" / f"{name}.lua").read_text()
    found = [d for d in validate_strategy(code, f"{name}.lua") if needle in d.message]
    assert [(d.severity, d.line) for d in found] == [("warning", 2 if "toplevel" in name else 3)]


def test_backtracking_pattern_is_warned_about_and_normal_calls_are_not():
    code = (
        'local a = ("x"):rep(10) .. string.rep("ab", 3, ",")\n'
        'local b = a:find("(%d+)%.(%d+)") or a:find(".-.-.-y")\n'
    )
    found = [d for d in validate_strategy(code) if "repetition items" in d.message]
    assert [(d.line, d.column) for d in found] == [(2, code.split("\n")[1].index('".-') + 1)]
    assert not [d for d in validate_strategy(code) if "huge count" in d.message]
