"""Orders: the order model and lifecycle, the paper broker (fills against the live feed, the
paper account), risk limits and the kill switch.

Owns: ``model`` (order requests, validation, new orders), ``fills`` (when and at what price an
order fills on a tick or a bar), ``account`` (positions, cash, realized/unrealized P&L),
``risk`` (limit checks with the amount by which a limit is exceeded) and ``desk`` (the engine
side: commands, ticks and bars in, every change stored through ``storage.order_store``).

May import: ``data``, ``storage``, ``errors``, ``platform.settings``. ``live`` (the engine
process) imports this package and drives the desk; this package never imports ``live``.
"""
