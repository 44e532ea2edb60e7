"""Technical indicators: one registry of vectorized computations (on ``ta`` where it is fast,
numpy where ``ta`` loops in Python) and their incremental (one bar at a time) twins.

Owns: the indicator registry, argument normalization, window fields.
May import: ``engine.errors`` and ``engine.data``.
"""
