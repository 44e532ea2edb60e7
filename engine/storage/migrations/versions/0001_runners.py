"""Runners and their closed positions.

Revision ID: 0001_runners
Revises:
Create Date: 2026-05-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001_runners"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``runners`` and ``closed_positions``."""
    op.create_table(
        "runners",
        sa.Column("runner_id", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("timeframe", sa.String(16), nullable=False),
        sa.Column("strategy_path", sa.String(512), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("window_size", sa.Integer(), nullable=False),
        sa.Column("desired_status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("runner_id", name=op.f("pk_runners")),
        sa.CheckConstraint(
            "desired_status IN ('running', 'paused', 'stopped')",
            name=op.f("ck_runners_desired_status"),
        ),
    )
    op.create_table(
        "closed_positions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("runner_id", sa.String(64), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("entry_time", sa.BigInteger(), nullable=False),
        sa.Column("exit_time", sa.BigInteger(), nullable=False),
        sa.Column("entry_price", sa.Double(), nullable=False),
        sa.Column("exit_price", sa.Double(), nullable=False),
        sa.Column("quantity", sa.Double(), nullable=False),
        sa.Column("pnl", sa.Double(), nullable=False),
        sa.Column("pnl_pct", sa.Double(), nullable=False),
        sa.Column("commission", sa.Double(), nullable=False),
        sa.Column("exit_reason", sa.String(32), nullable=False),
        sa.Column("bars_held", sa.Integer(), nullable=False),
        sa.Column("mfe", sa.Double(), nullable=False),
        sa.Column("mae", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_closed_positions")),
        sa.ForeignKeyConstraint(
            ["runner_id"],
            ["runners.runner_id"],
            name=op.f("fk_closed_positions_runner_id_runners"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_closed_positions_runner_id_exit_time",
        "closed_positions",
        ["runner_id", "exit_time"],
    )


def downgrade() -> None:
    """Drop both tables (and every closed position with them)."""
    op.drop_index("ix_closed_positions_runner_id_exit_time", table_name="closed_positions")
    op.drop_table("closed_positions")
    op.drop_table("runners")
