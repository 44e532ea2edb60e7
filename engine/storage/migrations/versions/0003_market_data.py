"""Market data: candle series and candles, collection jobs and their sessions.

Revision ID: 0003_market_data
Revises: 0002_runner_trades
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_market_data"
down_revision: str | None = "0002_runner_trades"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``candle_series``, ``candles``, ``collection_jobs`` and ``collection_sessions``."""
    op.create_table(
        "candle_series",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("timeframe", sa.String(8), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_candle_series")),
        sa.UniqueConstraint(
            "source", "symbol", "timeframe", name=op.f("uq_candle_series_source_symbol_timeframe")
        ),
    )
    op.create_table(
        "candles",
        sa.Column("series_id", sa.Integer(), nullable=False),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("open", sa.Double(), nullable=False),
        sa.Column("high", sa.Double(), nullable=False),
        sa.Column("low", sa.Double(), nullable=False),
        sa.Column("close", sa.Double(), nullable=False),
        sa.Column("volume", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("series_id", "time", name=op.f("pk_candles")),
        sqlite_with_rowid=False,  # SQLite: one B-tree keyed by (series_id, time)
    )
    op.create_table(
        "collection_jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("timeframe", sa.String(8), nullable=False),
        sa.Column("interval_s", sa.Integer(), nullable=False),
        sa.Column("since_ms", sa.BigInteger(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_bar_ms", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("scheduled_job_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_jobs")),
        sa.UniqueConstraint(
            "source", "symbol", "timeframe", name=op.f("uq_collection_jobs_source_symbol_timeframe")
        ),
    )
    op.create_table(
        "collection_sessions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("timeframe", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bars_added", sa.Integer(), nullable=False),
        sa.Column("bars_expected", sa.Integer(), nullable=False),
        sa.Column("gaps_found", sa.Integer(), nullable=False),
        sa.Column("gaps_filled", sa.Integer(), nullable=False),
        sa.Column("unfilled", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("rq_job_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_sessions")),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["collection_jobs.id"],
            name=op.f("fk_collection_sessions_job_id_collection_jobs"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_collection_sessions_job_id_started_at",
        "collection_sessions",
        ["job_id", "started_at"],
    )


def downgrade() -> None:
    """Drop the four tables (and every stored candle with them)."""
    op.drop_index("ix_collection_sessions_job_id_started_at", table_name="collection_sessions")
    op.drop_table("collection_sessions")
    op.drop_table("collection_jobs")
    op.drop_table("candles")
    op.drop_table("candle_series")
