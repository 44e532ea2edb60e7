"""Closed live trades in ``runner_trades``, the strategy code a runner runs, feeds' last bars.

``runner_trades`` replaces ``closed_positions`` (its rows are copied over); ``runners`` gains
``strategy_code`` and ``strategy_hash`` (NULL for rows created before this revision: the engine
fills them from the file at its next start); ``feeds`` keeps each feed's last closed bar so a
feed continues after it instead of going back in time.

Revision ID: 0002_runner_trades
Revises: 0001_runners
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002_runner_trades"
down_revision: str | None = "0001_runners"
branch_labels: str | None = None
depends_on: str | None = None

TRADE_COLUMNS = (
    "runner_id, side, entry_time, exit_time, entry_price, exit_price, quantity, pnl, pnl_pct, "
    "commission, exit_reason, bars_held, mfe, mae"
)


def _trades_table(name: str) -> None:
    op.create_table(
        name,
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
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.ForeignKeyConstraint(
            ["runner_id"],
            ["runners.runner_id"],
            name=op.f(f"fk_{name}_runner_id_runners"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(f"ix_{name}_runner_id_exit_time", name, ["runner_id", "exit_time"])


def _move_trades(source: str, target: str) -> None:
    _trades_table(target)
    op.execute(
        f"INSERT INTO {target} (id, {TRADE_COLUMNS}) "
        f"SELECT id, {TRADE_COLUMNS} FROM {source} ORDER BY id"
    )
    op.drop_index(f"ix_{source}_runner_id_exit_time", table_name=source)
    op.drop_table(source)


def upgrade() -> None:
    """Move closed positions to ``runner_trades``; add the strategy copy and ``feeds``."""
    _move_trades("closed_positions", "runner_trades")
    op.add_column("runners", sa.Column("strategy_code", sa.Text(), nullable=True))
    op.add_column("runners", sa.Column("strategy_hash", sa.String(64), nullable=True))
    op.create_table(
        "feeds",
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("timeframe", sa.String(16), nullable=False),
        sa.Column("last_time", sa.BigInteger(), nullable=False),
        sa.Column("last_bar", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("symbol", "timeframe", name=op.f("pk_feeds")),
    )


def downgrade() -> None:
    """Back to ``closed_positions`` (trades kept); drop the strategy copy and ``feeds``."""
    op.drop_table("feeds")
    # ALTER TABLE DROP COLUMN (SQLite >= 3.35): a batch copy of ``runners`` would cascade-delete
    # the trades
    op.drop_column("runners", "strategy_hash")
    op.drop_column("runners", "strategy_code")
    _move_trades("runner_trades", "closed_positions")
