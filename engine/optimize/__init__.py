"""Optimization and robustness: parameter spaces, sweeps (grid, random, Optuna TPE), their
objective and constraints, and the per-chunk evaluator that runs many parameter combinations
on one data set with one reused Lua runtime; Monte Carlo resampling of a backtest's trades.

May import: backtest, strategy, data, indicators, storage, errors, platform.settings,
platform.jobqueue. Never rq/dash/flask: the fan-out over RQ lives in ``jobs/sweep.py``.
"""
