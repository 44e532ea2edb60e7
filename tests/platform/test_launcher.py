"""``tradesim up``: one command starts Redis + engine + worker + web; SIGTERM stops them all."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import psutil

from engine.platform.redis_server import free_port


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=2) as response:
        return json.loads(response.read())


def test_up_starts_everything_and_stops_cleanly(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(TRADESIM_DATA_DIR=str(tmp_path), TRADESIM_PORT=str(port))
    launcher = subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "up", "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        health = None
        while time.monotonic() < deadline:
            try:
                health = _get(f"http://127.0.0.1:{port}/health")["data"]
                if health["engine"]:
                    break
            except OSError:
                pass
            time.sleep(0.3)
        assert health == {"web": "ok", "redis": True, "engine": True}
        children = psutil.Process(launcher.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        for part in ("redis-server", "engine.live.main", "jobs.worker", "-m app"):
            assert part in names
        # two workers (one of them also forks RQ's scheduler, a child with the same command)
        direct = [" ".join(c.cmdline()) for c in psutil.Process(launcher.pid).children()]
        assert sum("jobs.worker" in line for line in direct) == 2
        assert {p.name for p in (tmp_path / "logs").iterdir()} >= {
            "engine.log",
            "web.log",
            "worker-1.log",
            "worker-2.log",
        }
    finally:
        launcher.send_signal(signal.SIGTERM)
        out, _ = launcher.communicate(timeout=60)
    assert launcher.returncode == 0
    text = out.decode()
    assert f"http://127.0.0.1:{port}" in text and "stopped" in text
    time.sleep(0.5)
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]


def test_up_rejects_a_bad_port(tmp_path):
    env = dict(os.environ, TRADESIM_DATA_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", "up", "--port", "70000"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2 and "--port must be 1..65535" in done.stderr
