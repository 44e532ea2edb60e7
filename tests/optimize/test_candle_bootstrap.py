"""Candle bootstrap: the paths equal a plain-loop reference with the same seeded draws, every
synthetic bar is valid OHLC, one reused Lua runtime gives what a fresh one per path gives,
the summary's percentiles are numpy's of the per-path results, same seed → same result."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.backtest.data_spec import load_series
from engine.backtest.request import parse_request
from engine.data.bars import BarSeries
from engine.errors import ConfigError
from engine.optimize.candle_bootstrap import run_bootstrap, synthetic_paths
from engine.optimize.evaluate import ChunkEvaluator
from engine.strategy.store import StrategyStore
from tests.conftest import ROOT

BODY = {
    "strategy": "ema_crossover",
    "symbol": "BTCUSDT",
    "timeframe": "1h",
    "source": "sim",
    "start": "2024-01-01",
    "end": "2024-02-15",
    "params": {"fast": 8, "slow": 30},
}


@pytest.fixture(scope="module")
def series() -> BarSeries:
    config = parse_request(BODY, strategies=StrategyStore(ROOT / "lua-strategies"))
    return load_series(config.data)


def reference(series: BarSeries, n: int, block: int, seed: int) -> list[dict[str, list[float]]]:
    """The paths bar by bar with plain Python floats and the same draws."""
    rng = np.random.default_rng(seed)
    close = [float(c) for c in series.close]
    returns = [math.log(close[t] / close[t - 1]) for t in range(1, len(close))]
    out = []
    for _ in range(n):
        starts = rng.integers(0, len(returns) - block + 1, size=math.ceil(len(returns) / block))
        sources = [0]
        for s in starts:
            for k in range(block):
                if len(sources) <= len(returns):
                    sources.append(int(s) + k + 1)
        level = close[0]
        path: dict[str, list[float]] = {n: [] for n in ("open", "high", "low", "close", "volume")}
        for t, src in enumerate(sources):
            if t:
                level *= math.exp(returns[src - 1])
            for name in ("open", "high", "low"):
                path[name].append(level * float(getattr(series, name)[src]) / close[src])
            path["close"].append(level)
            path["volume"].append(float(series.volume[src]))
        out.append(path)
    return out


@pytest.mark.parametrize("block", [1, 7, 60])
def test_paths_equal_a_plain_loop_and_are_valid_ohlc(series: BarSeries, block: int) -> None:
    got = list(synthetic_paths(series, 5, block, seed=11))
    want = reference(series, 5, block, seed=11)
    assert len(got) == 5
    for path, ref in zip(got, want, strict=True):
        assert len(path) == len(series)
        assert np.array_equal(path.timestamp, series.timestamp)
        assert path.close[0] == series.close[0]
        for name in ("open", "high", "low", "close"):
            assert np.allclose(getattr(path, name), ref[name], rtol=1e-11, atol=0), name
        assert list(path.volume) == ref["volume"]
        assert np.all(path.high >= np.maximum(path.open, path.close))
        assert np.all(path.low <= np.minimum(path.open, path.close))
        assert np.all(path.low > 0)
    assert not np.array_equal(got[0].close, got[1].close)
    # every drawn return is one of the original's (a resample, not a model)
    original = set(np.round(np.diff(np.log(series.close)), 12))
    assert set(np.round(np.diff(np.log(got[0].close)), 12)) <= original


def test_one_runtime_for_every_path_gives_what_fresh_runtimes_give(series: BarSeries) -> None:
    config = parse_request(BODY, strategies=StrategyStore(ROOT / "lua-strategies"))
    paths = list(synthetic_paths(series, 3, 24, seed=5))
    reused = ChunkEvaluator(config, series)
    first = reused.evaluate({})
    for path in paths:
        reused.use_series(path)
        fresh = ChunkEvaluator(config, path)
        one, two = reused.measure({}), fresh.measure({})
        one[0].pop("seconds"), two[0].pop("seconds")
        assert one[0] == two[0] and np.array_equal(one[1], two[1])
    assert reused.runtimes == 1
    reused.use_series(series)
    again = reused.evaluate({})
    first.pop("seconds"), again.pop("seconds")
    assert again == first


def test_summary_is_the_percentiles_of_the_per_path_backtests(series: BarSeries) -> None:
    config = parse_request(BODY, strategies=StrategyStore(ROOT / "lua-strategies"))
    seen: list[tuple[int, int]] = []
    result = run_bootstrap(
        config, series, paths=12, block=30, seed=3, progress=lambda d, t: seen.append((d, t))
    )
    assert seen == [(i, 12) for i in range(1, 13)]
    assert result["runtimes"] == 1
    finals, drawdowns = [], []
    for path in synthetic_paths(series, 12, 30, seed=3):
        metrics = ChunkEvaluator(config, path).evaluate({})
        finals.append(metrics["total_return_pct"])
        drawdowns.append(metrics["max_drawdown_pct"])
    for p in (5, 50, 95):
        assert result["final_return_pct"][f"p{p}"] == pytest.approx(np.percentile(finals, p))
        assert result["max_drawdown_pct"][f"p{p}"] == pytest.approx(np.percentile(drawdowns, p))
    assert result["probability_of_loss"] == sum(f < 0 for f in finals) / 12
    original = ChunkEvaluator(config, series).evaluate({})
    assert result["original"]["final_return_pct"] == original["total_return_pct"]
    assert result["original"]["trades"] == original["num_trades"]
    fan = result["fan"]
    assert fan["bar"][0] == 0 and fan["bar"][-1] == len(series) - 1
    assert fan["original"][0] == pytest.approx(result["capital"])
    low, high = fan["bands"]["p5"], fan["bands"]["p95"]
    assert all(a <= b for a, b in zip(low, high, strict=True))
    same = run_bootstrap(config, series, paths=12, block=30, seed=3)
    other = run_bootstrap(config, series, paths=12, block=30, seed=4)
    assert same == result
    assert other["final_return_pct"] != result["final_return_pct"]


def test_bad_arguments_say_what_to_change(series: BarSeries) -> None:
    for n, block, words in [(0, 60, "paths"), (1001, 60, "paths"), (5, 0, "block")]:
        with pytest.raises(ConfigError, match=words):
            next(synthetic_paths(series, n, block, seed=1))
    with pytest.raises(ConfigError, match=r"block must be 1\.\.1079"):
        next(synthetic_paths(series, 5, len(series), seed=1))
