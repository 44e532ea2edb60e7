"""StrategyStore on a temporary copy of ``lua-strategies/``: names, kinds, templates,
resolve, atomic and serialized writes."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from engine.errors import ConfigError
from engine.strategy.metadata import parse_metadata
from engine.strategy.store import (
    MAX_CODE_BYTES,
    StrategyExists,
    StrategyNameError,
    StrategyNotFound,
    StrategyReadOnly,
    StrategyStore,
    StrategyTooLarge,
    check_name,
)

ROOT = Path(__file__).resolve().parents[2]
BAD_REFERENCES = (
    "../x",
    "user/../examples/ema_crossover.lua",
    "/etc/passwd",
    "templates/empty.lua",
    "examples/ema_crossover",
    "user/a/b.lua",
    "",
    "  ",
)
EXAMPLES = sorted(p.stem for p in (ROOT / "lua-strategies" / "examples").glob("*.lua"))


@pytest.fixture
def store(tmp_path: Path) -> StrategyStore:
    root = tmp_path / "lua-strategies"
    shutil.copytree(ROOT / "lua-strategies", root, ignore=shutil.ignore_patterns("user"))
    return StrategyStore(root)


def code_with(marker: str) -> str:
    empty = (ROOT / "lua-strategies" / "templates" / "empty.lua").read_text("utf-8")
    return empty + f"-- {marker}\n"


@pytest.mark.parametrize("name", ["a", "A1", "my_strategy-2", "x" * 64])
def test_valid_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name", ["", "1a", "_a", "-a", "a b", "a.b", "a/b", "../a", "a\\b", "x" * 65, "é", None, 3]
)
def test_invalid_names(name: object) -> None:
    with pytest.raises(StrategyNameError):
        check_name(name)


def test_list_examples_first_then_user(store: StrategyStore) -> None:
    assert not store.user_dir.exists()  # created on demand
    store.create("zeta", code=code_with("z"))
    store.create("Alpha", code=code_with("a"))
    infos = store.list()
    assert [i.name for i in infos] == [*EXAMPLES, "Alpha", "zeta"]
    assert {i.kind for i in infos[: len(EXAMPLES)]} == {"example"}
    assert infos[-1].path == "user/zeta.lua" and not infos[-1].read_only
    assert all(i.is_valid for i in infos)


def test_info_fields(store: StrategyStore) -> None:
    info, code = store.get("range_breakout")
    assert code.startswith("-- @name Range Breakout")
    assert info.title == "Range Breakout"
    assert info.path == "examples/range_breakout.lua"
    assert info.size == len(code.encode())
    assert {"high", "avg_volume", "atr"} <= set(info.indicators_used)
    assert info.context_fields == ["prev_high", "prev_low", "breakout_level"]
    assert info.params[0]["name"] == "volume_factor"
    assert info.to_dict()["read_only"] is True


def test_templates(store: StrategyStore) -> None:
    templates = store.templates()
    assert templates[0].id == "empty" and templates[0].title == "Empty"
    assert {t.id for t in templates} == {"empty", *EXAMPLES}
    assert store.template("macd_cross").title == "MACD Cross"
    with pytest.raises(StrategyNotFound, match="available: empty"):
        store.template("nope")


def test_create_from_template_renames_header(store: StrategyStore) -> None:
    info = store.create("trend", template="ema_crossover")
    _info, code = store.get("trend")
    meta, _ = parse_metadata(code)
    assert meta.name == "trend" and info.title == "trend"
    example = (store.examples_dir / "ema_crossover.lua").read_text("utf-8")
    assert code.split("\n")[1:] == example.split("\n")[1:]  # only the @name line changed


def test_create_conflicts(store: StrategyStore) -> None:
    store.create("mine", code=code_with("1"))
    with pytest.raises(StrategyExists, match="already exists"):
        store.create("mine", code=code_with("2"))
    with pytest.raises(StrategyExists, match="already exists"):
        store.create("MINE", code=code_with("2"))
    with pytest.raises(StrategyExists, match="example"):
        store.create("ema_crossover", code=code_with("2"))
    with pytest.raises(ConfigError, match="not both"):
        store.create("other", code="x", template="empty")
    assert store.get("mine")[1] == code_with("1")


def test_read_only_examples(store: StrategyStore) -> None:
    before = (store.examples_dir / "macd_cross.lua").read_bytes()
    with pytest.raises(StrategyReadOnly):
        store.update("macd_cross", code_with("x"))
    with pytest.raises(StrategyReadOnly):
        store.delete("macd_cross")
    assert (store.examples_dir / "macd_cross.lua").read_bytes() == before


def test_update_and_delete(store: StrategyStore) -> None:
    store.create("s1", code=code_with("1"))
    store.update("s1", code_with("2"))
    assert store.get("s1")[1] == code_with("2")
    store.delete("s1")
    with pytest.raises(StrategyNotFound):
        store.get("s1")
    with pytest.raises(StrategyNotFound):
        store.update("s1", code_with("3"))
    with pytest.raises(StrategyNotFound):
        store.delete("s1")


def test_size_limit(store: StrategyStore) -> None:
    big = "-" * (MAX_CODE_BYTES + 1)
    with pytest.raises(StrategyTooLarge, match="256 KiB"):
        store.create("big", code=big)
    store.create("fits", code="-" * MAX_CODE_BYTES)
    with pytest.raises(StrategyTooLarge):
        store.update("fits", big)


def test_unpaired_surrogate_is_refused(store: StrategyStore) -> None:
    with pytest.raises(ConfigError, match="UTF-8"):
        store.create("bad", code="-- \ud800\n")


def test_resolve(store: StrategyStore) -> None:
    store.create("mine", code=code_with("1"))
    example = store.examples_dir / "ema_crossover.lua"
    assert store.resolve("ema_crossover") == example
    assert store.resolve("ema_crossover.lua") == example
    assert store.resolve("examples/ema_crossover.lua") == example
    assert store.resolve("lua-strategies/examples/ema_crossover.lua") == example
    assert store.resolve("user/mine.lua") == store.user_dir / "mine.lua"
    assert store.resolve("mine") == store.user_dir / "mine.lua"
    assert store.relative_path("mine") == "user/mine.lua"
    for bad in BAD_REFERENCES:
        with pytest.raises(StrategyNameError):
            store.resolve(bad)
    for missing in ("nope", "user/ema_crossover.lua", "examples/mine.lua"):
        with pytest.raises(StrategyNotFound):
            store.resolve(missing)


def test_write_is_atomic_when_the_write_fails(
    store: StrategyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.create("safe", code=code_with("original"))

    def boom(_src: object, _dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        store.update("safe", code_with("new"))
    monkeypatch.undo()
    assert store.get("safe")[1] == code_with("original")
    assert sorted(p.name for p in store.user_dir.iterdir()) == [".lock", "safe.lua"]


def test_concurrent_updates_from_many_stores(store: StrategyStore) -> None:
    store.create("race", code=code_with("start"))
    bodies = [code_with(chr(65 + i) * 50_000) for i in range(8)]

    def save(body: str) -> None:
        local = StrategyStore(store.root)  # one store per request, as the API does
        for _ in range(5):
            local.update("race", body)

    threads = [threading.Thread(target=save, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get("race")[1] in bodies
    assert not [p for p in store.user_dir.iterdir() if p.suffix == ".tmp"]


def test_files_with_invalid_names_are_ignored(store: StrategyStore) -> None:
    store.user_dir.mkdir()
    (store.user_dir / "bad name.lua").write_text("-- x\n")
    (store.user_dir / ".hidden.lua").write_text("-- x\n")
    assert [i.kind for i in store.list()] == ["example"] * len(EXAMPLES)
