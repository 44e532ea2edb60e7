"""Latency of the runner pages' refresh callbacks with 200 runners in Redis (target p95 < 100 ms).

Real snapshots, bars, decisions and trades are published by five real live runners (one per
example strategy) through the engine's Publisher into a private embedded Redis, then cloned to
200 runners in mixed states. Each measurement is what a callback does: the Redis reads through
``EngineClient``, building the components/figure, and encoding the response as Dash does.
Run: ``.venv/bin/python -m benchmarks.bench_ui_callbacks``.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis
from plotly.io.json import to_json_plotly

from engine.data.symbols import SYMBOLS
from engine.live.feeds import SimulatedLiveFeed
from engine.live.keys import Keys
from engine.live.publisher import Publisher, trade_json
from engine.live.runner import LiveRunner, RunnerConfig
from engine.platform.redis_server import EmbeddedRedis
from engine.platform.resources import SOURCE_ROOT as PROJECT_ROOT
from engine.storage.runner_store import RunnerRecord, RunnerStore
from engine.strategy.instance import StrategySource

EXAMPLES = (
    "ema_crossover",
    "rsi_mean_reversion",
    "bollinger_bounce",
    "macd_cross",
    "range_breakout",
)
STATUSES = ("running",) * 5 + ("paused", "stopped", "error")
RUNNERS = 200
BARS = 600


def publish_examples(
    client: redis.Redis, keys: Keys
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, Any]]]]:
    """Run each example live for BARS bars, publishing like the engine; returns snapshots and
    each seed runner's closed trades (which the engine stores in the database)."""
    publisher = Publisher(client, keys)
    snapshots = []
    trades: dict[str, list[dict[str, Any]]] = {}
    for name, spec in zip(EXAMPLES, SYMBOLS, strict=False):
        config = RunnerConfig(
            runner_id=f"seed-{name}",
            symbol=spec.symbol,
            timeframe="1m",
            strategy_path=f"examples/{name}.lua",
        )
        path = PROJECT_ROOT / "lua-strategies" / config.strategy_path
        runner = LiveRunner(config, StrategySource.from_file(path))
        feed = SimulatedLiveFeed(spec.symbol, "1m", seed=zlib.crc32(name.encode()))
        runner.warm_up(feed.history())
        closed = trades.setdefault(config.runner_id, [])
        for i in range(BARS):
            bar = feed.next_bar()
            outcome = runner.on_bar(bar)
            publisher.bar(bar)
            if outcome is not None:
                publisher.outcome(runner, outcome)
                closed += [trade_json(t) for t in outcome.trades]
            if i % 20 == 0:
                publisher.snapshot(runner, force=True)
                publisher.flush()
        publisher.snapshot(runner, force=True)
        publisher.flush()
        snapshots.append(runner.snapshot())
    return snapshots, trades


def store_trades(db: Any, snapshots: list[dict[str, Any]], trades: dict[str, Any]) -> None:
    """The seed runners' rows and closed trades in the database (what the detail page reads)."""
    store = RunnerStore(db)
    for snap in snapshots:
        rid = snap["runner_id"]
        store.add(
            RunnerRecord(
                runner_id=rid,
                symbol=snap["symbol"],
                timeframe=snap["timeframe"],
                strategy_path=snap["strategy_path"],
                params=snap["params"],
                window_size=snap["window_size"],
                desired_status="running",
            )
        )
        store.add_closed_positions(rid, trades[rid])


def clone_runners(client: redis.Redis, keys: Keys, seeds: list[dict[str, Any]]) -> None:
    """RUNNERS snapshots in mixed states and symbols, derived from the seed snapshots."""
    pipe = client.pipeline(transaction=False)
    for i in range(RUNNERS):
        seed = seeds[i % len(seeds)]
        status = STATUSES[i % len(STATUSES)]
        rid = f"runner-{i:03d}"
        snap = {
            **seed,
            "runner_id": rid,
            "symbol": SYMBOLS[i % len(SYMBOLS)].symbol,
            "status": status,
            "error": {"file": "user/x.lua", "line": 3, "message": "boom"}
            if status == "error"
            else None,
        }
        pipe.set(keys.snapshot(rid), json.dumps(snap))
        pipe.sadd(keys.runner_ids, rid)
    pipe.execute()


def measure(label: str, call: Callable[[], Any], runs: int = 200) -> float:
    """Time ``call`` plus encoding its result as a Dash response; prints p50/p95/max."""
    to_json_plotly(call())  # warm up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        to_json_plotly(call())
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    p95 = times[int(0.95 * (len(times) - 1))]
    print(
        f"{label:<46} p50 {statistics.median(times):6.2f} ms   p95 {p95:6.2f} ms   "
        f"max {times[-1]:6.2f} ms"
    )
    return p95


def _app_services(url: str, data_dir: Path) -> Any:
    """Build the real app (it registers the pages) and return its Services."""
    from app import create_app
    from engine.platform.services import build_services
    from engine.platform.settings import Settings
    from engine.storage.db import make_engine

    settings = Settings(
        data_dir=data_dir,
        redis_url=url,
        database_url=f"sqlite:///{data_dir / 'bench.db'}",
        key_prefix="bench:",
    )
    services = build_services(settings, url, make_engine(settings))
    create_app(services)
    return services


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp)) as server:
        client = redis.Redis.from_url(server.url)
        keys = Keys("bench:")
        seeds, trades = publish_examples(client, keys)
        clone_runners(client, keys, seeds)
        client.set(keys.heartbeat, json.dumps({"uptime_s": 1, "runners": RUNNERS}))
        services = _app_services(server.url, Path(tmp))
        store_trades(services.db, seeds, trades)
        engine, db = services.engine, RunnerStore(services.db)
        from pages.runner_detail import chart_view, detail_view  # registered by create_app
        from pages.runners import refresh_view

        detail = "seed-bollinger_bounce"
        overlays = ["bollinger(20, 2)", "ema(50)"]
        print(f"{len(engine.snapshots())} runners in Redis; detail/chart: {detail}, {BARS} bars")
        worst = max(
            measure("manager refresh (no filters)", lambda: refresh_view(engine)),
            measure(
                "manager refresh (status + search filters)",
                lambda: refresh_view(engine, ("eth", None, None, None, ["running"])),
            ),
            measure(
                "detail refresh (panels, logic log, history)",
                lambda: detail_view(engine, db, detail),
            ),
            measure(
                "chart 1m (500 bars, 2 overlays, RSI)",
                lambda: chart_view(engine, db, detail, "1m", overlays, "rsi(14)"),
            ),
            measure(
                "chart 15m resampled (MACD)",
                lambda: chart_view(engine, db, detail, "15m", overlays, "macd(12, 26, 9)"),
            ),
        )
        print(f"worst p95: {worst:.2f} ms (target < 100 ms)")


if __name__ == "__main__":
    main()
