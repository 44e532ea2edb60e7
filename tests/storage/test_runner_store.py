"""Storage layer on a real SQLite file (and PostgreSQL when TRADESIM_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import multiprocessing
import sys
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from engine.errors import ConfigError
from engine.platform.settings import Settings
from engine.storage.db import alembic_config, make_engine, migrate
from engine.storage.models import Base
from engine.storage.runner_store import POSITION_FIELDS, RunnerExists, RunnerRecord, RunnerStore


def sqlite_settings(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        redis_url=None,
        database_url=f"sqlite:///{data_dir / 'tradesim.db'}",
    )


def url_settings(tmp_path: Path, url: str) -> Settings:
    return Settings(data_dir=tmp_path, redis_url=None, database_url=url)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    db = make_engine(sqlite_settings(tmp_path))
    yield db
    db.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def any_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "sqlite":
        db = make_engine(sqlite_settings(tmp_path))
    else:
        db = make_engine(url_settings(tmp_path, request.getfixturevalue("postgres_url")))
    yield db
    db.dispose()


def runner(runner_id: str, /, **changes: Any) -> RunnerRecord:
    fields: dict[str, Any] = {
        "runner_id": runner_id,
        "symbol": "BTCUSDT",
        "timeframe": "1m",
        "strategy_path": "examples/ema_crossover.lua",
        "params": {"fast": 10, "slow": 20.5, "mode": "long", "levels": [1, 2]},
        "window_size": 100,
        "desired_status": "running",
    }
    fields.update(changes)
    return RunnerRecord(**fields)


def position(exit_time: int, pnl: float = 1.5) -> dict[str, Any]:
    return {
        "side": "long",
        "entry_time": exit_time - 60_000,
        "exit_time": exit_time,
        "entry_price": 100.0,
        "exit_price": 101.5,
        "quantity": 1.0,
        "pnl": pnl,
        "pnl_pct": 1.5,
        "commission": 0.2,
        "exit_reason": "signal",
        "bars_held": 1,
        "mfe": 2.0,
        "mae": -0.5,
    }


def head_revision() -> str:
    """The newest revision in engine/storage/migrations/versions."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from engine.storage.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def columns(db: sa.Engine, table: str) -> dict[str, sa.types.TypeEngine[object]]:
    return {col["name"]: col["type"] for col in sa.inspect(db).get_columns(table)}


# --- migrations ----------------------------------------------------------------------------


def test_migrate_on_fresh_database_creates_the_tables(engine: sa.Engine) -> None:
    inspector = sa.inspect(engine)
    assert {"alembic_version", "runners", "runner_trades", "feeds", "backtests"} <= set(
        inspector.get_table_names()
    )
    assert "closed_positions" not in inspector.get_table_names()
    assert list(columns(engine, "runners")) == [
        "runner_id",
        "symbol",
        "timeframe",
        "strategy_path",
        "params",
        "window_size",
        "desired_status",
        "created_at",
        "updated_at",
        "state",
        "strategy_code",
        "strategy_hash",
    ]
    assert list(columns(engine, "runner_trades")) == ["id", "runner_id", *POSITION_FIELDS]
    assert inspector.get_pk_constraint("runners")["constrained_columns"] == ["runner_id"]
    (fk,) = inspector.get_foreign_keys("runner_trades")
    assert (fk["referred_table"], fk["options"].get("ondelete")) == ("runners", "CASCADE")
    assert [ix["column_names"] for ix in inspector.get_indexes("runner_trades")] == [
        ["runner_id", "exit_time"]
    ]
    assert inspector.get_pk_constraint("feeds")["constrained_columns"] == ["symbol", "timeframe"]
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_revision() == head_revision()


