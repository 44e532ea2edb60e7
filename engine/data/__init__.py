"""Market data: bars and series, timeframes, resampling, gaps, CSV files, the simulated market
and the curated symbols.

Owns: ``Bar``/``BarSeries``/``BarWindow``, timeframe arithmetic, CSV parsing, the seeded
simulated market, symbol specs.
May import: ``engine.errors`` and ``engine.platform.settings`` only (nothing above it).
"""
