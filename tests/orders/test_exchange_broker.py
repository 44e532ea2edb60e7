"""The live exchange broker on recorded Binance US answers (a real ccxt.binanceus signs and
parses; no network): refused without the opt-in and keys, a market fill, a limit that rests
and is cancelled, an exchange rejection and a timeout as order statuses, keys never shown."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from engine.errors import CommandError, ConfigError
from engine.orders.desk import OrderDesk
from engine.orders.exchange import ExchangeBroker
from tests.orders.conftest import bar
from tests.orders.recorded_orders import API_KEY, SECRET, RecordedOrders

ORDER_PATH = "/api/v3/order"


@pytest.fixture
def recorded() -> RecordedOrders:
    return RecordedOrders()


@pytest.fixture
def live_desk(order_settings, market, make_desk, recorded):
    settings = replace(
        order_settings, live_trading=True, exchange_api_key=API_KEY, exchange_secret=SECRET
    )
    broker = ExchangeBroker.from_settings(settings, factory=recorded.make)
    desk = make_desk()
    desk.live = broker
    return desk


def live(desk: OrderDesk, **args):
    body = {"symbol": "BTCUSDT", "side": "buy", "type": "market", "quantity": 0.001}
    return desk.place({**body, "mode": "live", **args})


def test_refuses_without_the_opt_in_or_the_keys(order_settings, make_desk):
    with pytest.raises(ConfigError, match="TRADESIM_LIVE_TRADING=1"):
        ExchangeBroker.from_settings(order_settings)
    opted_in = replace(order_settings, live_trading=True, exchange_api_key=API_KEY)
    with pytest.raises(ConfigError, match="TRADESIM_EXCHANGE_SECRET"):
        ExchangeBroker.from_settings(opted_in)
    desk = make_desk()
    with pytest.raises(CommandError, match="live trading is off") as info:
        live(desk)
    assert info.value.details[0]["field"] == "body.mode"
    assert desk.store.find()[1] == 0
    assert repr(opted_in).count(API_KEY) == 0


def test_a_live_market_order_fills_from_the_exchange_answer(live_desk, recorded):
    recorded.answers[("POST", ORDER_PATH)] = ["new_market_filled"]
    placed = live(live_desk, client_order_id="live-1")
    assert placed["status"] == "filled" and placed["mode"] == "live"
    assert placed["avg_fill_price"] == 40000.0 and placed["exchange_order_id"] == "28"
    sent = recorded.requests[-1]
    assert (sent["side"], sent["type"], sent["quantity"]) == ("BUY", "MARKET", "0.001")
    assert sent["newClientOrderId"] == "live-1" and "signature" in sent
    fills = live_desk.store.fills(placed["order_id"])
    assert [(f.price, f.fee) for f in fills] == [(Decimal(40000), Decimal("0.04"))]
    assert live_desk.store.position("BTCUSDT").quantity == 0  # the paper account is untouched


def test_a_live_limit_rests_then_is_cancelled_and_polling_sees_fills(live_desk, recorded):
    recorded.answers[("POST", ORDER_PATH)] = ["new_limit_open", "new_limit_open"]
    recorded.answers[("DELETE", ORDER_PATH)] = ["cancel_limit"]
    recorded.answers[("GET", ORDER_PATH)] = ["query_limit_filled"]
    resting = live(live_desk, type="limit", limit_price=20000.0)
    assert resting["status"] == "open" and resting["exchange_order_id"] == "29"
    live_desk.on_bar(bar(9, 1.0, 1.0, 1.0, 1.0))  # the paper feed never fills a live order
    assert live_desk.store.get(resting["order_id"]).status == "open"
    cancelled = live_desk.cancel({"order_id": resting["order_id"]})
    assert cancelled["status"] == "cancelled"
    assert recorded.requests[-1]["method"] == "DELETE"

    second = live(live_desk, type="limit", limit_price=20000.0)
    live_desk._polled = -10.0  # the next tick polls
    live_desk.on_tick()  # polls the exchange: the recorded answer says FILLED
    filled = live_desk.store.get(second["order_id"])
    assert (filled.status, filled.avg_fill_price) == ("filled", Decimal(20000))


def test_an_exchange_rejection_is_a_rejected_order_with_its_message(live_desk, recorded):
    recorded.answers[("POST", ORDER_PATH)] = ["error_insufficient_balance"]
    placed = live(live_desk)
    assert placed["status"] == "rejected"
    assert "InsufficientFunds" in placed["reason"] and "insufficient balance" in placed["reason"]
    assert API_KEY not in placed["reason"] and SECRET not in placed["reason"]


def test_a_timeout_leaves_the_order_pending_until_the_exchange_answers(live_desk, recorded):
    recorded.answers[("POST", ORDER_PATH)] = ["timeout"]
    recorded.answers[("GET", ORDER_PATH)] = ["timeout", "query_limit_filled"]
    placed = live(live_desk, type="limit", limit_price=20000.0)
    assert placed["status"] == "pending" and "RequestTimeout" in placed["reason"]
    live_desk._polled = -10.0
    live_desk.on_tick()  # still no answer: nothing changes
    assert live_desk.store.get(placed["order_id"]).status == "pending"
    live_desk._polled -= 10
    live_desk.on_tick()
    assert live_desk.store.get(placed["order_id"]).status == "filled"
    assert recorded.requests[-1]["origClientOrderId"] == placed["client_order_id"]


def test_balance_and_open_orders(live_desk, recorded):
    recorded.answers[("GET", "/api/v3/account")] = ["account"]
    recorded.answers[("GET", "/api/v3/openOrders")] = ["open_orders"]
    account = live_desk.handle("orders.live_account", {})
    assert account["exchange"] == "binanceus"
    assert account["balances"]["USDT"] == {"free": 960.0, "used": 20.0, "total": 980.0}
    assert "ETH" not in account["balances"]
    assert [o["id"] for o in live_desk.live.open_orders("BTCUSDT")] == ["29"]


def test_a_stop_the_market_cannot_take_is_rejected_with_ccxts_message(live_desk, recorded):
    market_price = 100.0  # the conftest quote: a sell stop below it
    placed = live(live_desk, side="sell", type="stop", stop_price=market_price - 10)
    assert placed["status"] == "rejected" and "InvalidOrder" in placed["reason"]
    assert not [r for r in recorded.requests if r["method"] == "POST"]  # nothing was sent
