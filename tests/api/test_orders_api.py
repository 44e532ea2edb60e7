"""Orders through the REST API against the real engine process (real Redis, real database
file, simulated feed at 3000x): fills, cancel, bad input, idempotency, risk limits, the kill
switch with live runners, and orders and the account surviving an engine restart."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from app import create_app
from engine.platform.services import build_services
from engine.storage.db import make_engine
from tests.live.test_engine_process import EngineProcess, data, wait_for

SYMBOL = "ETHUSDT"


@pytest.fixture
def engine_process(engine_env):
    proc = EngineProcess(engine_env)
    proc.start()
    yield proc
    if proc.process and proc.process.poll() is None:
        proc.kill()


@pytest.fixture
def api(settings, engine_process):
    services = build_services(settings, settings.redis_url, make_engine(settings))
    client = create_app(services).server.test_client()
    # the engine's first heartbeat comes once its runner hosts are up (slow on a busy machine)
    wait_for(lambda: client.get("/api/engine/health").status_code == 200, 60, "engine")
    return client


def place(api, **fields: Any):
    body = {"symbol": SYMBOL, "side": "buy", "type": "market", "quantity": 0.5, **fields}
    return api.post("/api/trading/place-order", json=body)


def order(api, order_id: str) -> dict[str, Any]:
    return data(api.get(f"/api/trading/order-status/{order_id}"))


def price(api) -> float:
    """The last price of SYMBOL the engine marked (a market order's fill)."""
    placed = data(place(api, quantity=0.01))
    done = wait_for(lambda: order(api, placed["order_id"])["status"] == "filled" or None)
    assert done
    return float(order(api, placed["order_id"])["avg_fill_price"])


def test_market_fills_limit_waits_and_cancels(api):
    created = place(api)
    assert created.status_code == 201, created.get_json()
    placed = data(created)
    assert placed["status"] == "open" and placed["mode"] == "paper"
    wait_for(lambda: order(api, placed["order_id"])["status"] == "filled", 5, "market fill")
    filled = order(api, placed["order_id"])
    assert [e["status"] for e in filled["events"]] == ["pending", "open", "filled"]
    assert len(filled["fills"]) == 1 and filled["fills"][0]["quantity"] == 0.5
    fee = filled["fills"][0]["price"] * 0.5 * 0.001
    assert filled["fee"] == pytest.approx(fee, rel=1e-9)

    last = filled["avg_fill_price"]
    resting = data(place(api, type="limit", limit_price=round(last * 0.5, 2)))
    assert order(api, resting["order_id"])["status"] == "open"
    cancelled = api.post("/api/trading/cancel-order", json={"order_id": resting["order_id"]})
    assert data(cancelled)["status"] == "cancelled"
    again = api.post("/api/trading/cancel-order", json={"order_id": resting["order_id"]})
    assert again.status_code == 409

    account = data(api.get("/api/trading/account"))
    assert account["positions"][0]["symbol"] == SYMBOL
    assert account["positions"][0]["quantity"] == 0.5
    assert account["cash"] == pytest.approx(10_000 - 0.5 * last - fee, rel=1e-9)

    listed = data(api.get("/api/trading/orders?status=cancelled"))
    assert [o["order_id"] for o in listed["items"]] == [resting["order_id"]]
    page = data(api.get("/api/trading/orders?limit=1&offset=1"))
    assert page["total"] == 2 and page["items"][0]["order_id"] == placed["order_id"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"symbol": "NOPE"}, "body.symbol"),
        ({"quantity": 0}, "body.quantity"),
        ({"quantity": -2}, "body.quantity"),
        ({"type": "limit"}, "body.limit_price"),
        ({"type": "stop", "side": "buy", "stop_price": 0.01}, "body.stop_price"),
        ({"mode": "live"}, "body.mode"),
    ],
)
def test_bad_orders_are_400_naming_the_field(api, fields, field):
    answer = place(api, **fields)
    assert answer.status_code == 400, answer.get_json()
    error = answer.get_json()["error"]
    assert field in error["message"] or any(d["field"] == field for d in error["details"] or [])
    assert data(api.get("/api/trading/orders"))["total"] == 0


def test_a_retried_client_order_id_places_one_order(api):
    first = data(place(api, client_order_id="ui-42"))
    second = place(api, client_order_id="ui-42")
    assert second.status_code == 201
    assert data(second)["order_id"] == first["order_id"] and data(second)["duplicate"]
    assert data(api.get("/api/trading/orders"))["total"] == 1


def test_risk_limits_reject_with_the_limit_and_the_amount(api):
    risk = data(api.put("/api/trading/risk", json={"max_order_notional": 100.0}))
    assert risk["max_order_notional"] == 100.0 and risk["kill_switch"] is False
    rejected = data(place(api, quantity=1))
    assert rejected["status"] == "rejected"
    assert (
        rejected["reason"].startswith("max_order_notional")
        and "over the limit" in rejected["reason"]
    )
    assert (
        data(api.put("/api/trading/risk", json={"max_order_notional": None}))["max_order_notional"]
        is None
    )
    assert data(place(api, quantity=1))["status"] == "open"


def test_kill_switch_cancels_flattens_pauses_runners_and_refuses_orders(api):
    created = api.post(
        "/api/runners",
        json={"runner_id": "eth-ema", "symbol": SYMBOL, "strategy_name": "ema_crossover"},
    )
    assert created.status_code == 201
    stopped = {"runner_id": "eth-rsi", "symbol": SYMBOL, "strategy_name": "rsi_mean_reversion"}
    assert api.post("/api/runners", json=stopped).status_code == 201
    assert data(api.post("/api/runners/eth-rsi/stop"))["status"] == "stopped"
    bought = data(place(api))
    wait_for(lambda: order(api, bought["order_id"])["status"] == "filled", what="fill")
    resting = data(place(api, type="limit", limit_price=1.0))
    engaged = data(api.post("/api/trading/kill-switch", json={"engage": True}))
    assert engaged["cancelled"] == [resting["order_id"]]
    assert engaged["paused"] == ["eth-ema"] and len(engaged["flattened"]) == 1
    assert data(api.get("/api/runners/eth-ema"))["status"] == "paused"
    assert data(api.get("/api/runners/eth-rsi"))["status"] == "stopped"  # left as it was
    assert data(api.get("/api/trading/account"))["positions"] == []
    assert data(api.get("/api/trading/risk"))["kill_switch"] is True
    refused = data(place(api))
    assert refused["status"] == "rejected" and "kill switch" in refused["reason"]
    data(api.post("/api/trading/kill-switch", json={"engage": False}))
    assert data(place(api))["status"] == "open"


def test_orders_and_account_survive_an_engine_restart(api, engine_process):
    last = price(api)
    resting = data(place(api, type="limit", limit_price=round(last * 0.5, 2)))
    before = data(api.get("/api/trading/account"))
    engine_process.kill(signal.SIGKILL)
    wait_for(lambda: api.get("/api/engine/health").status_code == 503, 10, "heartbeat expiry")
    assert place(api).status_code == 503
    engine_process.start()
    wait_for(lambda: api.get("/api/engine/health").status_code == 200, 60, "restart")
    assert order(api, resting["order_id"])["status"] == "open"
    after = data(api.get("/api/trading/account"))
    assert after["cash"] == before["cash"]
    assert after["positions"][0]["quantity"] == before["positions"][0]["quantity"]
    cancelled = api.post("/api/trading/cancel-order", json={"order_id": resting["order_id"]})
    assert data(cancelled)["status"] == "cancelled"
