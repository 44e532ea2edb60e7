"""RQ job: the strategy editor's quick test (queue ``default``), with a hard time limit."""

from __future__ import annotations

import os
import signal
import threading
from typing import Any

from engine.backtest.quick_test import quick_test

QUEUE = "default"
TIMEOUT_S = 10


def quick_test_job(
    code: str, name: str, symbol: str, timeout_s: float = TIMEOUT_S
) -> dict[str, Any]:
    """Run :func:`engine.backtest.quick_test.quick_test`.

    RQ's own job timeout is an exception raised between Python bytecodes, which never comes
    while Lua is inside one C call; a watchdog thread (lupa releases the GIL while Lua runs)
    SIGKILLs the work-horse instead, and RQ marks the job failed.
    """
    watchdog = threading.Timer(timeout_s, os.kill, (os.getpid(), signal.SIGKILL))
    watchdog.daemon = True
    watchdog.start()
    try:
        return quick_test(code, name, symbol)
    finally:
        watchdog.cancel()
