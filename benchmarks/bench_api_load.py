"""REST API under load: 100 runners in a real engine, 20 client threads for 30 s, loopback only.

Starts ``tradesim up`` (embedded Redis, engine, worker, web with its waitress threads) in a
temporary data dir on a free loopback port, creates the runners through the API, then each
client thread loops over the read endpoints with a keep-alive connection and records every
request's latency. Prints p50/p95/p99 per endpoint (target: p95 < 50 ms for each) and stops
everything. The clients share the machine with the server, so the numbers include that: 20
Python threads contend for one GIL, so their own queueing shows up in their latencies.

When ``wrk`` (a C load generator; Debian package ``wrk``) is installed, each endpoint is then
also hit alone by ``--clients`` wrk connections for ``--wrk-seconds``: p50/p95/p99, requests/s
and the web processes' CPU time per request (read with psutil), which does not depend on how
busy the machine is. Run: ``python -m benchmarks.bench_api_load --runners 100 --clients 20
--seconds 30``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from engine.data.symbols import SYMBOLS

ROOT = Path(__file__).resolve().parents[1]
TARGET_P95_MS = 50.0
STRATEGIES = ("ema_crossover", "rsi_mean_reversion", "macd_cross", "bollinger_bounce")


def endpoints(runner_ids: list[str], index: int) -> list[tuple[str, str]]:
    """(label, path) of the requests one client cycles through (runner chosen by index)."""
    rid = runner_ids[index % len(runner_ids)]
    return [
        ("GET /api/runners", "/api/runners"),
        ("GET /api/runners/{id}", f"/api/runners/{rid}"),
        ("GET /api/runners/{id}/history", f"/api/runners/{rid}/history?count=100"),
        ("GET /api/runners/{id}/indicators", f"/api/runners/{rid}/indicators"),
        ("GET /api/runners/{id}/logic-log", f"/api/runners/{rid}/logic-log?count=50"),
        ("GET /api/runners/{id}/positions", f"/api/runners/{rid}/positions"),
        ("GET /api/engine/summary", "/api/engine/summary"),
        ("GET /api/engine/health", "/api/engine/health"),
        ("GET /api/strategies", "/api/strategies"),
        ("GET /api/symbols", "/api/symbols"),
        ("GET /api/events", "/api/events?count=100"),
        ("GET /api/openapi.json", "/api/openapi.json"),
        ("GET /health", "/health"),
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def request(conn: http.client.HTTPConnection, method: str, path: str, body: object = None) -> int:
    data = None if body is None else json.dumps(body)
    headers = {"Content-Type": "application/json"} if data is not None else {}
    conn.request(method, path, body=data, headers=headers)
    answer = conn.getresponse()
    answer.read()
    return answer.status


def wait_healthy(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("tradesim up exited; see its log")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if b'"engine": true' in conn.getresponse().read():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit("the stack did not become healthy in 90 s")


def client_loop(
    port: int,
    paths: list[tuple[str, str]],
    stop_at: float,
    samples: dict[str, list[float]],
    errors: list[str],
    lock: threading.Lock,
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    mine: dict[str, list[float]] = {label: [] for label, _ in paths}
    i = 0
    while time.monotonic() < stop_at:
        label, path = paths[i % len(paths)]
        i += 1
        started = time.perf_counter()
        try:
            status = request(conn, "GET", path)
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{label}: {exc}")
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        mine[label].append((time.perf_counter() - started) * 1000)
        if status != 200:
            errors.append(f"{label}: HTTP {status}")
    with lock:
        for label, values in mine.items():
            samples.setdefault(label, []).extend(values)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runners", type=int, default=100)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--wrk-seconds", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        strategies = base / "lua-strategies"
        shutil.copytree(ROOT / "lua-strategies", strategies, ignore=shutil.ignore_patterns("user"))
        port = free_port()
        env = {
            **os.environ,
            "TRADESIM_DATA_DIR": tmp,
            "TRADESIM_STRATEGY_DIR": str(strategies),
            "TRADESIM_FEED_INTERVAL": "1",
        }
        env.pop("REDIS_URL", None)
        env.pop("TRADESIM_API_TOKEN", None)
        binary = Path(sys.executable).parent / "tradesim"
        process = subprocess.Popen(
            [str(binary), "up", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_healthy(port, process)
            runner_ids = run(port, args)
            if shutil.which("wrk"):
                run_wrk(port, args, runner_ids, process.pid)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=60)


def run(port: int, args: argparse.Namespace) -> list[str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    runner_ids = [f"r{i + 1}" for i in range(args.runners)]
    for i, rid in enumerate(runner_ids):
        body = {
            "runner_id": rid,
            "symbol": SYMBOLS[i % len(SYMBOLS)].symbol,
            "strategy_name": STRATEGIES[i % len(STRATEGIES)],
        }
        status = request(conn, "POST", "/api/runners", body)
        if status != 201:
            raise SystemExit(f"creating {rid} answered HTTP {status}")
    time.sleep(3)  # a few bars for every runner
    samples: dict[str, list[float]] = {}
    errors: list[str] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + args.seconds
    threads = [
        threading.Thread(
            target=client_loop,
            args=(port, endpoints(runner_ids, i), stop_at, samples, errors, lock),
        )
        for i in range(args.clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = sum(len(v) for v in samples.values())
    print(
        f"{args.runners} runners, {args.clients} clients, {args.seconds:g} s: {total} requests "
        f"({total / args.seconds:.0f}/s), {len(errors)} errors"
    )
    print(f"{'endpoint':36} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
    worst = 0.0
    for label, values in samples.items():
        p95 = percentile(values, 0.95)
        worst = max(worst, p95)
        print(
            f"{label:36} {len(values):6d} {percentile(values, 0.5):8.1f} {p95:8.1f} "
            f"{percentile(values, 0.99):8.1f}"
        )
    everything = [v for values in samples.values() for v in values]
    print(
        f"{'all':36} {len(everything):6d} {percentile(everything, 0.5):8.1f} "
        f"{percentile(everything, 0.95):8.1f} {percentile(everything, 0.99):8.1f}"
    )
    verdict = "meets" if worst < TARGET_P95_MS else "MISSES"
    print(f"worst endpoint p95 {worst:.1f} ms: {verdict} the {TARGET_P95_MS:g} ms target")
    for line in errors[:5]:
        print(f"  error: {line}")
    return runner_ids


WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %.3f %.3f %.3f %d\\n", summary.requests,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def web_cpu_s(launcher_pid: int) -> float:
    """User + system CPU seconds of the web processes (children of the launcher)."""
    import psutil

    total = 0.0
    for child in psutil.Process(launcher_pid).children():
        if "-m app" in " ".join(child.cmdline()):
            times = child.cpu_times()
            total += times.user + times.system
    return total


def run_wrk(port: int, args: argparse.Namespace, runner_ids: list[str], launcher_pid: int) -> None:
    """Each endpoint alone under ``args.clients`` wrk connections (see the module docstring)."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    print(f"\nwrk, {args.clients} connections, {args.wrk_seconds:g} s per endpoint")
    print(f"{'endpoint':36} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'cpu ms':>7}")
    worst = 0.0
    for label, path in endpoints(runner_ids, 0):
        before = web_cpu_s(launcher_pid)
        done = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{args.clients}",
                f"-d{args.wrk_seconds:g}s",
                "-s",
                script.name,
                f"http://127.0.0.1:{port}{path}",
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        cpu = web_cpu_s(launcher_pid) - before
        line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT"))
        count, p50, p95, p99, failed = line.split()[1:]
        n = int(count)
        worst = max(worst, float(p95))
        print(
            f"{label:36} {n / args.wrk_seconds:7.0f} {float(p50):8.1f} {float(p95):8.1f} "
            f"{float(p99):8.1f} {cpu / max(1, n) * 1000:7.2f}"
            + (f"  {failed} errors" if int(failed) else "")
        )
    os.unlink(script.name)
    verdict = "meets" if worst < TARGET_P95_MS else "MISSES"
    print(f"worst endpoint p95 {worst:.1f} ms (wrk): {verdict} the {TARGET_P95_MS:g} ms target")


if __name__ == "__main__":
    main()
