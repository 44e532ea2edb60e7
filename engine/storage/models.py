"""Tables, as SQLAlchemy 2 declarative models.

The schema itself is created by the Alembic revisions in ``migrations/versions``; these models
must match them (a test compares the two). Change the schema with a new revision, then here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

DESIRED_STATUSES = ("running", "paused", "stopped")
"""What a runner should be doing after a restart (``error`` is a runtime status only)."""
BACKTEST_STATUSES = ("queued", "running", "finished", "failed", "cancelled")
SWEEP_STATUSES = BACKTEST_STATUSES
SWEEP_RESULT_STATUSES = ("pending", "ok", "failed")
ORDER_STATUSES = ("pending", "open", "filled", "cancelled", "rejected")
ORDER_TYPES = ("market", "limit", "stop")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    SQLite has no time zone type and returns naive values; PostgreSQL returns them in the
    session's zone. Both come back as aware UTC datetimes. Naive values are refused on write.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Convert to UTC before storing; refuse naive datetimes (their zone is unknown)."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware (UTC) datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Return an aware UTC datetime (naive values from SQLite are stored as UTC)."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base: one MetaData with a naming convention for constraints."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Runner(Base):
    """A live runner's configuration and its last persisted runtime state."""

    __tablename__ = "runners"
    __table_args__ = (
        CheckConstraint(
            f"desired_status IN ({', '.join(repr(s) for s in DESIRED_STATUSES)})",
            name="desired_status",
        ),
    )

    runner_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64))
    timeframe: Mapped[str] = mapped_column(String(16))
    strategy_path: Mapped[str] = mapped_column(String(512))
    """Relative to the strategy dir, e.g. ``examples/ema_crossover.lua``."""
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    window_size: Mapped[int]
    desired_status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    state: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    """Kernel snapshot (position, context), ``bars_processed``, realized P&L; None if never run."""
    strategy_code: Mapped[str | None] = mapped_column(Text)
    """The code the runner runs (a copy: editing or deleting the file does not change it)."""
    strategy_hash: Mapped[str | None] = mapped_column(String(64))
    """SHA-256 (hex) of ``strategy_code``."""


