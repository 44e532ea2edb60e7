"""Trading setups and the strategy signals computed for them.

Revision ID: 0006_setups
Revises: 0005_sweeps
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006_setups"
down_revision: str | None = "0005_sweeps"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``trading_setups`` and ``strategy_signals``."""
    op.create_table(
        "trading_setups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("timeframes", sa.JSON(), nullable=False),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("strategies", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("collection_ids", sa.JSON(), nullable=False),
        sa.Column("signal_state", sa.JSON(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trading_setups")),
        sa.CheckConstraint(
            "status IN ('active', 'paused', 'stopped')", name=op.f("ck_trading_setups_status")
        ),
    )
    op.create_table(
        "strategy_signals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("setup_id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("timeframe", sa.String(8), nullable=False),
        sa.Column("time", sa.BigInteger(), nullable=False),
        sa.Column("strategy", sa.String(64), nullable=False),
        sa.Column("signal", sa.String(8), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("price", sa.Double(), nullable=False),
        sa.Column("confidence", sa.Double(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("indicators", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strategy_signals")),
        sa.UniqueConstraint(
            "setup_id",
            "symbol",
            "timeframe",
            "time",
            "strategy",
            name=op.f("uq_strategy_signals_setup_id_symbol_timeframe_time_strategy"),
        ),
        sa.CheckConstraint(
            "signal IN ('BUY', 'SELL', 'HOLD')", name=op.f("ck_strategy_signals_signal")
        ),
    )
    op.create_index("ix_strategy_signals_time", "strategy_signals", ["time"])


def downgrade() -> None:
    """Drop ``strategy_signals`` and ``trading_setups``."""
    op.drop_index("ix_strategy_signals_time", table_name="strategy_signals")
    op.drop_table("strategy_signals")
    op.drop_table("trading_setups")
