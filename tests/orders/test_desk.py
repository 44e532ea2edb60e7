"""The paper broker end to end on a real database: order lifecycle on crafted bars and ticks,
idempotency, validation, the account's arithmetic and a restart."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.errors import CommandError
from engine.orders.desk import OrderDesk
from tests.orders.conftest import SYMBOL, bar

D = Decimal


def place(desk: OrderDesk, **args):
    return desk.place({"symbol": SYMBOL, "side": "buy", "type": "market", "quantity": 1, **args})


def status(desk: OrderDesk, order: dict) -> str:
    found = desk.store.get(order["order_id"])
    assert found is not None
    return found.status


def test_market_order_fills_on_the_next_tick_with_slippage_and_fee(make_desk, market):
    desk = make_desk()
    order = place(desk, quantity=2)
    assert order["status"] == "open"
    market.set(0, 101.0)
    desk.on_tick()
    filled = desk.store.get(order["order_id"])
    assert filled.status == "filled"
    price = D("101") * (1 + D(10) / 10_000)  # 10 bps against the buyer
    assert filled.avg_fill_price == price
    fee = 2 * price * D("0.001")
    assert filled.fee == fee.quantize(D("1e-10"))
    account = desk.store.account(D(10_000))
    assert account.cash == (D(10_000) - 2 * price - fee).quantize(D("1e-10"))
    assert desk.store.position(SYMBOL).quantity == 2
    statuses = [e["status"] for e in desk.store.events(order["order_id"])]
    assert statuses == ["pending", "open", "filled"]


def test_limit_not_touched_stays_open_then_fills_at_the_limit(make_desk, market):
    desk = make_desk()
    order = place(desk, type="limit", limit_price=95.0)
    for t in range(1, 4):
        desk.on_bar(bar(t, 100, 101, 96, 99))
        market.set(t, 99.0)
        desk.on_tick()
    assert status(desk, order) == "open"
    desk.on_bar(bar(4, 99, 99.5, 94, 96))
    filled = desk.store.get(order["order_id"])
    assert (filled.status, filled.avg_fill_price) == ("filled", D(95))


def test_a_gap_through_a_stop_fills_at_the_open(make_desk, market):
    desk = make_desk()
    order = place(desk, type="stop", stop_price=105.0)
    desk.on_bar(bar(1, 100, 104, 99, 103))
    assert status(desk, order) == "open"
    desk.on_bar(bar(2, 108, 110, 107, 109))
    filled = desk.store.get(order["order_id"])
    assert filled.avg_fill_price == (D(108) * (1 + D(10) / 10_000)).quantize(D("1e-10"))


def test_a_bar_that_began_before_the_order_does_not_fill_it(make_desk, market):
    market.set(5, 100.0)  # the bar forming when the order is placed opened at minute 5
    desk = make_desk()
    order = place(desk, type="limit", limit_price=95.0)
    desk.on_bar(bar(5, 100, 100, 90, 99))  # its low was before the order: not a fill
    assert status(desk, order) == "open"
    desk.on_bar(bar(6, 99, 99, 94.5, 96))
    assert status(desk, order) == "filled"


def test_ioc_cancels_when_the_first_price_does_not_fill_it(make_desk, market):
    desk = make_desk()
    missed = place(desk, type="limit", limit_price=90.0, time_in_force="IOC")
    hit = place(desk, type="limit", limit_price=100.0, time_in_force="IOC")
    desk.on_tick()
    assert status(desk, missed) == "cancelled"
    assert "IOC" in (desk.store.get(missed["order_id"]).reason or "")
    assert status(desk, hit) == "filled"


def test_client_order_id_makes_a_retry_place_one_order(make_desk):
    desk = make_desk()
    first = place(desk, client_order_id="retry-1")
    again = place(desk, client_order_id="retry-1")
    assert again["order_id"] == first["order_id"] and again["duplicate"] is True
    assert desk.store.find()[1] == 1
    with pytest.raises(CommandError) as info:
        place(desk, client_order_id="retry-1", quantity=3)
    assert info.value.code == "conflict"


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"symbol": "NOPE"}, "body.symbol"),
        ({"quantity": 0}, "body.quantity"),
        ({"quantity": -1}, "body.quantity"),
        ({"type": "limit"}, "body.limit_price"),
        ({"type": "stop"}, "body.stop_price"),
        ({"type": "stop", "stop_price": 99.0}, "body.stop_price"),  # buy stop below market
        ({"type": "stop", "side": "sell", "stop_price": 101.0}, "body.stop_price"),
        ({"type": "market", "limit_price": 99.0}, "body.limit_price"),
        ({"mode": "live"}, "body.mode"),
    ],
)
def test_bad_orders_are_refused_naming_the_field(make_desk, args, field):
    desk = make_desk()
    with pytest.raises(CommandError) as info:
        place(desk, **args)
    assert info.value.code == "validation"
    assert field in info.value.message
    assert desk.store.find()[1] == 0


def test_round_trip_realizes_pnl_like_a_plain_calculation(make_desk, market):
    desk = make_desk()
    fills = []
    for t, (side, qty, price) in enumerate(
        [("buy", 3, 100.0), ("buy", 1, 104.0), ("sell", 2, 110.0), ("sell", 4, 90.0)], start=1
    ):
        market.set(t, price)
        order = place(desk, side=side, quantity=qty)
        desk.on_tick()
        fills.append(desk.store.get(order["order_id"]))
    # reference: plain Python over the fills
    pos, avg, realized, cash = D(0), D(0), D(0), D(10_000)
    for f in fills:
        q = f.quantity if f.side == "buy" else -f.quantity
        if pos == 0 or (pos > 0) == (q > 0):
            avg = (abs(pos) * avg + abs(q) * f.avg_fill_price) / (abs(pos) + abs(q))
        else:
            closed = min(abs(pos), abs(q))
            realized += (f.avg_fill_price - avg) * closed * (1 if pos > 0 else -1)
            if abs(q) > abs(pos):
                avg = f.avg_fill_price
        pos += q
        cash -= q * f.avg_fill_price + f.fee
    account = desk.store.account(D(10_000))
    position = desk.store.position(SYMBOL)
    assert position.quantity == pos == -2
    assert abs(account.realized_pnl - realized) < D("1e-8")
    assert abs(account.cash - cash) < D("1e-8")
    assert abs(position.avg_price - avg) < D("1e-8")


def test_orders_and_account_survive_a_restart(make_desk, market):
    desk = make_desk()
    place(desk)
    desk.on_tick()
    waiting = place(desk, type="limit", limit_price=95.0)
    cash = desk.store.account(D(10_000)).cash
    del desk
    restarted = make_desk()
    assert set(restarted.working) == {waiting["order_id"]}
    assert restarted.store.account(D(10_000)).cash == cash
    assert restarted.watched() == {SYMBOL}
    restarted.on_bar(bar(1, 96, 97, 94, 95))
    assert status(restarted, waiting) == "filled"
    assert restarted.store.position(SYMBOL).quantity == 2
