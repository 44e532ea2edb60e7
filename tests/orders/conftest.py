"""A desk on a real, migrated SQLite file, fed crafted bars through a controllable quote."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from engine.data.bars import Bar
from engine.orders.desk import OrderDesk
from engine.platform.settings import Settings
from engine.storage.db import make_engine
from engine.storage.order_store import LimitsRecord, OrderStore

SYMBOL = "BTCUSDT"


def bar(
    t: int, o: float, h: float, low: float, c: float, symbol: str = SYMBOL, tf: str = "1m"
) -> Bar:
    """A bar opening at minute ``t``."""
    return Bar(
        symbol=symbol,
        timeframe=tf,
        timestamp=t * 60_000,
        open=o,
        high=h,
        low=low,
        close=c,
        volume=1.0,
        bid=c,
        ask=c,
    )


class Market:
    """The quote the desk sees (a forming bar per symbol) and a clock the test moves."""

    def __init__(self) -> None:
        self.bars: dict[str, Bar] = {}
        self.now = 0.0
        self.paused = 0

    def quote(self, symbol: str) -> Bar | None:
        return self.bars.get(symbol)

    def set(self, t: int, price: float, symbol: str = SYMBOL) -> None:
        self.bars[symbol] = bar(t, price, price, price, price, symbol)

    def clock(self) -> float:
        self.now += 1.0  # every on_tick call is due
        return self.now

    def pause(self) -> list[str]:
        self.paused += 1
        return ["r1"]


@pytest.fixture
def order_settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path,
        redis_url=None,
        database_url=f"sqlite:///{tmp_path / 'tradesim.db'}",
        paper_balance=10_000.0,
        paper_commission=0.001,
        paper_slippage_bps=10.0,
    )


@pytest.fixture
def market() -> Market:
    m = Market()
    m.set(0, 100.0)
    return m


@pytest.fixture
def make_desk(order_settings: Settings, market: Market) -> Callable[[], OrderDesk]:
    db = make_engine(order_settings)
    store = OrderStore(db)
    store.save_limits(
        LimitsRecord(
            max_order_notional=None,
            max_position_notional=None,
            max_open_orders=None,
            max_daily_loss=None,
        )
    )

    def build() -> OrderDesk:
        return OrderDesk(
            OrderStore(db),
            order_settings,
            quote=market.quote,
            pause_runners=market.pause,
            clock=market.clock,
        )

    return build