class RunnerTrade(Base):
    """One closed live trade of a runner, written when it closes (the source of truth)."""

    __tablename__ = "runner_trades"
    __table_args__ = (Index("ix_runner_trades_runner_id_exit_time", "runner_id", "exit_time"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    runner_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("runners.runner_id", ondelete="CASCADE")
    )
    side: Mapped[str] = mapped_column(String(8))
    entry_time: Mapped[int] = mapped_column(BigInteger)
    exit_time: Mapped[int] = mapped_column(BigInteger)
    entry_price: Mapped[float]
    exit_price: Mapped[float]
    quantity: Mapped[float]
    pnl: Mapped[float]
    pnl_pct: Mapped[float]
    commission: Mapped[float]
    exit_reason: Mapped[str] = mapped_column(String(32))
    bars_held: Mapped[int]
    mfe: Mapped[float]
    mae: Mapped[float]


class CandleSeries(Base):
    """One stored series: a (source, symbol, timeframe) whose bars are in ``candles``."""

    __tablename__ = "candle_series"
    __table_args__ = (UniqueConstraint("source", "symbol", "timeframe"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(64))
    timeframe: Mapped[str] = mapped_column(String(8))


class Candle(Base):
    """One OHLCV bar; ``time`` is the open time in ms. Unique per (series = source, symbol,
    timeframe) and time; on SQLite one B-tree keyed by (series_id, time).

    Prices are float64 (SQL ``DOUBLE PRECISION``/``REAL``): the exact binary value the source
    delivered (a CSV's decimal text or an exchange's JSON number), so they round-trip without
    loss; money (orders, balances) is Decimal, candles are measurements.
    """

    __tablename__ = "candles"
    __table_args__ = {"sqlite_with_rowid": False}  # noqa: RUF012 (SQLAlchemy's own attribute)

    series_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    """``candle_series.id``; no foreign key: a per-row check would halve bulk-insert speed,
    and CandleStore is the only writer (it deletes a series' bars with the series)."""
    time: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    open: Mapped[float]
    high: Mapped[float]
    low: Mapped[float]
    close: Mapped[float]
    volume: Mapped[float]


class CollectionJob(Base):
    """A scheduled collection of one (source, symbol, timeframe) series."""

    __tablename__ = "collection_jobs"
    __table_args__ = (UniqueConstraint("source", "symbol", "timeframe"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(64))
    timeframe: Mapped[str] = mapped_column(String(8))
    interval_s: Mapped[int]
    since_ms: Mapped[int] = mapped_column(BigInteger)
    """Start of the history the job keeps complete (gaps after it are repaired)."""
    enabled: Mapped[bool]
    status: Mapped[str] = mapped_column(String(16))
    failures: Mapped[int]
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_bar_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    scheduled_job_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CollectionSession(Base):
    """One run of a collection or download: what it added, the gaps it found and filled."""

    __tablename__ = "collection_sessions"
    __table_args__ = (Index("ix_collection_sessions_job_id_started_at", "job_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[int | None] = mapped_column(
        Integer, ForeignKey("collection_jobs.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(64))
    timeframe: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    bars_added: Mapped[int]
    bars_expected: Mapped[int]
    gaps_found: Mapped[int]
    gaps_filled: Mapped[int]
    unfilled: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True))
    """Gaps left as ``[first_ms, last_ms, missing_bars]`` (never invented)."""
    error: Mapped[str | None] = mapped_column(Text)
    rq_job_id: Mapped[str | None] = mapped_column(String(64))


class FeedPosition(Base):
    """The last closed bar of a live feed: a re-created or restarted feed continues after it."""

    __tablename__ = "feeds"

    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    timeframe: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_time: Mapped[int] = mapped_column(BigInteger)
    """Open time (epoch ms) of ``last_bar``."""
    last_bar: Mapped[dict[str, Any]] = mapped_column(JSON)
    """The bar as published (``Bar.ohlcv()``)."""
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Backtest(Base):
    """One backtest: its reproducible config, status, summary metrics and full result JSON."""

    __tablename__ = "backtests"
    __table_args__ = (
        CheckConstraint(
            f"status IN ({', '.join(repr(s) for s in BACKTEST_STATUSES)})", name="status"
        ),
        Index("ix_backtests_created_at", "created_at"),
        Index("ix_backtests_status", "status"),
    )

    backtest_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    strategy_name: Mapped[str] = mapped_column(String(128))
    strategy_hash: Mapped[str] = mapped_column(String(64))
    symbol: Mapped[str] = mapped_column(String(64))
    timeframe: Mapped[str] = mapped_column(String(16))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    """``BacktestConfig.to_dict()``: strategy code, data spec, fills, params, runs."""
    job_id: Mapped[str | None] = mapped_column(String(64))
    progress: Mapped[float]
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    error: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Sweep(Base):
    """One parameter sweep: its config (backtest + space + method + objective), status and
    the best combination once gathered; every combination is a row of ``sweep_results``."""

    __tablename__ = "sweeps"
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in SWEEP_STATUSES)})", name="status"),
        Index("ix_sweeps_created_at", "created_at"),
    )

    sweep_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    strategy_name: Mapped[str] = mapped_column(String(128))
    symbol: Mapped[str] = mapped_column(String(64))
    timeframe: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(16))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    """``SweepConfig.to_dict()``: backtest config (with the strategy code), space, objective."""
    total: Mapped[int]
    batches: Mapped[int]
    """Batches enqueued so far (grid and random: 1; tpe: one per ask)."""
    job_id: Mapped[str | None] = mapped_column(String(64))
    best: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    error: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SweepResult(Base):
    """One combination of a sweep: written ``pending`` when planned, then ``ok`` with its
    metrics (or ``failed`` with the reason) as soon as it finishes."""

    __tablename__ = "sweep_results"
    __table_args__ = (
        UniqueConstraint("sweep_id", "combo_index"),
        CheckConstraint(
            f"status IN ({', '.join(repr(s) for s in SWEEP_RESULT_STATUSES)})", name="status"
        ),
        Index("ix_sweep_results_sweep_id_chunk", "sweep_id", "chunk"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sweep_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("sweeps.sweep_id", ondelete="CASCADE")
    )
    combo_index: Mapped[int]
    batch: Mapped[int]
    chunk: Mapped[int]
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    objective: Mapped[float | None]
    feasible: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(Text)
    seconds: Mapped[float | None]
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WalkForward(Base):
    """One walk-forward run: its config (a sweep config + folds, mode, IS/OOS ratio), status,
    progress and the result JSON (fold table, stitched out-of-sample equity, efficiency)."""

    __tablename__ = "walk_forwards"
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in SWEEP_STATUSES)})", name="status"),
        Index("ix_walk_forwards_created_at", "created_at"),
    )

    walk_forward_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))
    strategy_name: Mapped[str] = mapped_column(String(128))
    symbol: Mapped[str] = mapped_column(String(64))
    timeframe: Mapped[str] = mapped_column(String(16))
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    job_id: Mapped[str | None] = mapped_column(String(64))
    progress: Mapped[float]
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LookaheadCheck(Base):
    """A no-lookahead check of a backtest: status and the comparison's result."""

    __tablename__ = "lookahead_checks"
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in SWEEP_STATUSES)})", name="status"),
        Index("ix_lookahead_checks_backtest_id", "backtest_id"),
    )

    check_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    backtest_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16))
    job_id: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WalkForwardFold(Base):
    """One fold of a walk-forward run, written by the job that ran it: ``ok`` with the fold's
    table row and the out-of-sample equity the gather job stitches, or ``failed`` with why."""

    __tablename__ = "walk_forward_folds"
    __table_args__ = (
        CheckConstraint("status IN ('ok', 'failed')", name="status"),
        UniqueConstraint("walk_forward_id", "fold"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    walk_forward_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("walk_forwards.walk_forward_id", ondelete="CASCADE")
    )
    fold: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CandleBootstrap(Base):
    """A candle (block) bootstrap of a backtest: paths, block and seed, status, progress
    (paths done) and the result JSON (percentiles, probability of loss, equity fan)."""

    __tablename__ = "candle_bootstraps"
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in SWEEP_STATUSES)})", name="status"),
        Index("ix_candle_bootstraps_backtest_id", "backtest_id"),
    )

    bootstrap_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    backtest_id: Mapped[str] = mapped_column(String(36))
    status: Mapped[str] = mapped_column(String(16))
    paths: Mapped[int]
    block: Mapped[int]
    seed: Mapped[int] = mapped_column(BigInteger)
    done: Mapped[int]
    job_id: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


