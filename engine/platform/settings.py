"""One frozen ``Settings`` read from the environment once and passed down (never a global)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import ConfigError
from engine.platform.resources import SOURCE_ROOT, in_source_tree, shipped_dir

#: Shipped strategies (examples/, templates/): the checkout's or the installed copy.
SHIPPED_STRATEGIES = shipped_dir("lua-strategies")


def default_data_dir() -> Path:
    """``data/`` of the checkout, or ``./data`` for an installed package."""
    return SOURCE_ROOT / "data" if in_source_tree() else Path.cwd() / "data"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Where things live and how the processes find each other.

    Environment: ``TRADESIM_DATA_DIR`` (default ``data/`` of the checkout, ``./data`` when
    installed), ``REDIS_URL``
    (default: an embedded server started by ``tradesim up``), ``DATABASE_URL`` (default: SQLite
    file in the data dir), ``TRADESIM_HOST``/``TRADESIM_PORT`` (web, default 127.0.0.1:8050),
    ``TRADESIM_STRATEGY_DIR`` (default ``lua-strategies``), ``TRADESIM_KEY_PREFIX``
    (``tradesim:``), ``TRADESIM_SIM_SPEED`` (how many times faster than the wall clock the
    simulated and replayed feeds run, default 1: a 1m bar closes every minute),
    ``TRADESIM_FEED`` (``simulated``; ``exchange``: crypto symbols from ``TRADESIM_EXCHANGE``,
    default ``binanceus``, through ccxt; ``replay``: ``<SYMBOL>.csv`` files from
    ``TRADESIM_REPLAY_DIR``, resampled to the runner's timeframe; other symbols stay simulated),
    ``TRADESIM_MAX_QUEUED_BACKTESTS`` (backtests queued or running before the API answers 429,
    default 20), ``TRADESIM_RUNNER_HOSTS`` (runner host processes the engine starts, default
    one per core; 0 runs the runners inside the engine process, without deadlines),
    ``TRADESIM_BAR_DEADLINE_MS`` (wall-clock limit of one strategy call on one bar, default
    250) and ``TRADESIM_LOAD_DEADLINE_MS`` (limit for loading a strategy's top-level code,
    default 1000): a host that misses one is killed and restarted, the runner that was
    executing is quarantined; ``TRADESIM_PAPER_BALANCE`` (the paper account's starting
    balance, default 10000), ``TRADESIM_PAPER_COMMISSION`` (paper fills' commission rate on
    notional, default 0.001) and ``TRADESIM_PAPER_SLIPPAGE_BPS`` (paper market and stop fills'
    slippage, default 1); ``TRADESIM_LIVE_TRADING=1`` with ``TRADESIM_EXCHANGE_API_KEY`` and
    ``TRADESIM_EXCHANGE_SECRET`` enables live orders on ``TRADESIM_EXCHANGE`` (off by default).
    """

    data_dir: Path
    redis_url: str | None = field(repr=False)
    database_url: str = field(repr=False)
    host: str = "127.0.0.1"
    port: int = 8050
    strategy_dir: Path = SHIPPED_STRATEGIES
    key_prefix: str = "tradesim:"
    sim_speed: float = 1.0
    feed_source: str = "simulated"
    exchange_id: str = "binanceus"
    replay_dir: Path | None = None
    heartbeat_ttl_s: int = 5
    command_timeout_s: float = 5.0
    api_token: str | None = field(default=None, repr=False)
    web_threads: int = 32
    web_processes: int = 1
    worker_nice: int = 10
    max_queued_backtests: int = 20
    runner_hosts: int = field(default_factory=lambda: os.cpu_count() or 1)
    bar_deadline_ms: int = 250
    load_deadline_ms: int = 1000
    paper_balance: float = 10_000.0
    paper_commission: float = 0.001
    paper_slippage_bps: float = 1.0
    live_trading: bool = False
    exchange_api_key: str | None = field(default=None, repr=False)
    exchange_secret: str | None = field(default=None, repr=False)

    @property
    def user_strategy_dir(self) -> Path:
        """Where users' own strategies are saved (examples stay read-only): ``user/`` beside
        them, except for an installed package's copy, which is left alone (``<data>/strategies``).
        """
        if self.strategy_dir == SHIPPED_STRATEGIES and not in_source_tree():
            return self.data_dir / "strategies"
        return self.strategy_dir / "user"

    @property
    def csv_folders(self) -> list[Path]:
        """Where ``csv:<name>`` backtest data sources are looked up: ``<data dir>/csv``, then
        ``TRADESIM_REPLAY_DIR``."""
        return [self.data_dir / "csv", *([self.replay_dir] if self.replay_dir else [])]

    @property
    def log_dir(self) -> Path:
        """Process logs of ``tradesim up``."""
        return self.data_dir / "logs"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the environment (``os.environ`` by default); bad values raise ConfigError."""
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("TRADESIM_DATA_DIR") or default_data_dir()).expanduser()
        database_url = env.get("DATABASE_URL") or f"sqlite:///{data_dir / 'tradesim.db'}"
        return cls(
            data_dir=data_dir,
            redis_url=env.get("REDIS_URL") or None,
            database_url=database_url,
            host=env.get("TRADESIM_HOST", "127.0.0.1"),
            port=_number(env, "TRADESIM_PORT", 8050, 1, 65535, int),
            strategy_dir=Path(env.get("TRADESIM_STRATEGY_DIR") or SHIPPED_STRATEGIES).expanduser(),
            key_prefix=env.get("TRADESIM_KEY_PREFIX", "tradesim:"),
            sim_speed=_number(env, "TRADESIM_SIM_SPEED", 1.0, 0.001, 1_000_000.0),
            feed_source=_choice(
                env, "TRADESIM_FEED", "simulated", ("simulated", "exchange", "replay")
            ),
            exchange_id=env.get("TRADESIM_EXCHANGE", "binanceus"),
            replay_dir=Path(env["TRADESIM_REPLAY_DIR"]) if env.get("TRADESIM_REPLAY_DIR") else None,
            api_token=env.get("TRADESIM_API_TOKEN") or None,
            web_threads=_number(env, "TRADESIM_WEB_THREADS", 32, 1, 256, int),
            worker_nice=_number(env, "TRADESIM_WORKER_NICE", 10, 0, 19, int),
            web_processes=_number(
                env, "TRADESIM_WEB_PROCESSES", min(2, os.cpu_count() or 1), 1, 32, int
            ),
            max_queued_backtests=_number(env, "TRADESIM_MAX_QUEUED_BACKTESTS", 20, 1, 10_000, int),
            runner_hosts=_number(env, "TRADESIM_RUNNER_HOSTS", os.cpu_count() or 1, 0, 64, int),
            bar_deadline_ms=_number(env, "TRADESIM_BAR_DEADLINE_MS", 250, 10, 60_000, int),
            load_deadline_ms=_number(env, "TRADESIM_LOAD_DEADLINE_MS", 1000, 100, 60_000, int),
            paper_balance=_number(env, "TRADESIM_PAPER_BALANCE", 10_000.0, 1.0, 1e12),
            paper_commission=_number(env, "TRADESIM_PAPER_COMMISSION", 0.001, 0.0, 0.1),
            paper_slippage_bps=_number(env, "TRADESIM_PAPER_SLIPPAGE_BPS", 1.0, 0.0, 1000.0),
            live_trading=_choice(env, "TRADESIM_LIVE_TRADING", "0", ("0", "1")) == "1",
            exchange_api_key=env.get("TRADESIM_EXCHANGE_API_KEY") or None,
            exchange_secret=env.get("TRADESIM_EXCHANGE_SECRET") or None,
        )


def _number(
    env: Mapping[str, str], name: str, default: float, low: float, high: float, kind: type = float
) -> Any:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = kind(raw)
    except ValueError:
        expected = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{name}={raw!r}: expected {expected}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}={value}: expected {low:g}..{high:g}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = env.get(name) or default
    if value not in allowed:
        raise ConfigError(f"{name}={value!r}: expected one of {', '.join(allowed)}")
    return value
