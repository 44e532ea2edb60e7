"""``tradesim up``: Redis (embedded unless REDIS_URL) + engine + RQ worker(s) + web, one command.

Children run as separate processes with their output in ``<data dir>/logs``. Ctrl+C or SIGTERM
stops them all (SIGTERM, then SIGKILL after a grace period) and the embedded Redis last, so no
process is left behind. If a child dies, everything is stopped and the log to read is named.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import IO

from engine.api.security import check_exposure
from engine.errors import ConfigError
from engine.platform.redis_server import EmbeddedRedis
from engine.platform.secrets import mask_url
from engine.platform.settings import Settings
from engine.storage.db import make_engine

GRACE_S = 10.0


@dataclass
class Child:
    """One supervised process and its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]


def child_env(settings: Settings, redis_url: str) -> dict[str, str]:
    """The environment every child reads its Settings from."""
    env = dict(os.environ)
    env.update(
        REDIS_URL=redis_url,
        DATABASE_URL=settings.database_url,
        TRADESIM_DATA_DIR=str(settings.data_dir),
        TRADESIM_HOST=settings.host,
        TRADESIM_PORT=str(settings.port),
        TRADESIM_STRATEGY_DIR=str(settings.strategy_dir),
        TRADESIM_KEY_PREFIX=settings.key_prefix,
        TRADESIM_FEED_INTERVAL=str(settings.feed_interval_s),
        TRADESIM_WEB_THREADS=str(settings.web_threads),
        PYTHONUNBUFFERED="1",
    )
    if settings.api_token:
        env["TRADESIM_API_TOKEN"] = settings.api_token
    return env


def commands(workers: int) -> list[tuple[str, list[str]]]:
    """(name, argv) of every child process."""
    py = sys.executable
    procs = [("engine", [py, "-m", "engine.live.main"])]
    procs += [(f"worker-{i + 1}", [py, "-m", "jobs.worker"]) for i in range(workers)]
    procs.append(("web", [py, "-m", "app"]))
    return procs


class Supervisor:
    """Starts the children, watches them, and stops everything exactly once."""

    def __init__(self, settings: Settings, workers: int = 1) -> None:
        if workers < 0:
            raise ConfigError(f"--workers must be >= 0, got {workers}")
        self.settings = settings
        self.workers = workers
        self.redis: EmbeddedRedis | None = None
        self.children: list[Child] = []
        self._stopping = False

    def start(self) -> str:
        """Start Redis (if needed), migrate the database, start the children; returns the URL."""
        s = self.settings
        s.log_dir.mkdir(parents=True, exist_ok=True)
        redis_url = s.redis_url
        if not redis_url:
            self.redis = EmbeddedRedis(s.data_dir / "redis")
            redis_url = self.redis.start()
        make_engine(s).dispose()  # applies migrations once, before any child starts
        env = child_env(s, redis_url)
        for name, argv in commands(self.workers):
            log_path = s.log_dir / f"{name}.log"
            log = log_path.open("ab")
            process = subprocess.Popen(
                argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            self.children.append(Child(name, process, log_path, log))
        return f"http://{s.host}:{s.port}"

    def wait(self) -> int:
        """Block until a signal or a child exits; returns the exit code for the launcher."""
        while not self._stopping:
            for child in self.children:
                code = child.process.poll()
                if code is not None:
                    print(
                        f"tradesim: {child.name} exited with code {code}; see {child.log_path}",
                        file=sys.stderr,
                    )
                    self.stop()
                    return 1
            time.sleep(0.2)
        return 0

    def stop(self) -> None:
        """SIGTERM every child's process group, SIGKILL what is left after the grace period,
        then stop the embedded Redis."""
        if self._stopping and not self.children:
            return
        self._stopping = True
        for child in reversed(self.children):
            _signal_group(child.process, signal.SIGTERM)
        deadline = time.monotonic() + GRACE_S
        for child in self.children:
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                _signal_group(child.process, signal.SIGKILL)
                child.process.wait()
            child.log.close()
        self.children = []
        if self.redis is not None:
            self.redis.stop()


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def startup_lines(settings: Settings, url: str, embedded_redis: str | None) -> list[str]:
    """What ``tradesim up`` prints once everything runs (passwords in URLs masked)."""
    redis_where = mask_url(settings.redis_url) or f"embedded ({embedded_redis})"
    lines = [
        f"Trading Simulator is running at {url}",
        f"  redis: {redis_where}",
        f"  database: {mask_url(settings.database_url)}",
        f"  data: {settings.data_dir}   logs: {settings.log_dir}",
    ]
    if settings.api_token:
        lines.append("  API token: required (TRADESIM_API_TOKEN); pages ask for it at /login")
    lines.append("  press Ctrl+C to stop")
    return lines


def up(
    settings: Settings, *, workers: int = 1, host: str | None = None, port: int | None = None
) -> int:
    """Run everything until Ctrl+C / SIGTERM; returns the process exit code."""
    settings = replace(settings, host=host or settings.host, port=port or settings.port)
    check_exposure(settings.host, settings.api_token)
    supervisor = Supervisor(settings, workers)

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        supervisor._stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        url = supervisor.start()
        embedded = supervisor.redis.url if supervisor.redis is not None else None
        print("\n".join(startup_lines(settings, url, embedded)), flush=True)
        code = supervisor.wait()
    finally:
        supervisor.stop()
    print("tradesim: stopped", flush=True)
    return code
