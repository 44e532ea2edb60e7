"""Every risk limit rejects with its name and the amount; the kill switch end to end in the desk."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from engine.orders.desk import OrderDesk
from tests.orders.conftest import SYMBOL

D = Decimal


def place(desk: OrderDesk, **args):
    return desk.place({"symbol": SYMBOL, "side": "buy", "type": "market", "quantity": 1, **args})


def limit(desk: OrderDesk, **values) -> None:
    desk.store.save_limits(replace(desk.store.limits(), **values))


def test_max_order_notional(make_desk):
    desk = make_desk()
    limit(desk, max_order_notional=D(1000))
    order = place(desk, quantity=12)  # 12 x 100 = 1200
    assert order["status"] == "rejected"
    assert order["reason"].startswith("max_order_notional")
    assert "1,200.00" in order["reason"] and "by 200.00" in order["reason"]
    assert place(desk, quantity=10)["status"] == "open"


def test_max_position_notional_counts_the_position_and_lets_a_reduction_through(make_desk, market):
    desk = make_desk()
    limit(desk, max_position_notional=D(1500))
    place(desk, quantity=10)
    desk.on_tick()
    grow = place(desk, quantity=6)  # position 16 x 100 = 1600
    assert grow["status"] == "rejected" and "by 100.00" in grow["reason"]
    assert grow["reason"].startswith("max_position_notional")
    assert place(desk, side="sell", quantity=5)["status"] == "open"


def test_max_open_orders(make_desk):
    desk = make_desk()
    limit(desk, max_open_orders=2)
    for _ in range(2):
        assert place(desk, type="limit", limit_price=50.0)["status"] == "open"
    third = place(desk, type="limit", limit_price=50.0)
    assert third["status"] == "rejected" and third["reason"].startswith("max_open_orders")
    assert "over by 1" in third["reason"]


def test_max_daily_loss(make_desk, market):
    desk = make_desk()
    limit(desk, max_daily_loss=D(100))
    place(desk, quantity=20)
    desk.on_tick()
    market.set(1, 94.0)  # 20 x (94 - 100.1) is about -122 unrealized
    desk.on_tick()
    more = place(desk, quantity=1)
    assert more["status"] == "rejected" and more["reason"].startswith("max_daily_loss")
    assert place(desk, side="sell", quantity=5)["status"] == "open"  # reducing is allowed


def test_insufficient_balance(make_desk):
    desk = make_desk()
    order = place(desk, quantity=200)  # 20,000 > 10,000 cash
    assert order["status"] == "rejected" and "insufficient paper balance" in order["reason"]


def test_kill_switch_cancels_flattens_pauses_and_refuses_until_released(make_desk, market):
    desk = make_desk()
    place(desk, quantity=3)
    desk.on_tick()
    working = place(desk, type="limit", limit_price=50.0)
    result = desk.handle("orders.kill_switch", {"engage": True, "reason": "test"})
    assert result["cancelled"] == [working["order_id"]]
    assert len(result["flattened"]) == 1 and result["paused"] == ["r1"]
    assert market.paused == 1
    assert desk.store.position(SYMBOL).quantity == 0
    assert desk.store.get(working["order_id"]).status == "cancelled"
    refused = place(desk)
    assert refused["status"] == "rejected" and "kill switch" in refused["reason"]
    desk.handle("orders.kill_switch", {"engage": False})
    assert place(desk)["status"] == "open"
