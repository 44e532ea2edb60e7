"""Backtests: running a strategy over a series (single and seeded randomized runs), metrics
over trades and equity, and the printable report.

Owns: ``run``, ``metrics``, ``metrics_trades``, ``report``.
May import: ``engine.errors``, ``engine.platform.settings``, ``engine.data``,
``engine.indicators``, ``engine.strategy``.
"""
