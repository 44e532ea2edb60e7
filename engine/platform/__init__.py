"""Platform wiring: the one ``Settings`` read from the environment, the embedded Redis server,
the ``tradesim up`` supervisor and the services the web process is handed.

Owns: settings, launcher, embedded Redis, service wiring.
May import: every other ``engine`` package (it sits on top and wires them together);
``settings`` and ``jobqueue`` alone may be imported by any package below (they import
nothing above ``engine.errors``).
"""
