"""Robustness jobs: ``candle_bootstraps`` (a candle bootstrap of a backtest: config, status,
paths done, result JSON) and ``walk_forward_folds`` (one row per finished fold of a
walk-forward run whose folds run as separate jobs).

Revision ID: 0008_robustness_jobs
Revises: 0007_orders
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008_robustness_jobs"
down_revision: str | None = "0007_orders"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``candle_bootstraps`` and ``walk_forward_folds``."""
    op.create_table(
        "candle_bootstraps",
        sa.Column("bootstrap_id", sa.String(36), nullable=False),
        sa.Column("backtest_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("paths", sa.Integer(), nullable=False),
        sa.Column("block", sa.Integer(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("done", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("bootstrap_id", name=op.f("pk_candle_bootstraps")),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'finished', 'failed', 'cancelled')",
            name=op.f("ck_candle_bootstraps_status"),
        ),
    )
    op.create_index("ix_candle_bootstraps_backtest_id", "candle_bootstraps", ["backtest_id"])
    op.create_table(
        "walk_forward_folds",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("walk_forward_id", sa.String(36), nullable=False),
        sa.Column("fold", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_walk_forward_folds")),
        sa.ForeignKeyConstraint(
            ["walk_forward_id"],
            ["walk_forwards.walk_forward_id"],
            name=op.f("fk_walk_forward_folds_walk_forward_id_walk_forwards"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "walk_forward_id", "fold", name=op.f("uq_walk_forward_folds_walk_forward_id_fold")
        ),
        sa.CheckConstraint("status IN ('ok', 'failed')", name=op.f("ck_walk_forward_folds_status")),
    )


def downgrade() -> None:
    """Drop ``walk_forward_folds`` and ``candle_bootstraps``."""
    op.drop_table("walk_forward_folds")
    op.drop_index("ix_candle_bootstraps_backtest_id", table_name="candle_bootstraps")
    op.drop_table("candle_bootstraps")
