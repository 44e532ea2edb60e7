"""Optimization and robustness.

Owns parameter spaces, sweeps (grid, random, Optuna TPE) with their objective and
constraints, the per-chunk evaluator that runs many combinations on one data set with one
reused Lua runtime, and Monte Carlo resampling of a backtest's trades.

May import: backtest, strategy, data, indicators, storage, errors, platform.settings,
platform.jobqueue. Never rq/dash/flask: the fan-out over RQ lives in ``jobs/sweep.py``.
"""
