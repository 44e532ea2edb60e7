"""Orders page builders: the confirmation says exactly what is sent (and warns for live),
the banner shows only while the kill switch is engaged, history rows carry what the grid shows."""

from __future__ import annotations

import json

from components.order_views import (
    estimate_text,
    history_rows,
    make_confirmation,
    make_kill_banner,
    order_summary,
)


def text(component) -> str:
    return json.dumps(
        component.to_plotly_json() if hasattr(component, "to_plotly_json") else component,
        default=lambda c: c.to_plotly_json(),
    )


BODY = {
    "symbol": "ETHUSDT",
    "side": "buy",
    "type": "limit",
    "quantity": 0.5,
    "limit_price": 2900.0,
    "time_in_force": "GTC",
    "client_order_id": "ui-1",
}


def test_confirmation_shows_the_exact_body_and_the_estimate():
    shown = text(make_confirmation(BODY, 1450.0, 1.45))
    assert json.dumps(json.dumps(BODY, indent=2))[1:-1] in shown
    assert "1,450.00" in shown and "1.45" in shown and "PAPER" in shown
    assert order_summary(BODY) == "BUY 0.5 ETHUSDT limit at 2,900.00 or better GTC"


def test_a_live_confirmation_names_the_exchange():
    shown = text(make_confirmation({**BODY, "mode": "live"}, 1450.0, 1.45, "binanceus"))
    assert "LIVE \\u00b7 binanceus" in shown and "real order on binanceus" in shown


def test_banner_only_while_engaged():
    assert make_kill_banner({"kill_switch": False}) is None
    banner = text(make_kill_banner({"kill_switch": True, "kill_switch_at": "2026-12-01T10:00:00Z"}))
    assert "Kill switch engaged" in banner and "2026-12-01 10:00:00" in banner


def test_estimate_and_history_rows():
    shown = text(estimate_text("sell", 2.0, 100.0, "Last", 0.001))
    assert "200.00" in shown and "0.20" in shown and "proceeds" in shown and "199.80" in shown
    row = history_rows(
        [
            {
                "order_id": "a" * 32,
                "created_at": "2026-12-01T10:00:00.5Z",
                "symbol": "ETHUSDT",
                "side": "buy",
                "type": "stop",
                "quantity": 1.0,
                "limit_price": None,
                "stop_price": 3000.0,
                "status": "open",
                "avg_fill_price": None,
                "fee": 0.0,
                "reason": None,
                "source": "ui",
            }
        ]
    )[0]
    assert (row["price"], row["created"], row["reason"]) == (3000.0, "2026-12-01 10:00:00", "")
