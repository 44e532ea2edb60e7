"""Open the database named by ``Settings.database_url`` and bring its schema up to date.

SQLite (the default, a file in the data dir) runs in WAL mode with foreign keys on and a 5 s
busy timeout, so the engine, workers and web can share it. Other databases are chosen by URL
(``postgresql+psycopg://user:password@host/db``); their driver must be installed.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import URL, Connection, Engine

from engine.errors import ConfigError
from engine.platform.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 5000

# Driver (as SQLAlchemy names it) -> what to pip install when its module is missing.
_DRIVER_PACKAGES = {
    "psycopg": "psycopg[binary]",
    "psycopg2": "psycopg2-binary",
    "pg8000": "pg8000",
    "mysqldb": "mysqlclient",
    "pymysql": "PyMySQL",
}
_URL_EXAMPLES = "sqlite:////path/to/tradesim.db or postgresql+psycopg://user:password@host/db"
# Key of the PostgreSQL advisory lock that serializes migrations ("trad" in ASCII).
_PG_MIGRATION_LOCK = 0x74726164


def make_engine(settings: Settings, *, migrate: bool = True) -> Engine:
    """Create the SQLAlchemy engine for ``settings.database_url`` and, unless ``migrate`` is
    False, apply pending migrations (see ``migrate``).

    Raises ConfigError when the URL is invalid, names an unknown database, its driver is not
    installed, or the database cannot be opened (the message hides the password).
    """
    url = _parse_url(settings.database_url)
    engine = _sqlite_engine(url) if url.get_backend_name() == "sqlite" else _server_engine(url)
    try:
        with engine.connect():
            pass
    except sa.exc.DBAPIError as exc:
        engine.dispose()
        raise ConfigError(f"{_describe(url)}: cannot open the database: {exc.orig}") from exc
    if migrate:
        _upgrade_to_head(engine)
    return engine


def migrate(engine: Engine) -> None:
    """Apply every pending Alembic migration; a no-op when the schema is current.

    Safe to call at every process start, also from several processes at once: SQLite
    migrations are serialized by ``flock`` on ``<database>-migrate.lock`` next to the database
    file, PostgreSQL ones by an advisory lock held for the migration transaction.
    """
    _upgrade_to_head(engine)


def alembic_config(connection: Connection) -> Config:
    """An Alembic config for this package's migrations, running on ``connection``.

    No alembic.ini is involved; use it with ``alembic.command`` (e.g.
    ``command.revision(alembic_config(conn), "add candles", autogenerate=True)``).
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def _upgrade_to_head(engine: Engine) -> None:
    with _migration_file_lock(engine.url), engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK}
            )
        command.upgrade(alembic_config(connection), "head")


@contextmanager
def _migration_file_lock(url: URL) -> Iterator[None]:
    """Hold an exclusive ``flock`` next to a SQLite database file (nothing for other URLs)."""
    path = _sqlite_file(url)
    if path is None:
        yield
        return
    with open(path.with_name(path.name + "-migrate.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _parse_url(raw: str) -> URL:
    try:
        url = sa.make_url(raw)
    except (sa.exc.ArgumentError, ValueError):
        raise ConfigError(
            f"DATABASE_URL is not a database URL; expected e.g. {_URL_EXAMPLES}"
        ) from None
    try:
        url.get_dialect()
    except sa.exc.NoSuchModuleError:
        hint = " (write postgresql://, not postgres://)" if url.drivername == "postgres" else ""
        raise ConfigError(
            f"{_describe(url)}: unknown database {url.drivername!r}{hint}; "
            f"expected e.g. {_URL_EXAMPLES}"
        ) from None
    return url


def _sqlite_engine(url: URL) -> Engine:
    path = _sqlite_file(url)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"{_describe(url)}: cannot create {path.parent}: {exc}") from None
    engine = sa.create_engine(url, connect_args={"check_same_thread": False})
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection SQLite settings (the busy timeout first: switching to WAL may wait)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
    finally:
        cursor.close()


def _server_engine(url: URL) -> Engine:
    try:
        return sa.create_engine(url, pool_pre_ping=True)
    except ImportError as exc:
        driver = url.get_dialect().driver
        package = _DRIVER_PACKAGES.get(driver, exc.name or driver)
        raise ConfigError(
            f"{_describe(url)}: the {url.get_backend_name()} driver {driver!r} is not "
            f"installed ({exc}); install it with: pip install {package}"
        ) from None


def _sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL; None for in-memory and ``file:`` URI databases and
    for every other backend (a PostgreSQL URL's database name is not a file)."""
    database = url.database
    if (
        url.get_backend_name() != "sqlite"
        or not database
        or database == ":memory:"
        or url.query.get("uri")
    ):
        return None
    return Path(database)


def _describe(url: URL) -> str:
    return f"DATABASE_URL {url.render_as_string(hide_password=True)}"
