"""Orders: orders, their status changes and fills, the paper account and positions, the risk
limits and the kill switch.

Revision ID: 0007_orders
Revises: 0006_setups
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007_orders"
down_revision: str | None = "0006_setups"
branch_labels: str | None = None
depends_on: str | None = None

MONEY = sa.Numeric(28, 10)


def _check(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    listed = ", ".join(repr(v) for v in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=op.f(f"ck_orders_{column}"))


def upgrade() -> None:
    """Create the order tables."""
    op.create_table(
        "orders",
        sa.Column("order_id", sa.String(32), nullable=False),
        sa.Column("client_order_id", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("order_type", sa.String(8), nullable=False),
        sa.Column("quantity", MONEY, nullable=False),
        sa.Column("limit_price", MONEY, nullable=True),
        sa.Column("stop_price", MONEY, nullable=True),
        sa.Column("time_in_force", sa.String(4), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("filled_quantity", MONEY, nullable=False),
        sa.Column("avg_fill_price", MONEY, nullable=True),
        sa.Column("fee", MONEY, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("signal_id", sa.String(64), nullable=True),
        sa.Column("armed_after_ms", sa.BigInteger(), nullable=True),
        sa.Column("exchange_order_id", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_orders")),
        sa.UniqueConstraint("client_order_id", name=op.f("uq_orders_client_order_id")),
        _check("status", ("pending", "open", "filled", "cancelled", "rejected")),
        _check("order_type", ("market", "limit", "stop")),
        _check("side", ("buy", "sell")),
        _check("mode", ("paper", "live")),
        _check("time_in_force", ("GTC", "IOC")),
    )
    op.create_index("ix_orders_status", "orders", ["status"])
    op.create_index("ix_orders_created_at", "orders", ["created_at"])
    op.create_table(
        "order_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(32), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.order_id"],
            name=op.f("fk_order_events_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_events")),
    )
    op.create_index("ix_order_events_order_id", "order_events", ["order_id"])
    op.create_table(
        "order_fills",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_id", sa.String(32), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("price", MONEY, nullable=False),
        sa.Column("quantity", MONEY, nullable=False),
        sa.Column("fee", MONEY, nullable=False),
        sa.Column("realized_pnl", MONEY, nullable=False),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.order_id"],
            name=op.f("fk_order_fills_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_fills")),
    )
    op.create_index("ix_order_fills_order_id", "order_fills", ["order_id"])
    op.create_index("ix_order_fills_time", "order_fills", ["time"])
    op.create_table(
        "paper_accounts",
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("starting_balance", MONEY, nullable=False),
        sa.Column("cash", MONEY, nullable=False),
        sa.Column("realized_pnl", MONEY, nullable=False),
        sa.Column("fees_paid", MONEY, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_paper_accounts")),
    )
    op.create_table(
        "paper_positions",
        sa.Column("account_id", sa.String(32), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("quantity", MONEY, nullable=False),
        sa.Column("avg_price", MONEY, nullable=False),
        sa.Column("realized_pnl", MONEY, nullable=False),
        sa.Column("mark_price", MONEY, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["paper_accounts.account_id"],
            name=op.f("fk_paper_positions_account_id_paper_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "symbol", name=op.f("pk_paper_positions")),
    )
    op.create_table(
        "risk_limits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("max_order_notional", MONEY, nullable=True),
        sa.Column("max_position_notional", MONEY, nullable=True),
        sa.Column("max_open_orders", sa.Integer(), nullable=True),
        sa.Column("max_daily_loss", MONEY, nullable=True),
        sa.Column("kill_switch", sa.Boolean(), nullable=False),
        sa.Column("kill_switch_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("kill_switch_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_limits")),
    )


def downgrade() -> None:
    """Drop the order tables (every order, fill and the paper account)."""
    op.drop_table("risk_limits")
    op.drop_table("paper_positions")
    op.drop_table("paper_accounts")
    op.drop_index("ix_order_fills_time", table_name="order_fills")
    op.drop_index("ix_order_fills_order_id", table_name="order_fills")
    op.drop_table("order_fills")
    op.drop_index("ix_order_events_order_id", table_name="order_events")
    op.drop_table("order_events")
    op.drop_index("ix_orders_created_at", table_name="orders")
    op.drop_index("ix_orders_status", table_name="orders")
    op.drop_table("orders")
