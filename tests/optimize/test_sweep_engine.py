"""Sweeps without RQ: the space, the objective, and the plan -> chunks -> gather steps on a
real migrated SQLite database; every combination checked against a single backtest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.backtest.execute import execute
from engine.errors import ConfigError
from engine.optimize.objective import Constraint, Objective
from engine.optimize.request import SweepConfig, parse_sweep
from engine.optimize.space import count, grid, parse_space, random_draws
from engine.optimize.sweep import gather, plan_batch, run_chunk
from engine.platform.settings import Settings
from engine.storage.db import make_engine
from engine.storage.sweep_store import SweepStore
from engine.strategy.instance import StrategySource
from engine.strategy.store import StrategyStore
from tests.conftest import EXAMPLES, ROOT

BASE = {
    "strategy": "ema_crossover",
    "symbol": "BTCUSDT",
    "timeframe": "1h",
    "source": "sim",
    "start": "2024-01-01",
    "end": "2024-03-01",
    "commission": 0.001,
}


@pytest.fixture
def store(tmp_path: Path) -> SweepStore:
    url = f"sqlite:///{tmp_path / 'sweeps.db'}"
    return SweepStore(make_engine(Settings(data_dir=tmp_path, redis_url=None, database_url=url)))


def config_of(**extra: Any) -> SweepConfig:
    return parse_sweep({**BASE, **extra}, strategies=StrategyStore(ROOT / "lua-strategies"))


def run_all(store: SweepStore, config: SweepConfig, sweep_id: str = "s1") -> list[dict]:
    """What the jobs do, in one process: plan, every chunk, gather (tpe: batch by batch)."""
    store.create(sweep_id, config.to_dict(), config.total)
    batch = 0
    while True:
        chunks = plan_batch(store, config, sweep_id, batch)
        first = store.first_chunk(sweep_id, batch)
        for chunk in range(first, first + chunks):
            run_chunk(store, config, sweep_id, chunk)
        if gather(store, config, sweep_id) != "next":
            break
        batch += 1
    return store.results(sweep_id)


def test_space_keeps_integers_and_checks_ranges() -> None:
    meta = StrategySource.from_file(EXAMPLES / "ema_crossover.lua").metadata
    space = parse_space(
        meta, {"fast": {"min": 4, "max": 12, "step": 4}, "slow": {"values": [30, 20]}}
    )
    assert [r.values for r in space] == [(4, 8, 12), (30, 20)]
    assert all(isinstance(v, int) for r in space for v in r.values)
    assert count(space) == 6
    assert grid(space)[:3] == [
        {"fast": 4, "slow": 30},
        {"fast": 4, "slow": 20},
        {"fast": 8, "slow": 30},
    ]
    code = "-- @param k 1.5 0.5..3.0\n" + EXAMPLES.joinpath("ema_crossover.lua").read_text()
    float_meta = StrategySource.from_code(code).metadata
    floats = parse_space(float_meta, {"k": {"min": 0.5, "max": 1.5, "step": 0.25}})
    assert floats[0].values == (0.5, 0.75, 1.0, 1.25, 1.5)
    with pytest.raises(ConfigError, match="needs a step"):
        parse_space(float_meta, {"k": {"min": 0.5, "max": 1}})
    for bad, words in [
        ({"fast": {"min": 1, "max": 10}}, "below the minimum"),
        ({"fast": {"min": 10, "max": 4}}, "below min"),
        ({"fast": {"min": 2, "max": 10, "step": 1.5}}, "whole step"),
        ({"nope": {"values": [1]}}, "unknown param"),
        ({"fast": {"values": [2.5]}}, "not a whole number"),
    ]:
        with pytest.raises(ConfigError, match=words):
            parse_space(meta, bad)


def test_grid_results_equal_single_backtests_exactly(store: SweepStore) -> None:
    config = config_of(
        space={"fast": {"values": [5, 8, 13]}, "slow": {"min": 20, "max": 40, "step": 10}},
        chunk_size=2,
    )
    rows = run_all(store, config)
    assert [r["params"] for r in rows] == grid(config.space)
    assert {r["chunk"] for r in rows} == {0, 1, 2, 3, 4}
    assert all(r["status"] == "ok" for r in rows)
    for row in rows:
        body = {**BASE, "params": row["params"]}
        single = execute(
            parse_sweep(
                {**body, "space": {"fast": {"values": [5]}}},
                strategies=StrategyStore(ROOT / "lua-strategies"),
            ).backtest,
            "ref",
        )["metrics"]
        got = {k: v for k, v in row["metrics"].items() if k != "seconds"}
        assert got == single, row["params"]
        assert row["objective"] == single["total_return_pct"]
    assert len({r["metrics"]["num_trades"] for r in rows}) > 1  # the params matter
    record = store.get("s1")
    assert record is not None and record.status == "finished"
    best = max(rows, key=lambda r: r["objective"])
    assert record.best is not None and record.best["combo_index"] == best["combo_index"]


def test_constraints_exclude_combinations_from_best(store: SweepStore) -> None:
    space = {"fast": {"values": [3, 5, 8, 13]}, "slow": {"values": [20, 60]}}
    free = run_all(store, config_of(space=space), "free")
    by_trades = sorted(free, key=lambda r: r["metrics"]["num_trades"])
    limit = by_trades[len(by_trades) // 2]["metrics"]["num_trades"]
    bound = run_all(
        store,
        config_of(space=space, constraints=[{"metric": "num_trades", "op": "<=", "value": limit}]),
        "bound",
    )
    feasible = [r for r in bound if r["metrics"]["num_trades"] <= limit]
    assert [r["feasible"] for r in bound] == [r["metrics"]["num_trades"] <= limit for r in bound]
    expected = max(feasible, key=lambda r: (r["objective"], -r["combo_index"]))
    record = store.get("bound")
    assert record is not None and record.best is not None
    assert record.best["combo_index"] == expected["combo_index"]
    assert record.best["metrics"]["num_trades"] <= limit
    objective = Objective("max_drawdown_pct", False, (Constraint("num_trades", ">=", 1e9),))
    assert objective.best(bound) is None  # nothing qualifies: no best at all


def test_random_is_reproducible_by_seed() -> None:
    meta = StrategySource.from_file(EXAMPLES / "ema_crossover.lua").metadata
    space = parse_space(meta, {"fast": {"min": 2, "max": 50}, "slow": {"min": 5, "max": 200}})
    first = random_draws(space, 30, seed=7)
    assert first == random_draws(space, 30, seed=7)
    assert first != random_draws(space, 30, seed=8)
    assert len({tuple(c.values()) for c in first}) == 30  # distinct
    assert all(2 <= c["fast"] <= 50 and 5 <= c["slow"] <= 200 for c in first)
    assert random_draws(space[:1], 100, seed=1) == grid(space[:1])  # n covers the grid


def test_tpe_is_reproducible_by_seed_and_uses_the_results(store: SweepStore) -> None:
    space = {"fast": {"min": 2, "max": 30}, "slow": {"min": 10, "max": 80, "step": 5}}
    one = run_all(store, config_of(space=space, method="tpe", trials=14, batch_size=7, seed=3), "a")
    two = run_all(store, config_of(space=space, method="tpe", trials=14, batch_size=7, seed=3), "b")
    other = run_all(
        store, config_of(space=space, method="tpe", trials=14, batch_size=7, seed=4), "c"
    )
    assert [r["params"] for r in one] == [r["params"] for r in two]
    assert [r["objective"] for r in one] == [r["objective"] for r in two]
    assert [r["params"] for r in one] != [r["params"] for r in other]
    assert len(one) == 14 and {r["batch"] for r in one} == {0, 1}
    assert all(isinstance(r["params"]["fast"], int) for r in one)
    assert all(r["params"]["slow"] % 5 == 0 for r in one)
    record = store.get("a")
    assert record is not None and record.status == "finished" and record.batches == 2


def test_bad_requests_name_the_field() -> None:
    for extra, words in [
        ({"space": {}}, "at least one param"),
        ({"space": {"fast": {"values": [5]}}, "method": "annealing"}, "method"),
        ({"space": {"fast": {"values": [5]}}, "method": "random", "trials": 0}, "trials"),
        ({"space": {"fast": {"values": [5]}}, "direction": "up"}, "direction"),
        (
            {
                "space": {"fast": {"values": [5]}},
                "constraints": [{"metric": "x", "op": "=", "value": 1}],
            },
            "op",
        ),
        (
            {
                "space": {
                    "fast": {"min": 2, "max": 50},
                    "slow": {"min": 5, "max": 200},
                    "stop_pct": {"min": 0, "max": 20},
                }
            },
            "combinations",
        ),
    ]:
        with pytest.raises(ConfigError, match=words):
            config_of(**extra)
