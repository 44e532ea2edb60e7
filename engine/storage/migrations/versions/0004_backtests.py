"""Backtests: config (strategy code + hash, data spec), status, summary and result JSON.

Revision ID: 0004_backtests
Revises: 0003_market_data
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004_backtests"
down_revision: str | None = "0003_market_data"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``backtests``."""
    op.create_table(
        "backtests",
        sa.Column("backtest_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("strategy_name", sa.String(128), nullable=False),
        sa.Column("strategy_hash", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("timeframe", sa.String(16), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=True),
        sa.Column("progress", sa.Double(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("backtest_id", name=op.f("pk_backtests")),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'finished', 'failed', 'cancelled')",
            name=op.f("ck_backtests_status"),
        ),
    )
    op.create_index("ix_backtests_created_at", "backtests", ["created_at"])
    op.create_index("ix_backtests_status", "backtests", ["status"])


def downgrade() -> None:
    """Drop ``backtests`` (and every stored result)."""
    op.drop_index("ix_backtests_status", table_name="backtests")
    op.drop_index("ix_backtests_created_at", table_name="backtests")
    op.drop_table("backtests")
