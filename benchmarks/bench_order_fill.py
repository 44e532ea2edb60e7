"""Paper market order latency: place → filled, in a real engine process on the wall clock.

Starts an embedded Redis and ``python -m engine.live.main`` at ``TRADESIM_SIM_SPEED=1`` (real
time, the default), places ``--orders`` market orders one after the other through the REST
handler (in-process web app) on ``--symbols`` symbols, and polls ``order-status`` every 5 ms
until each is filled. Prints p50/p95/max of place → fill (target: about 1 s, DESIGN.md
"Orders and risk") and of the place request itself.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from engine.platform.redis_server import EmbeddedRedis
from engine.platform.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=40)
    parser.add_argument("--symbols", type=int, default=4)
    args = parser.parse_args()
    from app import create_app
    from engine.data.symbols import SYMBOLS
    from engine.platform.launcher import child_env
    from engine.platform.services import build_services
    from engine.storage.db import make_engine

    with tempfile.TemporaryDirectory() as tmp, EmbeddedRedis(Path(tmp) / "redis") as server:
        settings = Settings(
            data_dir=Path(tmp), redis_url=server.url, database_url=f"sqlite:///{tmp}/bench.db"
        )
        api = create_app(
            build_services(settings, server.url, make_engine(settings))
        ).server.test_client()
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine.live.main"],
            env=child_env(settings, server.url),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while api.get("/api/engine/health").status_code != 200:
                time.sleep(0.1)
            api.put("/api/trading/risk", json={"max_order_notional": None})
            symbols = [s.symbol for s in SYMBOLS if s.asset_class == "crypto"][: args.symbols]
            fills, places = [], []
            for i in range(args.orders):
                side = "buy" if i % 2 == 0 else "sell"
                body = {"symbol": symbols[i % len(symbols)], "side": side, "quantity": 0.001}
                t0 = time.perf_counter()
                placed = api.post("/api/trading/place-order", json=body).get_json()["data"]
                places.append(time.perf_counter() - t0)
                url = f"/api/trading/order-status/{placed['order_id']}"
                while api.get(url).get_json()["data"]["status"] != "filled":
                    time.sleep(0.005)
                fills.append(time.perf_counter() - t0)
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    print(f"machine: {os.cpu_count()} cores (shared; timings are noisy)")
    for name, values in (("place → filled", fills), ("place request", places)):
        ordered = sorted(values)
        p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
        print(
            f"{name}: p50 {statistics.median(ordered) * 1000:.0f} ms, "
            f"p95 {p95 * 1000:.0f} ms, max {ordered[-1] * 1000:.0f} ms ({len(ordered)} orders)"
        )


if __name__ == "__main__":
    main()