def test_upgrade_from_0001_moves_closed_positions_to_runner_trades(tmp_path: Path) -> None:
    db = make_engine(sqlite_settings(tmp_path), migrate=False)
    with db.begin() as conn:
        command.upgrade(alembic_config(conn), "0001_runners")
    now = datetime.now(UTC)
    with db.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO runners (runner_id, symbol, timeframe, strategy_path, params, "
                "window_size, desired_status, created_at, updated_at, state) VALUES "
                "('old', 'BTCUSDT', '1m', 'examples/ema_crossover.lua', '{}', 100, 'running', "
                ":now, :now, NULL)"
            ),
            {"now": now},
        )
        names = ", ".join(POSITION_FIELDS)
        marks = ", ".join(f":{n}" for n in POSITION_FIELDS)
        for exit_time in (60_000, 120_000):
            conn.execute(
                sa.text(
                    f"INSERT INTO closed_positions (runner_id, {names}) VALUES ('old', {marks})"
                ),
                position(exit_time),
            )
    migrate(db)
    store = RunnerStore(db)
    assert store.closed_positions("old") == [position(120_000), position(60_000)]
    record = store.get("old")
    assert record is not None and record.strategy_code is None and record.strategy_hash is None
    assert "closed_positions" not in sa.inspect(db).get_table_names()
    with db.begin() as conn:
        command.downgrade(alembic_config(conn), "0001_runners")
    with db.begin() as conn:
        kept = conn.execute(sa.text("SELECT exit_time FROM closed_positions ORDER BY id")).all()
    assert kept == [(60_000,), (120_000,)]
    db.dispose()


