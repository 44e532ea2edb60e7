"""Technical indicators: one registry of vectorized computations (on ``ta`` where it is fast,
numpy where ``ta`` loops in Python, in ``vectorized``) and their incremental (one bar at a time)
twins (``incremental``, built from the O(1) streaming averages, sums and extremes of
``streaming``).

Owns: the indicator registry, argument normalization, window fields.
May import: ``engine.errors`` and ``engine.data``.
"""
