"""Backtester API: progress, cancellation, randomized runs, parameter overrides."""

from __future__ import annotations

import pytest

from engine.backtest.run import CHUNK_BARS, run_backtest
from engine.data.simulated import generate_history
from engine.errors import BacktestCancelled, ConfigError
from engine.strategy.instance import StrategySource
from tests.conftest import EXAMPLES


@pytest.fixture(scope="module")
def series():
    return generate_history("ETHUSDT", "1m", CHUNK_BARS * 2 + 1000, seed=5)


@pytest.fixture(scope="module")
def ema():
    return StrategySource.from_file(EXAMPLES / "ema_crossover.lua")


def test_progress_reaches_one_in_chunks(series, ema):
    seen: list[float] = []
    run_backtest(ema, series, progress=lambda fraction, _label: seen.append(fraction))
    assert seen == sorted(seen) and len(seen) == 3 and seen[-1] == 1.0


def test_cancel_between_chunks(series, ema):
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) >= 2

    with pytest.raises(BacktestCancelled):
        run_backtest(ema, series, cancel=cancel)
    assert len(calls) == 2


def test_randomized_runs_are_seeded_and_independent(series, ema):
    a = run_backtest(ema, series, runs=5, duration_bars=5000, seed=3)
    b = run_backtest(ema, series, runs=5, duration_bars=5000, seed=3)
    c = run_backtest(ema, series, runs=5, duration_bars=5000, seed=4)
    starts = [r.start for r in a.runs]
    assert starts == [r.start for r in b.runs] != [r.start for r in c.runs]
    assert a.trades == b.trades
    for run in a.runs:
        assert all(run.start < t.entry_bar <= run.stop for t in run.trades)
        assert {t.run_id for t in run.trades} <= {run.run_id}
    profitable = sum(r.metrics.net_pnl > 0 for r in a.runs) / 5 * 100
    assert a.metrics["pct_profitable"] == pytest.approx(profitable)


def test_param_overrides_change_the_result(series, ema):
    default = run_backtest(ema, series)
    slower = run_backtest(ema, series, params={"fast": "20", "slow": "60"})
    assert slower.params == {"fast": 20, "slow": 60, "stop_pct": 0}
    assert len(slower.trades) < len(default.trades)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"runs": 0}, "runs must be >= 1"),
        ({"runs": 2}, "need a duration"),
        ({"runs": 2, "duration_bars": 10**9}, "choose a shorter duration"),
    ],
)
def test_bad_run_arguments(series, ema, kwargs, needle):
    with pytest.raises(ConfigError, match=needle):
        run_backtest(ema, series, **kwargs)
