"""The chart tab's live poll (pages/chart.py) in the real app over a real database: nothing
is sent when nothing changed; a new bar and a new signal come back as a small Patch."""

from __future__ import annotations

from typing import Any

import pytest
from dash.exceptions import PreventUpdate

from app import create_app
from engine.data.history import SIM_START_MS
from engine.platform.services import build_services
from engine.platform.settings import Settings
from engine.setups.chart import load_candles, load_signals, parse_chart_request
from engine.storage.db import make_engine
from engine.storage.setup_store import SetupStore
from engine.strategy.store import StrategyStore
from tests.conftest import ROOT

HOUR = 3_600_000


def test_poll_sends_only_what_changed(settings: Settings) -> None:
    db = make_engine(settings)
    app = create_app(build_services(settings, settings.redis_url or "", db))
    from components.chart_tab import chart_figure
    from pages import chart  # registered by create_app

    store = StrategyStore(ROOT / "lua-strategies")
    query = {"indicators": "sma_20,rsi_14", "strategies": "ema_crossover"}
    request = parse_chart_request("BTCUSDT", "1h", query, store)
    now = SIM_START_MS + 500 * HOUR + 10
    series = load_candles(db, request, start_ms=SIM_START_MS, now_ms=now)
    _figure, trace_map = chart_figure(series, request.indicators)
    state: dict[str, Any] = chart._state(request, series, trace_map, [])
    with app.server.app_context():
        with pytest.raises(PreventUpdate):  # same bars, no signal: nothing goes back
            chart._patch(state, request, now_ms=now)
        # one more closed bar (below: the hour passes), and a signal
        added = SetupStore(db).add_signals(
            [
                {
                    "setup_id": 0,
                    "symbol": "BTCUSDT",
                    "timeframe": "1h",
                    "time": int(series.timestamp[-1]),
                    "strategy": "ema_crossover",
                    "signal": "BUY",
                    "action": "enter_long",
                    "price": 42_000.0,
                    "confidence": None,
                    "reason": "test",
                    "indicators": {},
                }
            ]
        )
        assert added == 1
        patch, fresh = chart._patch(state, request, now_ms=now + HOUR)
    ops = patch.to_plotly_json()["operations"]
    extended = {
        tuple(op["location"]): op["params"]["value"] for op in ops if op["operation"] == "Extend"
    }
    assert extended[("data", 0, "x")] == [int(series.timestamp[-1]) + HOUR]  # one new bar
    buy = len(trace_map) + 1
    assert extended[("data", buy, "x")] == [int(series.timestamp[-1])]  # the new signal
    assert fresh["shown"] == len(series) + 1 and fresh["signal_id"] == 1
    assert len(load_signals(db, request, after_id=fresh["signal_id"])) == 0
    db.dispose()
