"""``tradesim up``: one command starts Redis + engine + worker + web; SIGTERM stops them all;
a killed child is restarted with nothing lost; kill -9 of the launcher leaves nothing running;
one launcher per data directory; a child that keeps failing makes it give up, saying why."""

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
    env.update(TRADESIM_DATA_DIR=str(tmp_path), TRADESIM_PORT=str(port), TRADESIM_WEB_PROCESSES="2")
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
        assert health == {
            "web": "ok",
            "redis": True,
            "engine": True,
            "restarts": {
                "redis": 0,
                "engine": 0,
                "worker-1": 0,
                "worker-2": 0,
                "web": 0,
                "web-2": 0,
            },
        }
        children = psutil.Process(launcher.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        for part in ("redis-server", "engine.live.main", "jobs.worker", "-m app"):
            assert part in names
        # two workers (one of them also forks RQ's scheduler, a child with the same command)
        direct = [" ".join(c.cmdline()) for c in psutil.Process(launcher.pid).children()]
        assert sum("jobs.worker" in line for line in direct) == 2
        # two web processes listening on the one port (the kernel spreads connections)
        webs = [
            c for c in psutil.Process(launcher.pid).children() if "-m app" in " ".join(c.cmdline())
        ]
        assert len(webs) == 2
        serving = {
            web.pid
            for web in webs
            if any(
                c.status == psutil.CONN_LISTEN and c.laddr.port == port
                for c in web.net_connections(kind="tcp")
            )
        }
        assert serving == {w.pid for w in webs}
        assert {p.name for p in (tmp_path / "logs").iterdir()} >= {
            "engine.log",
            "web.log",
            "web-2.log",
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


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _wait(check, timeout: float = 60.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except (OSError, KeyError, ValueError):
            value = None
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _launch(tmp_path, port: int, *extra: str, **settings: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(TRADESIM_DATA_DIR=str(tmp_path), TRADESIM_PORT=str(port), TRADESIM_SIM_SPEED="3000")
    env.update(settings)
    return subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "up", *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_killed_children_come_back_with_nothing_lost_and_the_launcher_takes_them_along(
    tmp_path,
):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    launcher = _launch(tmp_path, port)
    try:
        _wait(lambda: _get(f"{base}/health")["data"]["engine"], what="the platform")
        for rid, strategy in (("a-macd", "macd_cross"), ("b-rsi", "rsi_mean_reversion")):
            body = {"runner_id": rid, "symbol": "BTCUSDT", "strategy_name": strategy}
            _post(f"{base}/api/runners", {**body, "params": {}})
        _wait(
            lambda: len(_get(f"{base}/api/runners/a-macd/positions")["data"]["closed"]) >= 2,
            what="closed trades",
        )
        first_event = _get(f"{base}/api/events?count=1")["data"]["events"][0]
        for name in ("engine", "worker-1", "redis", "web"):
            status = json.loads((tmp_path / "supervisor.json").read_text())
            victim = status["pids"][name]
            trades = {
                rid: _get(f"{base}/api/runners/{rid}/positions")["data"]["closed"]
                for rid in ("a-macd", "b-rsi")
            }
            os.kill(victim, signal.SIGKILL)

            def back(name=name, victim=victim):
                health = _get(f"{base}/health")["data"]
                now = json.loads((tmp_path / "supervisor.json").read_text())
                beat = _get(f"{base}/api/engine/health")["data"]
                return (
                    health["redis"]
                    and health["engine"]
                    and health["restarts"][name] >= 1
                    and now["pids"][name] != victim
                    and _alive(now["pids"][name])
                    and (name != "engine" or beat["pid"] == now["pids"]["engine"])
                )

            _wait(back, what=f"{name} back after kill -9")
            runners = {r["runner_id"]: r for r in _get(f"{base}/api/runners")["data"]}
            assert sorted(runners) == ["a-macd", "b-rsi"], name
            assert runners["a-macd"]["strategy"] and runners["a-macd"]["params"]
            for rid, before in trades.items():
                after = _get(f"{base}/api/runners/{rid}/positions")["data"]["closed"]
                assert after[len(after) - len(before) :] == before, f"{rid} lost trades ({name})"
                snap = runners[rid]
                assert snap["stats"]["trades"] >= len(before)
            # the event stream survived (Redis runs with an append-only file)
            events = _get(f"{base}/api/events?count=1")["data"]["events"]
            assert events[0]["id"] == first_event["id"], name

        # a second launcher on the same data directory refuses, naming the first one's pid
        second = subprocess.run(
            [sys.executable, "-m", "engine.cli", "up", "--port", str(free_port())],
            env={**os.environ, "TRADESIM_DATA_DIR": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 2
        assert f"pid {launcher.pid}" in second.stderr and str(tmp_path) in second.stderr

        # kill -9 of the launcher takes every child along
        children = psutil.Process(launcher.pid).children(recursive=True)
        assert len(children) >= 4
        launcher.kill()
        launcher.wait(timeout=10)
        _wait(lambda: not [c for c in children if _alive(c.pid)], timeout=10, what="no orphans")
    finally:
        if launcher.poll() is None:
            launcher.send_signal(signal.SIGTERM)
            launcher.communicate(timeout=60)


def test_a_child_that_keeps_failing_makes_the_launcher_give_up_and_say_why(tmp_path):
    import socket

    with socket.socket() as taken:  # the web cannot bind: it fails at every start
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # one web process: the one whose failures are counted (a second would race it)
        launcher = _launch(tmp_path, port, "--workers", "0", TRADESIM_WEB_PROCESSES="1")
        out, _ = launcher.communicate(timeout=180)
    text = out.decode()
    assert launcher.returncode == 1
    assert "restarting in 0.5 s" in text and "restarting in 4 s" in text
    assert "giving up: web failed 5 times within 60 s" in text
    assert str(tmp_path / "logs" / "web.log") in text
    assert "  | " in text  # the log's last lines
    time.sleep(0.5)
    assert not [
        p
        for p in psutil.process_iter(["cmdline"])
        if str(tmp_path) in " ".join(p.info["cmdline"] or [])
    ]
