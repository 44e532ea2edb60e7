"""The real engine process driven through the REST API: create, run, pause, resume, delete,
SIGKILL, restart, and find the runners back."""

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from app import create_app
from engine.platform.services import build_services
from engine.storage.db import make_engine


def wait_for(check: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class EngineProcess:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "engine.live.main"],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def kill(self, sig: int = signal.SIGKILL) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        return self.process.wait(timeout=15)


@pytest.fixture
def engine_process(engine_env) -> Iterator[EngineProcess]:
    proc = EngineProcess(engine_env)
    proc.start()
    yield proc
    if proc.process and proc.process.poll() is None:
        proc.kill()


@pytest.fixture
def api(settings):
    services = build_services(settings, settings.redis_url, make_engine(settings))
    return create_app(services).server.test_client()


def data(response) -> Any:
    body = response.get_json()
    assert body["status"] == "ok", body
    return body["data"]


def bars(api, runner_id: str) -> int:
    return data(api.get(f"/api/runners/{runner_id}"))["stats"]["bars_processed"]


def test_engine_lifecycle_through_the_api(api, engine_process, settings):
    # the first heartbeat comes once the runner hosts are up (a few seconds on a busy machine)
    wait_for(lambda: api.get("/api/engine/health").status_code == 200, timeout=60, what="heartbeat")
    created = api.post(
        "/api/runners",
        json={
            "runner_id": "eth-rsi",
            "symbol": "ETHUSDT",
            "strategy_name": "rsi_mean_reversion",
            "timeframe": "5m",
            "params": {"period": 10},
        },
    )
    assert created.status_code == 201, created.get_json()
    api.post(
        "/api/runners",
        json={
            "runner_id": "btc-ema",
            "symbol": "BTCUSDT",
            "strategy_path": "examples/ema_crossover.lua",
        },
    )
    assert (
        api.post(
            "/api/runners",
            json={"runner_id": "btc-ema", "symbol": "BTCUSDT", "strategy_name": "ema_crossover"},
        ).status_code
        == 409
    )
    listed = data(api.get("/api/runners"))
    assert [r["runner_id"] for r in listed] == ["btc-ema", "eth-rsi"]
    assert data(api.get("/api/runners?symbol=ETHUSDT"))[0]["params"]["period"] == 10

    wait_for(lambda: bars(api, "eth-rsi") >= 20, what="bars processed")
    assert len(data(api.get("/api/runners/eth-rsi/history?count=10"))) == 10
    assert "rsi(10)" in data(api.get("/api/runners/eth-rsi/indicators"))
    log = data(api.get("/api/runners/eth-rsi/logic-log?count=5"))
    assert len(log) == 5 and log[0]["bar"] > log[-1]["bar"]

    assert data(api.post("/api/runners/eth-rsi/pause"))["status"] == "paused"
    paused_at = bars(api, "eth-rsi")
    time.sleep(0.5)
    assert bars(api, "eth-rsi") == paused_at
    assert data(api.post("/api/runners/eth-rsi/resume"))["status"] == "running"
    wait_for(lambda: bars(api, "eth-rsi") > paused_at + 5, what="bars after resume")

    api.post("/api/runners/btc-ema/stop")
    assert data(api.delete("/api/runners/btc-ema"))["deleted"] is True
    assert api.get("/api/runners/btc-ema").status_code == 404

    engine_process.kill(signal.SIGKILL)
    wait_for(
        lambda: api.get("/api/engine/health").status_code == 503,
        timeout=10,
        what="heartbeat expiry",
    )
    refused = api.post("/api/runners/eth-rsi/pause")
    assert refused.status_code == 503
    assert refused.get_json()["error"]["code"] == "engine_unavailable"

    engine_process.start()
    wait_for(lambda: api.get("/api/engine/health").status_code == 200, timeout=60, what="restart")
    restored = wait_for(
        lambda: [e for e in data(api.get("/api/events?type=RunnerRestored&count=100"))["events"]],
        what="RunnerRestored event",
    )
    assert [e["runner_id"] for e in restored] == ["eth-rsi"]
    after = data(api.get("/api/runners/eth-rsi"))
    assert after["status"] == "running" and after["params"] == {
        "period": 10,
        "oversold": 30,
        "overbought": 70,
        "stop_atr": 2,
        "target_atr": 3,
    }
    assert engine_process.kill(signal.SIGTERM) == 0


