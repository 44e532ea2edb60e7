"""The supervisor's status file: written by ``tradesim up`` (its pid, restarts per child),
read by ``/health`` (kept apart from the launcher so the API need not import it)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

STATUS_FILE = "supervisor.json"


def read_status(data_dir: Path) -> dict[str, Any] | None:
    """The launcher's status file (pid, restarts per child), or None without a running
    launcher (no file, or one left by a launcher that was killed)."""
    try:
        value: dict[str, Any] = json.loads((data_dir / STATUS_FILE).read_text())
        os.kill(int(value["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return value
