"""Shared fixtures: paths to the real market data and seeded data builders."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
EXAMPLES = ROOT / "lua-strategies" / "examples"
LUA_FIXTURES = ROOT / "tests" / "fixtures" / "lua"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of the real CSV files (``../shared/data``); skips nothing: CI has it."""
    assert SHARED_DATA.is_dir(), f"expected the shared data folder at {SHARED_DATA}"
    return SHARED_DATA