def test_models_match_the_migrations(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_migrate_twice_changes_nothing(engine: sa.Engine) -> None:
    store = RunnerStore(engine)
    store.add(runner("kept"))
    before = store.get("kept")
    statements: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    migrate(engine)
    migrate(engine)
    sa.event.remove(engine, "before_cursor_execute", record)
    writes = [s for s in statements if s.split()[0].upper() not in {"SELECT", "PRAGMA"}]
    assert statements and writes == []
    assert before is not None and store.get("kept") == before


def test_downgrade_to_base_drops_the_tables(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "base")
    assert set(sa.inspect(engine).get_table_names()) == {"alembic_version"}
    migrate(engine)
    assert {"runners", "runner_trades", "feeds"} <= set(sa.inspect(engine).get_table_names())


def _start_process(settings: Settings, barrier: Barrier) -> None:
    barrier.wait(timeout=60)
    make_engine(settings).dispose()


def test_processes_starting_at_once_migrate_a_fresh_database_once(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    processes = [context.Process(target=_start_process, args=(settings, barrier)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [process.exitcode for process in processes] == [0, 0, 0, 0]
    db = make_engine(settings, migrate=False)
    with db.connect() as conn:
        versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
    db.dispose()
    assert versions == [(head_revision(),)]


# --- SQLite connection settings --------------------------------------------------------------


def test_sqlite_connections_use_wal_foreign_keys_and_busy_timeout(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout")
        }
    assert pragma == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 5000}


def test_default_url_creates_the_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "not" / "yet" / "there"
    settings = Settings.from_env({"TRADESIM_DATA_DIR": str(data_dir)})
    db = make_engine(settings)
    db.dispose()
    assert (data_dir / "tradesim.db").is_file()


def test_data_survives_a_new_engine(tmp_path: Path) -> None:
    first = make_engine(sqlite_settings(tmp_path))
    RunnerStore(first).add(runner("durable", state={"bars_processed": 7}))
    RunnerStore(first).add_closed_positions("durable", [position(120_000)])
    first.dispose()

    second = make_engine(sqlite_settings(tmp_path))
    store = RunnerStore(second)
    record = store.get("durable")
    assert record is not None and record.state == {"bars_processed": 7}
    assert store.closed_positions("durable") == [position(120_000)]
    second.dispose()


def test_two_threads_writing_at_once_do_not_fail(tmp_path: Path) -> None:
    engines = [make_engine(sqlite_settings(tmp_path)) for _ in range(2)]
    stores = [RunnerStore(db) for db in engines]
    stores[0].add(runner("t0"))
    stores[0].add(runner("t1"))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    rounds = 150

    def write(index: int) -> None:
        store, runner_id = stores[index], f"t{index}"
        try:
            barrier.wait(timeout=10)
            for n in range(rounds):
                store.save_state(runner_id, {"bars_processed": n})
                store.add_closed_positions(runner_id, [position(n * 60_000)])
                store.set_status(runner_id, "paused" if n % 2 else "running")
        except BaseException as exc:  # reported below, with the thread's error
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    for index in range(2):
        record = stores[index].get(f"t{index}")
        assert record is not None and record.state == {"bars_processed": rounds - 1}
        assert len(stores[index].closed_positions(f"t{index}", limit=1000)) == rounds
    for db in engines:
        db.dispose()


# --- bad URLs ----------------------------------------------------------------------------------


def test_unknown_database_in_url_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        make_engine(url_settings(tmp_path, "nosuchdb://x"))
    message = str(info.value)
    assert "DATABASE_URL" in message and "'nosuchdb'" in message
    assert "sqlite:///" in message and "postgresql+psycopg://" in message


def test_text_that_is_no_url_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DATABASE_URL is not a database URL"):
        make_engine(url_settings(tmp_path, "just some words"))


def test_missing_postgres_driver_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if it was not installed
    url = "postgresql+psycopg://trader:s3cret@localhost/tradesim"
    with pytest.raises(ConfigError) as info:
        make_engine(url_settings(tmp_path, url))
    message = str(info.value)
    assert "'psycopg'" in message and "pip install psycopg[binary]" in message
    assert "s3cret" not in message


def test_unopenable_sqlite_file_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "tradesim.db").mkdir()  # a folder where the database file should be
    with pytest.raises(ConfigError, match="cannot open the database"):
        make_engine(sqlite_settings(tmp_path))


# --- RunnerStore ---------------------------------------------------------------------------------


def test_runner_round_trip(any_engine: sa.Engine) -> None:
    store = RunnerStore(any_engine)
    prefix = uuid.uuid4().hex[:8]
    first_id, second_id = f"{prefix}-a", f"{prefix}-b"
    created = datetime(2024, 5, 1, 12, 30, 15, 250_000, tzinfo=timezone(timedelta(hours=2)))
    first = runner(first_id, created_at=created, updated_at=created)
    second = runner(second_id, created_at=created + timedelta(seconds=1), desired_status="stopped")
    try:
        store.add(second)
        store.add(first)
        assert store.get(first_id) == first
        assert store.get(first_id).created_at.tzinfo == UTC
        assert store.get(f"{prefix}-missing") is None
        mine = [r for r in store.list() if r.runner_id.startswith(prefix)]
        assert mine == [first, store.get(second_id)]

        state = {
            "kernel": {"state": "InPosition", "position": {"side": "long", "entry_price": 1.5}},
            "context": {"prev_fast": 1.25, "flags": [True, None]},
            "bars_processed": 42,
            "realized_pnl": -3.5,
        }
        assert store.save_state(first_id, state) is True
        assert store.set_status(first_id, "paused") is True
        updated = store.get(first_id)
        assert updated is not None
        assert (updated.state, updated.desired_status, updated.params) == (
            state,
            "paused",
            first.params,
        )
        assert updated.updated_at > first.updated_at
        assert store.save_state(f"{prefix}-missing", state) is False
        assert store.set_status(f"{prefix}-missing", "stopped") is False

        assert store.delete(first_id) is True
        assert store.delete(first_id) is False
        assert store.get(first_id) is None
    finally:
        store.delete(first_id)
        store.delete(second_id)


def test_adding_an_existing_runner_raises_runner_exists(engine: sa.Engine) -> None:
    store = RunnerStore(engine)
    store.add(runner("dup"))
    with pytest.raises(RunnerExists, match="'dup' already exists"):
        store.add(runner("dup", symbol="ETHUSDT"))
    assert store.get("dup").symbol == "BTCUSDT"
    assert issubclass(RunnerExists, ConfigError)


def test_closed_positions_newest_first_and_deleted_with_their_runner(engine: sa.Engine) -> None:
    store = RunnerStore(engine)
    store.add(runner("gone"))
    store.add(runner("other"))
    trades = [position(t, pnl=float(t)) for t in (3_000, 1_000, 2_000)]
    store.add_closed_positions("gone", [{**trades[0], "run_id": 0, "entry_bar": 5}, *trades[1:]])
    store.add_closed_positions("other", [position(9_000)])
    store.add_closed_positions("gone", [])

    assert [p["exit_time"] for p in store.closed_positions("gone")] == [3_000, 2_000, 1_000]
    assert store.closed_positions("gone", limit=1) == [trades[0]]

    assert store.delete("gone") is True
    with engine.connect() as conn:
        left = conn.execute(sa.text("SELECT runner_id FROM runner_trades")).scalars().all()
    assert left == ["other"]


def test_closed_position_without_a_field_is_refused(engine: sa.Engine) -> None:
    store = RunnerStore(engine)
    store.add(runner("r"))
    incomplete = {k: v for k, v in position(1_000).items() if k != "mae"}
    with pytest.raises(ConfigError, match="closed position #1: missing mae"):
        store.add_closed_positions("r", [position(500), incomplete])
    assert store.closed_positions("r") == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"runner_id": ""}, "expected 1..64 characters"),
        ({"runner_id": "x" * 65}, "expected 1..64 characters"),
        ({"desired_status": "error"}, "expected one of running, paused, stopped"),
        ({"created_at": datetime(2024, 1, 1)}, "must be aware"),
    ],
)
def test_invalid_runner_records_are_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        runner("ok", **changes)


