"""Platform wiring: the one ``Settings`` read from the environment, the embedded Redis server,
the ``tradesim up`` supervisor and the services the web process is handed.

Owns: settings, launcher, embedded Redis, service wiring.
May import: every other ``engine`` package (it sits on top and wires them together);
``settings`` alone may be imported by any package below (it imports only ``engine.errors``).
"""
