"""GET /api/runners and /api/runners/<id> send the snapshots' stored JSON text as is: the
answer equals the parsed snapshots exactly, filters still work, and a stored snapshot holding
NaN (not JSON) goes through the parsing path and is sent as null."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import redis

from engine.live.keys import Keys
from tests.api.test_api_errors import make_client


def _store(client: redis.Redis, keys: Keys, snapshot: dict[str, Any], text: str | None = None):
    client.sadd(keys.runner_ids, snapshot["runner_id"])
    client.set(keys.snapshot(snapshot["runner_id"]), text or json.dumps(snapshot))


@pytest.fixture
def api(tmp_path: Path, redis_url: str) -> tuple[Any, redis.Redis, Keys]:
    web = make_client(tmp_path, redis_url)
    prefix = f"e{abs(hash(str(tmp_path))) % 10**8}:"
    return web, redis.Redis.from_url(redis_url), Keys(prefix)


def test_the_list_is_the_stored_snapshots_in_id_order_and_filters_still_apply(api) -> None:
    web, client, keys = api
    snaps = [
        {"runner_id": "b", "symbol": "ETHUSDT", "status": "paused", "stats": {"pnl": 1.25}},
        {"runner_id": "a", "symbol": "BTCUSDT", "status": "running", "stats": {"pnl": -3e-7}},
    ]
    for snap in snaps:
        _store(client, keys, snap)
    body = web.get("/api/runners").get_json()
    assert body["status"] == "ok" and body["data"] == [snaps[1], snaps[0]]
    assert isinstance(body["timestamp"], float)
    only = web.get("/api/runners?status=paused").get_json()["data"]
    assert only == [snaps[0]]
    assert web.get("/api/runners/a").get_json()["data"] == snaps[1]


def test_a_snapshot_with_nan_is_never_sent_as_invalid_json(api) -> None:
    web, client, keys = api
    _store(client, keys, {"runner_id": "n"}, '{"runner_id": "n", "value": NaN}')
    for path, pick in (("/api/runners", lambda d: d[0]), ("/api/runners/n", lambda d: d)):
        response = web.get(path)
        assert response.status_code == 200, path
        text = response.get_data(as_text=True)
        body = json.loads(text, parse_constant=lambda c, p=path: pytest.fail(f"{p} sent {c}"))
        assert pick(body["data"]) == {"runner_id": "n", "value": None}, path


def test_history_and_events_sent_as_stored_equal_their_parsed_forms(api, redis_url) -> None:
    from engine.live.client import EngineClient

    web, client, keys = api
    _store(client, keys, {"runner_id": "h", "symbol": "BTCUSDT", "timeframe": "1m"})
    bars = [{"time": 60_000 * i, "open": 1.5, "close": 2.25 + i, "volume": 3e-8} for i in range(5)]
    for bar in bars:  # the engine pushes the newest bar to the front
        client.lpush(keys.bars("BTCUSDT", "1m"), json.dumps(bar))
    engine = EngineClient(client, keys)
    history = web.get("/api/runners/h/history?count=3").get_json()["data"]
    assert history == engine.bars("h", 3) == bars[-3:]
    for i, kind in enumerate(("RunnerCreated", "PositionClosed", "RunnerCreated")):
        data = json.dumps({"n": i, "pnl": -0.5 * i, "why": 'quote " and \\\\ slash'})
        client.xadd(keys.events, {"type": kind, "runner_id": "h", "data": data})
    answer = web.get("/api/events?count=10&type=RunnerCreated").get_json()["data"]
    expected = engine.events(count=10, event_type="RunnerCreated")
    assert answer["events"] == expected and [e["data"]["n"] for e in expected] == [0, 2]
    assert answer["last_id"] == expected[-1]["id"]
    after = web.get(f"/api/events?after={answer['last_id']}").get_json()["data"]
    assert after == {"events": [], "last_id": answer["last_id"]}
