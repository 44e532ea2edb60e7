"""Processes that die with their parent, and one launcher per data directory.

``die_with_parent()`` is a ``preexec_fn`` for ``subprocess.Popen``: the child asks Linux
(``prctl(PR_SET_PDEATHSIG, SIGKILL)``) to be killed when the process that started it dies, so
``kill -9`` of ``tradesim up`` leaves nothing running. ``DataDirLock`` is an ``flock`` on
``<data dir>/tradesim.lock`` holding the launcher's pid: a second launcher on the same data
directory is refused with that pid.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO

from engine.errors import ConfigError

PR_SET_PDEATHSIG = 1


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGKILL when this process dies (Linux; None
    elsewhere, where children are only stopped by a clean launcher exit)."""
    if not sys.platform.startswith("linux"):
        return None
    parent = os.getpid()
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)

    def preexec() -> None:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


class DataDirLock:
    """Exclusive, non-blocking ``flock`` on ``<data dir>/tradesim.lock`` (released on exit,
    also on kill -9, by the kernel)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "tradesim.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock and write our pid; ConfigError naming the holder's pid if taken."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise ConfigError(
                f"another `tradesim up` (pid {holder}) is running on data directory "
                f"{self.path.parent}; stop it first, or set TRADESIM_DATA_DIR to another folder"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        """Drop the lock (the file stays; its pid is stale until the next launcher)."""
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None
