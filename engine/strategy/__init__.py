"""Lua strategies: source + metadata, the sandboxed runtime and its trusted kernel
(``kernel.lua``: bar loop, state machine, fills), the state-machine table, the static
validator and the strategy file store.

Owns: everything that touches Lua, the fill rules (``fills.SimConfig``) the kernel applies and
the ``Trade`` records it produces.
May import: ``engine.errors``, ``engine.platform.settings``, ``engine.data``,
``engine.indicators``. Never ``engine.live`` or ``engine.backtest``.
"""