SETUP_STATUSES = ("active", "paused", "stopped")
SIGNAL_KINDS = ("BUY", "SELL", "HOLD")


class TradingSetup(Base):
    """A symbol watched on several timeframes with indicators and strategies; what it
    scheduled (collection jobs it created) and how far its signals are computed."""

    __tablename__ = "trading_setups"
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in SETUP_STATUSES)})", name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    symbol: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    timeframes: Mapped[list[str]] = mapped_column(JSON)
    indicators: Mapped[list[str]] = mapped_column(JSON)
    """Indicator tokens such as ``sma_20``, ``rsi_14``, ``bollinger_20_2``."""
    strategies: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    collection_ids: Mapped[list[int]] = mapped_column(JSON)
    """The ``collection_jobs`` this setup created (pausing/deleting stops exactly these)."""
    signal_state: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Per timeframe: ``{"from_ms": first bar used, "through_ms": last bar computed}``."""
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StrategySignal(Base):
    """One entry/exit decision of a strategy at a bar: BUY/SELL, price, confidence and the
    indicator values at that bar. ``setup_id`` 0 holds ad-hoc calculations."""

    __tablename__ = "strategy_signals"
    __table_args__ = (
        UniqueConstraint("setup_id", "symbol", "timeframe", "time", "strategy"),
        CheckConstraint(f"signal IN ({', '.join(repr(s) for s in SIGNAL_KINDS)})", name="signal"),
        Index("ix_strategy_signals_time", "time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    setup_id: Mapped[int] = mapped_column(Integer)
    symbol: Mapped[str] = mapped_column(String(64))
    timeframe: Mapped[str] = mapped_column(String(8))
    time: Mapped[int] = mapped_column(BigInteger)
    """Bar open time, epoch ms UTC."""
    strategy: Mapped[str] = mapped_column(String(64))
    signal: Mapped[str] = mapped_column(String(8))
    action: Mapped[str] = mapped_column(String(16))
    """``enter_long``, ``enter_short`` or ``exit`` (with ``reason`` saying why)."""
    price: Mapped[float]
    confidence: Mapped[float | None]
    reason: Mapped[str] = mapped_column(Text)
    indicators: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


Money = Numeric(28, 10)
"""Prices, quantities and balances: exact NUMERIC on PostgreSQL (SQLite keeps ~15 digits)."""


def _one_of(column: str, values: tuple[str, ...]) -> CheckConstraint:
    return CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})", name=column)


class Order(Base):
    """One order (paper or live) and where it is in its lifecycle; ``order_events`` has every
    status change with its time and reason."""

    __tablename__ = "orders"
    __table_args__ = (
        _one_of("status", ORDER_STATUSES),
        _one_of("order_type", ORDER_TYPES),
        _one_of("side", ("buy", "sell")),
        _one_of("mode", ("paper", "live")),
        _one_of("time_in_force", ("GTC", "IOC")),
        Index("ix_orders_status", "status"),
        Index("ix_orders_created_at", "created_at"),
    )

    order_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_order_id: Mapped[str] = mapped_column(String(64), unique=True)
    mode: Mapped[str] = mapped_column(String(8))
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(4))
    order_type: Mapped[str] = mapped_column(String(8))
    quantity: Mapped[Any] = mapped_column(Money)
    limit_price: Mapped[Any | None] = mapped_column(Money)
    stop_price: Mapped[Any | None] = mapped_column(Money)
    time_in_force: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    filled_quantity: Mapped[Any] = mapped_column(Money)
    avg_fill_price: Mapped[Any | None] = mapped_column(Money)
    fee: Mapped[Any] = mapped_column(Money)
    source: Mapped[str] = mapped_column(String(32))
    """Who placed it: ``api``, ``ui``, ``kill_switch``."""
    signal_id: Mapped[str | None] = mapped_column(String(64))
    armed_after_ms: Mapped[int | None] = mapped_column(BigInteger)
    """Open time of the bar forming when it was placed: only later bars can fill it."""
    exchange_order_id: Mapped[str | None] = mapped_column(String(64))
    """The exchange's id of a live order."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OrderEvent(Base):
    """One status change of an order: when, to what, why."""

    __tablename__ = "order_events"
    __table_args__ = (Index("ix_order_events_order_id", "order_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("orders.order_id", ondelete="CASCADE")
    )
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)


