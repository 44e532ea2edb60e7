"""Trading core: market data, indicators, sandboxed Lua strategies, state machine, backtests.

This package never imports dash, flask or rq.
"""
