"""Walk-forward: folds never let an out-of-sample bar into their in-sample window (asserted
on timestamps), the best in-sample params are the grid's best, stitched OOS equity."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.backtest.data_spec import load_series
from engine.errors import ConfigError
from engine.optimize.evaluate import ChunkEvaluator
from engine.optimize.request import parse_sweep
from engine.optimize.walkforward import make_folds, walk_forward
from engine.strategy.store import StrategyStore
from tests.conftest import ROOT

BODY = {
    "strategy": "ema_crossover",
    "symbol": "ETHUSDT",
    "timeframe": "1h",
    "source": "sim",
    "start": "2024-01-01",
    "end": "2024-07-01",
    "space": {"fast": {"values": [5, 10, 20]}, "slow": {"values": [30, 60]}},
}


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


@pytest.mark.parametrize("mode", ["rolling", "anchored"])
def test_no_out_of_sample_bar_in_its_in_sample_window(mode: str) -> None:
    config = parse_sweep(BODY, strategies=StrategyStore(ROOT / "lua-strategies"))
    series = load_series(config.backtest.data)
    result = walk_forward(config, series, folds=4, mode=mode, is_ratio=2.0)
    rows = result["folds"]
    assert len(rows) == 4
    for i, row in enumerate(rows):
        assert ms(row["is_end"]) < ms(row["oos_start"])  # every IS bar before every OOS bar
        assert ms(row["oos_start"]) <= ms(row["oos_end"])
        if i:
            assert ms(rows[i - 1]["oos_end"]) < ms(row["oos_start"])  # OOS windows follow on
        if mode == "anchored":
            assert row["is_start"] == rows[0]["is_start"] and row["is_bars"] >= rows[0]["is_bars"]
        else:
            assert row["is_bars"] == rows[0]["is_bars"]
    # fold 1's choice is the in-sample grid's best (same evaluator, same objective)
    first = make_folds(len(series), 4, mode, 2.0)[0]
    evaluator = ChunkEvaluator(config.backtest, series.slice(first.is_start, first.is_stop))
    scores = {
        (p["fast"], p["slow"]): evaluator.evaluate(p)["total_return_pct"] for p in config.planned()
    }
    best = max(scores, key=lambda k: scores[k])
    assert (rows[0]["params"]["fast"], rows[0]["params"]["slow"]) == best
    assert rows[0]["in_sample"]["total_return_pct"] == scores[best]
    n_oos = sum(r["oos_bars"] for r in rows)
    assert len(result["equity"]["stitched"]) == min(n_oos, len(result["equity"]["time"]))
    assert result["equity"]["time"][-1] == rows[-1]["oos_end"]


def test_fold_checks() -> None:
    folds = make_folds(1000, 5, "rolling", 3.0)
    assert [(f.oos_start, f.oos_stop) for f in folds][:2] == [(375, 500), (500, 625)]
    assert folds[0].is_start == 0 and folds[1].is_start == 125
    with pytest.raises(ConfigError, match="fewer folds"):
        make_folds(100, 10, "rolling", 3.0)
    with pytest.raises(ConfigError, match="mode"):
        make_folds(1000, 3, "sideways", 3.0)