def test_api_validation_and_reads_without_engine(api):
    bad = api.post("/api/runners", json={"runner_id": 5, "symbol": "BTCUSDT"})
    assert bad.status_code == 400
    assert "body.runner_id should be a valid string" in bad.get_json()["error"]["message"]
    unknown = api.post("/api/runners", json={"runner_id": "a", "sym": "BTCUSDT"})
    fields = {d["field"] for d in unknown.get_json()["error"]["details"]}
    assert "body.sym" in fields
    not_json = api.post("/api/runners", data="{oops", content_type="application/json")
    assert not_json.status_code == 400
    assert api.get("/api/runners/nope").status_code == 404
    assert api.get("/api/runners/nope/history?count=5").status_code == 404
    assert api.get("/api/runners/nope/history?count=abc").status_code == 400
    assert api.get("/api/events?type=Bogus").status_code == 400
    assert api.get("/api/events?after=xyz").status_code == 400
    offline = api.post(
        "/api/runners",
        json={"runner_id": "a", "symbol": "BTCUSDT", "strategy_name": "ema_crossover"},
    )
    assert offline.status_code == 503
    symbols = data(api.get("/api/symbols"))
    assert sum(len(v) for v in symbols.values()) == 18 and len(symbols) == 4
    assert data(api.get("/health")) == {
        "web": "ok",
        "redis": True,
        "engine": False,
        "restarts": {},
    }
    summary = data(api.get("/api/engine/summary"))
    assert summary["online"] is False and summary["total"] == 0


def test_openapi_document_is_valid(api):
    from openapi_spec_validator import validate

    spec = api.get("/api/openapi.json").get_json()
    validate(spec)
    assert {"/api/runners", "/api/runners/{runner_id}/pause", "/api/events"} <= set(spec["paths"])


def test_oversized_body_gets_a_json_413(api):
    response = api.post("/api/runners", data="x" * (600 * 1024), content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"


def history_times(api, runner_id: str) -> list[int]:
    return [b["time"] for b in data(api.get(f"/api/runners/{runner_id}/history?count=500"))]


def assert_contiguous(times: list[int], step: int) -> None:
    """Strictly increasing, one bar per step: no repeated, reordered or missing bar."""
    assert times, "no bars"
    gaps = sorted({b - a for a, b in itertools.pairwise(times)})
    assert gaps == [step], f"bar steps {gaps[:5]} (expected only {step})"


def test_feed_history_monotone_across_delete_recreate_and_restarts(api, engine_process):
    """The feed-reuse bug: deleting the last runner of a feed and creating a new one on it
    made /history jump back in time and repeat timestamps. Bars continue instead, also after
    a clean restart and a kill -9 of the engine; the last stored bar is where it continues."""
    # the first heartbeat comes once the runner hosts are up (a few seconds on a busy machine)
    wait_for(lambda: api.get("/api/engine/health").status_code == 200, timeout=60, what="heartbeat")
    body = {"symbol": "BTCUSDT", "strategy_name": "ema_crossover", "timeframe": "1m"}
    seen: list[int] = []
    for round_no, stop in enumerate((None, None, signal.SIGTERM, signal.SIGKILL)):
        rid = f"reuse-{round_no}"
        created = api.post("/api/runners", json={"runner_id": rid, **body})
        assert created.status_code == 201, created.get_json()
        wait_for(lambda rid=rid: bars(api, rid) >= 30, what=f"bars of {rid}")
        times = history_times(api, rid)
        assert_contiguous(times, 60_000)
        if seen:
            assert times[0] <= seen[-1] < times[-1]  # the same feed, continued
        seen = times
        if stop is None:
            assert data(api.delete(f"/api/runners/{rid}"))["deleted"] is True
            continue
        engine_process.kill(stop)  # the runner stays: it is restored on this feed
        engine_process.start()
        wait_for(
            lambda: (
                (api.get("/api/engine/health").get_json().get("data") or {}).get("pid")
                == engine_process.process.pid
            ),
            timeout=60,
            what="the new engine's heartbeat",
        )
        wait_for(lambda rid=rid: api.get(f"/api/runners/{rid}").status_code == 200, what="up")
        wait_for(
            lambda rid=rid, last=seen[-1]: history_times(api, rid)[-1] > last + 10 * 60_000,
            what="bars after the restart",
        )
        after = history_times(api, rid)
        assert_contiguous(after, 60_000)
        assert after[0] <= seen[-1]
        seen = after
        assert data(api.delete(f"/api/runners/{rid}"))["deleted"] is True
