"""Fill rules on single events, against prices worked out by hand."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from engine.orders.fills import PriceEvent, fill_price
from tests.orders.conftest import bar

D = Decimal


def on_bar(kind, side, o, h, low, c, **prices):
    return fill_price(kind, side, PriceEvent.of_bar(bar(1, o, h, low, c)), **prices)


@pytest.mark.parametrize(
    ("side", "o", "h", "low", "expected"),
    [
        ("buy", 100, 106, 99, D("105")),  # trades through: at the stop
        ("buy", 107, 110, 106.5, D("107")),  # gap above the stop: at the open
        ("buy", 100, 104.9, 99, None),  # never reached
        ("sell", 100, 101, 94, D("95")),
        ("sell", 93, 94, 90, D("93")),  # gap below: at the open
        ("sell", 100, 101, 95.1, None),
    ],
)
def test_stop_fills_at_the_stop_or_the_gap_open(side, o, h, low, expected):
    stop = D(105) if side == "buy" else D(95)
    assert on_bar("stop", side, o, h, low, (h + low) / 2, stop=stop) == expected


def test_stop_and_market_fills_pay_slippage_limits_do_not():
    bps = D(10)
    assert on_bar("stop", "buy", 107, 110, 106, 108, stop=D(105), slippage_bps=bps) == D("107.107")
    assert on_bar("market", "sell", 100, 101, 99, 100, slippage_bps=bps) == D("99.9")
    assert on_bar("limit", "buy", 100, 101, 94, 95, limit=D(95), slippage_bps=bps) == D("95")


@pytest.mark.parametrize(
    ("side", "o", "h", "low", "expected"),
    [
        ("buy", 100, 101, 94, D("95")),  # reaches the limit
        ("buy", 93, 96, 92, D("93")),  # opens below it: the better open
        ("buy", 100, 101, 95.5, None),  # not touched
        ("sell", 100, 106, 99, D("105")),
        ("sell", 107, 108, 104, D("107")),
        ("sell", 100, 104.5, 99, None),
    ],
)
def test_limit_fills_at_the_limit_or_better(side, o, h, low, expected):
    limit = D(95) if side == "buy" else D(105)
    assert on_bar("limit", side, o, h, low, (h + low) / 2, limit=limit) == expected


def test_market_on_a_tick_takes_the_ask_or_the_bid():
    tick = bar(1, 100, 100, 100, 100)
    quoted = replace(tick, bid=99.5, ask=100.5)
    event = PriceEvent.tick(quoted)
    assert fill_price("market", "buy", event) == D("100.5")
    assert fill_price("market", "sell", event) == D("99.5")