class OrderFill(Base):
    """One fill of an order (partial fills are not simulated: one per filled paper order)."""

    __tablename__ = "order_fills"
    __table_args__ = (
        Index("ix_order_fills_order_id", "order_id"),
        Index("ix_order_fills_time", "time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("orders.order_id", ondelete="CASCADE")
    )
    time: Mapped[datetime] = mapped_column(UTCDateTime)
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(4))
    price: Mapped[Any] = mapped_column(Money)
    quantity: Mapped[Any] = mapped_column(Money)
    fee: Mapped[Any] = mapped_column(Money)
    realized_pnl: Mapped[Any] = mapped_column(Money)
    """Gross P&L this fill realized by reducing a position (0 when it only added)."""


class PaperAccount(Base):
    """The paper account's cash, realized P&L and fees (positions in ``paper_positions``)."""

    __tablename__ = "paper_accounts"

    account_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    starting_balance: Mapped[Any] = mapped_column(Money)
    cash: Mapped[Any] = mapped_column(Money)
    realized_pnl: Mapped[Any] = mapped_column(Money)
    fees_paid: Mapped[Any] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PaperPosition(Base):
    """A paper position: signed quantity (short < 0), average entry, last mark price."""

    __tablename__ = "paper_positions"

    account_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("paper_accounts.account_id", ondelete="CASCADE"), primary_key=True
    )
    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    quantity: Mapped[Any] = mapped_column(Money)
    avg_price: Mapped[Any] = mapped_column(Money)
    realized_pnl: Mapped[Any] = mapped_column(Money)
    mark_price: Mapped[Any | None] = mapped_column(Money)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RiskLimits(Base):
    """The risk limits (NULL: no limit) and the kill switch (one row, ``id`` 1)."""

    __tablename__ = "risk_limits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    max_order_notional: Mapped[Any | None] = mapped_column(Money)
    max_position_notional: Mapped[Any | None] = mapped_column(Money)
    max_open_orders: Mapped[int | None] = mapped_column(Integer)
    max_daily_loss: Mapped[Any | None] = mapped_column(Money)
    kill_switch: Mapped[bool] = mapped_column(Boolean)
    kill_switch_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    kill_switch_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
