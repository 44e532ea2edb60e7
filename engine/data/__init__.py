"""Market data: bars and series, timeframes, resampling, gaps, CSV files, the simulated market
and the curated symbols.

Owns: ``Bar``/``BarSeries``/``BarWindow``, timeframe arithmetic, CSV parsing, the seeded
simulated market, symbol specs, numpy filters, the candle store, trading sessions and gaps,
exchange history (ccxt) and the collection schedule.
May import: ``engine.errors``, ``engine.platform.settings``, ``engine.platform.jobqueue`` and
``engine.storage`` (tables and the database engine), nothing above it.
"""
