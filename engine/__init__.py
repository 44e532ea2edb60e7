"""Trading core, split by domain (one package per concept; see each package's docstring for
what it owns and what it may import, which ``tests/test_architecture.py`` holds):

``data`` → ``indicators`` → ``strategy`` → ``backtest``; ``storage``; ``live``; ``api``;
``platform`` (settings, launcher, wiring) on top; ``errors`` and ``cli`` at the root.

This package never imports dash, flask or rq.
"""
