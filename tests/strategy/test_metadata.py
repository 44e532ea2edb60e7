"""Strategy header parsing, parameter validation and header rewriting."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pytest

from engine.errors import ConfigError
from engine.strategy.metadata import (
    MetadataProblem,
    ParamSpec,
    StrategyMetadata,
    parse_metadata,
    render_header,
    replace_header,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "lua-strategies").rglob("*.lua"))

HEADER = """\
-- @name EMA Crossover
-- @description Long when the fast EMA crosses above the slow EMA
-- @author Trading System
-- @indicators ema, rsi
-- @context prev_fast,prev_slow
-- @symbols BTCUSDT,ETHUSDT
-- @risk low
-- @param fast 10 2..50
-- @param threshold 0.5 0.1..0.9
-- @param qty 1

function detect_opportunity() return nil end
"""


def parse(code: str) -> StrategyMetadata:
    meta, problems = parse_metadata(code)
    assert problems == []
    return meta


def test_full_header() -> None:
    meta = parse(HEADER)
    assert meta.name == "EMA Crossover"
    assert meta.description == "Long when the fast EMA crosses above the slow EMA"
    assert meta.author == "Trading System"
    assert meta.indicators == ("ema", "rsi")
    assert meta.context_fields == ("prev_fast", "prev_slow")
    assert meta.symbols == ("BTCUSDT", "ETHUSDT")
    assert meta.risk == "low"
    assert meta.params == (
        ParamSpec(name="fast", default=10, minimum=2, maximum=50, kind="int"),
        ParamSpec(name="threshold", default=0.5, minimum=0.1, maximum=0.9, kind="float"),
        ParamSpec(name="qty", default=1, kind="int"),
    )
    assert meta.tag_lines["context"] == 5 and meta.tag_lines["param"] == 8


def test_lists_accept_commas_and_spaces() -> None:
    meta = parse("-- @indicators ema,rsi ,  atr macd\n--@symbols  BTCUSDT , ETHUSDT,\n")
    assert meta.indicators == ("ema", "rsi", "atr", "macd")
    assert meta.symbols == ("BTCUSDT", "ETHUSDT")


def test_param_kinds_and_signs() -> None:
    meta = parse("-- @param a 1.0 0..2\n-- @param b -5 -10..10\n-- @param c 1e-3 0 .. 1\n")
    a, b, c = meta.params
    assert (a.kind, type(a.default), type(a.minimum)) == ("float", float, float)
    assert (b.kind, b.default, b.minimum) == ("int", -5, -10)
    assert (c.kind, c.default, c.maximum) == ("float", 0.001, 1.0)


def test_missing_tags_have_empty_defaults() -> None:
    meta = parse("function detect_opportunity() end\n")
    assert meta == StrategyMetadata()
    assert (meta.name, meta.risk, meta.params) == ("", None, ())


def test_empty_tags_as_in_the_template() -> None:
    meta = parse("-- @author\n-- @context\n-- @name   Spaced   out  \n")
    assert (meta.author, meta.context_fields, meta.name) == ("", (), "Spaced   out")


def test_header_ends_at_the_first_code_line_or_long_comment() -> None:
    meta = parse("-- @name A\n\n-- notes\nx = 1\n-- @name B\n-- @risk high\n")
    assert (meta.name, meta.risk) == ("A", None)
    meta = parse("-- @name A\n--[[\n-- @risk high\n]]\n")
    assert meta.risk is None


def test_problems_carry_lines_and_severities() -> None:
    code = (
        "-- @name P\n"
        "-- @param fast ten 2..50\n"
        "-- @param slow 300 5..200\n"
        "-- @param width 4 5..1\n"
        "-- @param slow 20 5..200\n"
        "-- @risk extreme\n"
        "-- @version 2\n"
        "-- @name Q\n"
    )
    meta, problems = parse_metadata(code)
    assert [(p.line, p.severity) for p in problems] == [
        (2, "error"),
        (3, "error"),
        (4, "error"),
        (5, "error"),
        (6, "warning"),
        (7, "info"),
        (8, "warning"),
    ]
    assert "bad @param syntax" in problems[0].message
    assert "default 300 is outside 5..200" in problems[1].message
    assert "minimum 5 is greater than the maximum 1" in problems[2].message
    assert "declared twice (first on line 3)" in problems[3].message
    assert "low, medium or high" in problems[4].message
    assert "unknown tag @version" in problems[5].message
    # readable params are kept (so params.slow exists), the first declaration wins
    assert [(p.name, p.default) for p in meta.params] == [("slow", 300), ("width", 4)]
    assert (meta.name, meta.risk) == ("P", None)


def test_problem_is_a_value() -> None:
    assert MetadataProblem(3, "x") == MetadataProblem(3, "x", "error")


# -- ParamSpec -------------------------------------------------------------------------------

FAST = parse(HEADER).params[0]
THRESHOLD = parse(HEADER).params[1]


def test_validate_returns_the_kind() -> None:
    assert FAST.validate(12) == 12 and type(FAST.validate("12")) is int
    assert FAST.validate(12.0) == 12 and type(FAST.validate(12.0)) is int
    assert THRESHOLD.validate("0.5") == 0.5 and type(THRESHOLD.validate(1 - 0.5)) is float
    assert FAST.validate(" 2 ") == 2 and FAST.validate(50) == 50


def test_validate_message_names_the_declaration() -> None:
    with pytest.raises(ConfigError) as err:
        FAST.validate(100)
    assert str(err.value) == (
        "param fast: 100 is above the maximum 50 (declared on line 8: '-- @param fast 10 2..50')"
    )
    with pytest.raises(ConfigError, match=r"param threshold: 0\.05 is below the minimum 0\.1"):
        THRESHOLD.validate("0.05")


@pytest.mark.parametrize("value", ["abc", "", "1,5", "nan", "inf", True, None, [1]])
def test_validate_rejects_non_numbers(value: object) -> None:
    with pytest.raises(ConfigError, match=r"param fast: .* not a"):
        FAST.validate(value)  # type: ignore[arg-type]


def test_validate_rejects_fractions_for_int_params() -> None:
    with pytest.raises(ConfigError, match=r"'2\.5' is not a whole number"):
        FAST.validate("2.5")


def test_spec_without_range_accepts_any_number() -> None:
    assert parse(HEADER).params[2].validate(-1e6) == -1000000


def test_spec_construction_is_checked() -> None:
    with pytest.raises(ConfigError):
        ParamSpec(name="x", default=1, minimum=0, kind="int")
    with pytest.raises(ConfigError):
        ParamSpec(name="x", default=1, kind="complex")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="whole number"):
        ParamSpec(name="x", default=1.5, kind="int")
    assert ParamSpec(name="x", default=1, kind="float").default == 1.0


def test_line_and_declaration_are_not_compared() -> None:
    assert ParamSpec(name="fast", default=10, minimum=2, maximum=50, kind="int") == FAST
    assert hash(parse(HEADER)) == hash(dataclasses.replace(parse(HEADER), tag_lines={}))


# -- StrategyMetadata ------------------------------------------------------------------------


def test_resolve_params_applies_validated_overrides() -> None:
    meta = parse(HEADER)
    assert meta.resolve_params({}) == {"fast": 10, "threshold": 0.5, "qty": 1}
    assert meta.resolve_params({"fast": "12", "threshold": "0.7"}) == {
        "fast": 12,
        "threshold": 0.7,
        "qty": 1,
    }
    with pytest.raises(ConfigError, match="above the maximum"):
        meta.resolve_params({"fast": 51})


def test_resolve_params_unknown_name_lists_declared_params() -> None:
    with pytest.raises(ConfigError) as err:
        parse(HEADER).resolve_params({"fsat": 3})
    assert str(err.value) == (
        "unknown param 'fsat'; did you mean 'fast'? declared params: fast, threshold, qty"
    )
    with pytest.raises(ConfigError, match="declared params: none"):
        StrategyMetadata().resolve_params({"x": 1})


def test_to_dict_is_json_able() -> None:
    data = json.loads(json.dumps(parse(HEADER).to_dict()))
    assert data["params"][0] == {
        "name": "fast",
        "default": 10,
        "minimum": 2,
        "maximum": 50,
        "kind": "int",
    }
    assert data["indicators"] == ["ema", "rsi"] and data["risk"] == "low"


# -- render_header / replace_header --------------------------------------------------------


def test_render_header_round_trips() -> None:
    meta = parse(HEADER)
    rendered = render_header(meta)
    assert rendered.splitlines()[0] == "-- @name EMA Crossover"
    assert "-- @param threshold 0.5 0.1..0.9\n" in rendered
    assert parse(rendered) == meta


def test_render_rejects_what_the_header_cannot_hold() -> None:
    for bad in (
        StrategyMetadata(context_fields=("two words",)),
        StrategyMetadata(risk="extreme"),
        StrategyMetadata(params=(FAST, FAST)),
    ):
        with pytest.raises(ConfigError):
            render_header(bad)


def test_replace_header_keeps_everything_else_byte_identical() -> None:
    code = (
        "-- Copyright notice\n"
        "-- @name Old\n"
        "-- a note between tags\n"
        "-- @param fast 10  2 .. 50\n"
        "-- @version 3\n"
        "-- @param slow 30 5..200\n"
        "\n"
        "function detect_opportunity() return nil end -- @name not a tag\n"
    )
    old = parse_metadata(code)[0]
    new = dataclasses.replace(
        old,
        name="New",
        params=(old.params[0], ParamSpec(name="k", default=0.5, kind="float")),
    )
    result = replace_header(code, new)
    assert result == (
        "-- Copyright notice\n"
        "-- @name New\n"
        "-- @param fast 10  2 .. 50\n"  # unchanged value: the original text is kept
        "-- @param k 0.5\n"
        "-- a note between tags\n"
        "-- @version 3\n"
        "\n"
        "function detect_opportunity() return nil end -- @name not a tag\n"
    )
    assert parse_metadata(result)[0] == new


def test_replace_header_without_tags_inserts_at_the_top() -> None:
    code = "function detect_opportunity() return nil end\n"
    result = replace_header(code, StrategyMetadata(name="X", risk="high"))
    assert result == "-- @name X\n-- @risk high\n\n" + code


def test_replace_header_keeps_crlf_line_endings() -> None:
    code = "-- @name A\r\n-- @risk low\r\nx = 1\r\n"
    result = replace_header(code, StrategyMetadata(name="B", risk="low"))
    assert result == "-- @name B\r\n-- @risk low\r\nx = 1\r\n"


def test_replace_header_with_an_unchanged_example_is_the_identity() -> None:
    for path in EXAMPLES:
        code = path.read_text("utf-8")
        assert replace_header(code, parse_metadata(code)[0]) == code, path.name


def _random_meta(rng: random.Random) -> StrategyMetadata:
    words = ["ema", "rsi", "prev_x", "BTCUSDT", "a_1", "Z"]
    text = ["", "Name", "Two words", "ünïcode — dash", "x -- y @z", "50% 2..3"]

    def spec(name: str) -> ParamSpec:
        kind = rng.choice(["int", "float"])
        values = sorted(rng.uniform(-100, 100) for _ in range(3))
        if kind == "int":
            values = [round(v) for v in values]
        lo, default, hi = values
        if rng.random() < 0.3:
            return ParamSpec(name=name, default=default, kind=kind)  # type: ignore[arg-type]
        return ParamSpec(name=name, default=default, minimum=lo, maximum=hi, kind=kind)  # type: ignore[arg-type]

    names = rng.sample(["fast", "slow", "k", "stop_pct", "n"], rng.randint(0, 5))
    return StrategyMetadata(
        name=rng.choice(text),
        description=rng.choice(text),
        author=rng.choice(text),
        indicators=tuple(rng.sample(words, rng.randint(0, 3))),
        context_fields=tuple(rng.sample(words, rng.randint(0, 3))),
        symbols=tuple(rng.sample(words, rng.randint(0, 3))),
        risk=rng.choice([None, "low", "medium", "high"]),
        params=tuple(spec(n) for n in names),
    )


@pytest.mark.parametrize("seed", range(5))
def test_replace_header_round_trip_property(seed: int) -> None:
    """parse(replace_header(code, m)) == m for random metadata and the example files."""
    rng = random.Random(seed)
    for path in EXAMPLES:
        code = path.read_text("utf-8")
        body = code[code.index("\nfunction") :]
        for _ in range(20):
            meta = _random_meta(rng)
            result = replace_header(code, meta)
            assert parse_metadata(result)[0] == meta
            assert result.endswith(body)
            assert parse_metadata(replace_header(result, meta))[0] == meta
