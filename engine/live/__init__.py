"""Live trading: the engine process, its runners and feeds, the Redis publisher and the client
that other processes use to talk to the engine.

Owns: ``TradingEngine``, ``LiveRunner``, feeds, Redis keys, publisher, ``EngineClient``.
May import: ``engine.errors``, ``engine.platform.settings``, ``engine.data``,
``engine.indicators``, ``engine.strategy``, ``engine.storage``. Never ``engine.backtest``
(the same kernel drives both) nor ``engine.api``.
"""
