"""Sweeps: config, status, best combination; one ``sweep_results`` row per combination;
``walk_forwards`` (config, status, progress, result JSON); ``lookahead_checks``.

Revision ID: 0005_sweeps
Revises: 0004_backtests
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005_sweeps"
down_revision: str | None = "0004_backtests"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``sweeps``, ``sweep_results``, ``walk_forwards`` and ``lookahead_checks``."""
    op.create_table(
        "sweeps",
        sa.Column("sweep_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("strategy_name", sa.String(128), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("timeframe", sa.String(16), nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("batches", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=True),
        sa.Column("best", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("sweep_id", name=op.f("pk_sweeps")),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'finished', 'failed', 'cancelled')",
            name=op.f("ck_sweeps_status"),
        ),
    )
    op.create_index("ix_sweeps_created_at", "sweeps", ["created_at"])
    op.create_table(
        "sweep_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sweep_id", sa.String(36), nullable=False),
        sa.Column("combo_index", sa.Integer(), nullable=False),
        sa.Column("batch", sa.Integer(), nullable=False),
        sa.Column("chunk", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=True),
        sa.Column("objective", sa.Double(), nullable=True),
        sa.Column("feasible", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("seconds", sa.Double(), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sweep_results")),
        sa.ForeignKeyConstraint(
            ["sweep_id"],
            ["sweeps.sweep_id"],
            name=op.f("fk_sweep_results_sweep_id_sweeps"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "sweep_id", "combo_index", name=op.f("uq_sweep_results_sweep_id_combo_index")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'ok', 'failed')", name=op.f("ck_sweep_results_status")
        ),
    )
    op.create_index("ix_sweep_results_sweep_id_chunk", "sweep_results", ["sweep_id", "chunk"])
    op.create_table(
        "walk_forwards",
        sa.Column("walk_forward_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("strategy_name", sa.String(128), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("timeframe", sa.String(16), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=True),
        sa.Column("progress", sa.Double(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("walk_forward_id", name=op.f("pk_walk_forwards")),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'finished', 'failed', 'cancelled')",
            name=op.f("ck_walk_forwards_status"),
        ),
    )
    op.create_index("ix_walk_forwards_created_at", "walk_forwards", ["created_at"])
    op.create_table(
        "lookahead_checks",
        sa.Column("check_id", sa.String(36), nullable=False),
        sa.Column("backtest_id", sa.String(36), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("check_id", name=op.f("pk_lookahead_checks")),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'finished', 'failed', 'cancelled')",
            name=op.f("ck_lookahead_checks_status"),
        ),
    )
    op.create_index("ix_lookahead_checks_backtest_id", "lookahead_checks", ["backtest_id"])


def downgrade() -> None:
    """Drop ``lookahead_checks``, ``walk_forwards``, ``sweep_results`` and ``sweeps``."""
    op.drop_index("ix_lookahead_checks_backtest_id", table_name="lookahead_checks")
    op.drop_table("lookahead_checks")
    op.drop_index("ix_walk_forwards_created_at", table_name="walk_forwards")
    op.drop_table("walk_forwards")
    op.drop_index("ix_sweep_results_sweep_id_chunk", table_name="sweep_results")
    op.drop_table("sweep_results")
    op.drop_index("ix_sweeps_created_at", table_name="sweeps")
    op.drop_table("sweeps")