def test_set_status_refuses_unknown_status(engine: sa.Engine) -> None:
    store = RunnerStore(engine)
    store.add(runner("s"))
    with pytest.raises(ConfigError, match="'error'"):
        store.set_status("s", "error")
    assert store.get("s").desired_status == "running"


def test_trades_with_state_in_one_transaction_and_counts(engine: sa.Engine) -> None:
    store = RunnerStore(engine)
    store.add(runner("a"))
    store.add(runner("b"))
    trades = [position(t, pnl) for t, pnl in ((1_000, 5.0), (2_000, -2.0), (3_000, 1.5))]
    store.add_closed_positions("a", trades, state={"trades": 3})
    store.add_closed_positions("b", [position(4_000, -1.0)])
    record = store.get("a")
    assert record is not None and record.state == {"trades": 3}
    assert store.trade_counts() == {"a": (3, 2, 4.5), "b": (1, 0, -1.0)}


def test_runners_using_a_strategy_and_its_stored_code(engine: sa.Engine) -> None:
    store = RunnerStore(engine)
    store.add(runner("x"))
    store.add(runner("y"))
    path = runner("x").strategy_path
    assert store.runners_using(path) == ["x", "y"]
    assert store.runners_using("user/other.lua") == []
    assert store.set_strategy("x", "-- code", "ab" * 32)
    got = store.get("x")
    assert got is not None and (got.strategy_code, got.strategy_hash) == ("-- code", "ab" * 32)


def test_feed_store_keeps_the_latest_bar_only(engine: sa.Engine) -> None:
    from engine.storage.feed_store import FeedStore

    feeds = FeedStore(engine)
    assert feeds.last_bar("BTCUSDT", "1m") is None
    bar = {"time": 120_000, "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 3.0}
    feeds.save({("BTCUSDT", "1m"): bar, ("ETHUSDT", "1m"): {**bar, "time": 60_000}})
    feeds.save({("BTCUSDT", "1m"): {**bar, "time": 60_000}})  # older: ignored
    assert feeds.last_bar("BTCUSDT", "1m") == bar
    feeds.save({("BTCUSDT", "1m"): {**bar, "time": 180_000, "close": 9.0}})
    assert feeds.last_bar("BTCUSDT", "1m") == {**bar, "time": 180_000, "close": 9.0}
    assert feeds.last_bar("ETHUSDT", "1m") == {**bar, "time": 60_000}
