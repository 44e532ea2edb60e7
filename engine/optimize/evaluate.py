"""Run many parameter combinations of one strategy on one data set, fast.

:class:`ChunkEvaluator` loads nothing itself: it takes the bars once, packs them into the Lua
runtime once, and reuses that one runtime for every combination (``load()`` resets the
state machine and recompiles the strategy with the new params; the kernel keeps its
indicator tables). Each distinct indicator series is computed once with numpy
(:class:`CachedSeries`) and copied into Lua once. The decision log is off (nothing reads it),
so a combination costs its bar loop plus numpy metrics. The trades and metrics are the same
as :func:`engine.backtest.run.run_backtest` with the same params (a test holds them equal).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from engine.backtest.metrics import compute_metrics
from engine.backtest.report import json_safe
from engine.backtest.request import BacktestConfig
from engine.backtest.run import VectorizedSeries, equity_curve, pack_bars
from engine.data.bars import BarSeries
from engine.data.symbols import periods_per_year
from engine.strategy.instance import MAX_SERIES, StrategyInstance, StrategySource
from engine.strategy.trades import Trade

SERIES_HEADROOM = 8
"""A new runtime is made when the reused one holds ``MAX_SERIES - SERIES_HEADROOM`` series
(many distinct periods in one chunk); the numpy cache survives it."""


class CachedSeries(VectorizedSeries):
    """:class:`VectorizedSeries` that computes each (indicator, args) at most once."""

    def __init__(self, series: BarSeries) -> None:
        super().__init__(series)
        self._cache: dict[tuple[str, tuple[float, ...]], dict[str, np.ndarray]] = {}
        self.computed = 0

    def series(self, name: str, args: tuple[float, ...]) -> dict[str, np.ndarray]:
        """The cached outputs of ``name(args)``."""
        key = (name, args)
        found = self._cache.get(key)
        if found is None:
            found = super().series(name, args)
            self._cache[key] = found
            self.computed += 1
        return found


class ChunkEvaluator:
    """One strategy + one bar series; :meth:`evaluate` backtests one combination."""

    def __init__(self, config: BacktestConfig, series: BarSeries) -> None:
        self.config = config
        self.series = series
        self.source = StrategySource.from_code(config.strategy_code, config.strategy_file)
        self.sim = replace(config.sim_config(), decision_log_size=0)
        self.provider = CachedSeries(series)
        self.packed = pack_bars(series)
        self.per_year = periods_per_year(series.symbol, series.timestamp)
        self.runtimes = 0
        self._instance: StrategyInstance | None = None

    def use_series(self, series: BarSeries) -> None:
        """Evaluate on ``series`` from now on (same symbol and timeframe), keeping the Lua
        runtime: its cached indicator series are dropped and computed again from the new
        bars (the candle bootstrap runs every synthetic path this way)."""
        self.series = series
        self.provider = CachedSeries(series)
        self.packed = pack_bars(series)
        self.per_year = periods_per_year(series.symbol, series.timestamp)
        if self._instance is not None:
            self._instance.replace_bars(self.packed, self.provider)

    def _runtime(self, params: Mapping[str, int | float]) -> StrategyInstance:
        instance = self._instance
        if instance is None or len(instance.series_tables) >= MAX_SERIES - SERIES_HEADROOM:
            instance = StrategyInstance(
                self.source,
                symbol=self.series.symbol,
                timeframe=self.series.timeframe,
                config=self.sim,
                provider=self.provider,
                params=params,
            )
            instance.set_bars(self.packed)
            self._instance = instance
            self.runtimes += 1
            return instance
        instance.params = self.source.metadata.resolve_params(params)
        instance.load()
        return instance

    def run(self, params: Mapping[str, int | float]) -> tuple[list[Trade], np.ndarray]:
        """Trades and per-bar equity of one combination (``params`` over the config's)."""
        merged = {**self.config.params, **params}
        instance = self._runtime(merged)
        n = len(self.series)
        instance.run(1, n)
        instance.close_open("end_of_data", float(self.series.close[n - 1]))
        trades, _ = instance.results(0)
        cfg = self.sim
        equity = equity_curve(
            self.series.close, trades, 0, cfg.initial_capital, cfg.commission_rate
        )
        return trades, equity

    def measure(self, params: Mapping[str, int | float]) -> tuple[dict[str, Any], np.ndarray]:
        """JSON-safe metrics (plus ``seconds``) and the per-bar equity of one combination."""
        started = time.perf_counter()
        trades, equity = self.run(params)
        metrics = compute_metrics(
            self.series.timestamp,
            equity,
            trades,
            initial_capital=self.sim.initial_capital,
            periods_per_year=self.per_year,
            bars_in_position=sum(t.bars_held for t in trades),
        )
        out = json_safe(metrics.to_dict())
        assert isinstance(out, dict)
        out["seconds"] = round(time.perf_counter() - started, 6)
        return out, equity

    def evaluate(self, params: Mapping[str, int | float]) -> dict[str, Any]:
        """JSON-safe metrics of one combination (the backtest result's ``metrics``), plus
        ``seconds`` spent on it."""
        return self.measure(params)[0]
