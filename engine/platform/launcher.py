"""``tradesim up``: Redis (embedded unless REDIS_URL) + engine + RQ worker(s) + web, supervised.

Children run as separate processes with their output in ``<data dir>/logs``. A child that dies
(the embedded Redis too) is restarted with exponential backoff (0.5 s, 1 s, 2 s ... at most
30 s); the launcher gives up only when one child failed ``MAX_FAILURES`` times within
``FAILURE_WINDOW_S`` and then names it, its log and the log's last lines. Restart counts are in
``<data dir>/supervisor.json`` (shown by ``/health``). Children get SIGKILL when the launcher
dies (``PR_SET_PDEATHSIG``), and one launcher holds ``<data dir>/tradesim.lock`` so a second one
on the same data directory is refused. Ctrl+C or SIGTERM stops them all (SIGTERM, then SIGKILL
after a grace period) and the embedded Redis last.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import FrameType
from typing import IO

from engine.api.security import check_exposure
from engine.errors import ConfigError
from engine.platform.lifeline import DataDirLock, die_with_parent
from engine.platform.redis_server import EmbeddedRedis
from engine.platform.secrets import mask_url
from engine.platform.settings import Settings
from engine.platform.status import STATUS_FILE
from engine.storage.db import make_engine

GRACE_S = 10.0
BACKOFF_START_S = 0.5
BACKOFF_MAX_S = 30.0
MAX_FAILURES = 5
FAILURE_WINDOW_S = 60.0
POLL_S = 0.2
LOG_TAIL_LINES = 15


@dataclass
class Child:
    """One supervised process, its log file and its failure history."""

    name: str
    argv: list[str]
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    restarts: int = 0
    failures: deque[float] = field(default_factory=deque)
    restart_at: float | None = None


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
        TRADESIM_SIM_SPEED=str(settings.sim_speed),
        TRADESIM_WEB_THREADS=str(settings.web_threads),
        TRADESIM_RUNNER_HOSTS=str(settings.runner_hosts),
        TRADESIM_BAR_DEADLINE_MS=str(settings.bar_deadline_ms),
        TRADESIM_LOAD_DEADLINE_MS=str(settings.load_deadline_ms),
        TRADESIM_PAPER_BALANCE=repr(settings.paper_balance),
        TRADESIM_PAPER_COMMISSION=repr(settings.paper_commission),
        TRADESIM_PAPER_SLIPPAGE_BPS=repr(settings.paper_slippage_bps),
        TRADESIM_LIVE_TRADING="1" if settings.live_trading else "0",
        PYTHONUNBUFFERED="1",
    )
    if settings.api_token:
        env["TRADESIM_API_TOKEN"] = settings.api_token
    if settings.exchange_api_key and settings.exchange_secret:
        env["TRADESIM_EXCHANGE_API_KEY"] = settings.exchange_api_key
        env["TRADESIM_EXCHANGE_SECRET"] = settings.exchange_secret
    return env


def commands(workers: int, web_processes: int = 1) -> list[tuple[str, list[str]]]:
    """(name, argv) of every child process: the engine, the workers and the web processes
    (``web``, ``web-2``, ...: they share the port, the kernel spreads connections over them)."""
    py = sys.executable
    procs = [("engine", [py, "-m", "engine.live.main"])]
    procs += [(f"worker-{i + 1}", [py, "-m", "jobs.worker"]) for i in range(workers)]
    names = ["web"] + [f"web-{i + 1}" for i in range(1, web_processes)]
    procs += [(name, [py, "-m", "app"]) for name in names]
    return procs


def backoff_s(failures: int) -> float:
    """Delay before restarting a child that failed ``failures`` times in the window."""
    return float(min(BACKOFF_MAX_S, BACKOFF_START_S * 2 ** max(0, failures - 1)))


class GaveUp(Exception):
    """A child kept failing: the message says which, where its log is and its last lines."""


class Supervisor:
    """Starts the children, restarts the ones that die, and stops everything exactly once."""

    def __init__(self, settings: Settings, workers: int = 1) -> None:
        if workers < 0:
            raise ConfigError(f"--workers must be >= 0, got {workers}")
        self.settings = settings
        self.workers = workers
        self.redis: EmbeddedRedis | None = None
        self.redis_unit: Child | None = None
        self.children: list[Child] = []
        self._env: dict[str, str] = {}
        self._stopping = False
        self._started_at = time.time()

    def start(self) -> str:
        """Start Redis (if needed), migrate the database, start the children; returns the URL."""
        s = self.settings
        s.log_dir.mkdir(parents=True, exist_ok=True)
        redis_url = s.redis_url
        if not redis_url:
            self.redis = EmbeddedRedis(s.data_dir / "redis")
            redis_url = self.redis.start()
            self.redis_unit = Child("redis", [], self.redis.log_path)
        make_engine(s).dispose()  # applies migrations once, before any child starts
        self._env = child_env(s, redis_url)
        for name, argv in commands(self.workers, s.web_processes):
            child = Child(name, argv, s.log_dir / f"{name}.log")
            self._spawn(child)
            self.children.append(child)
        self.write_status()
        return f"http://{s.host}:{s.port}"

    def _spawn(self, child: Child) -> None:
        if child.log is None:
            child.log = child.log_path.open("ab")
        child.process = subprocess.Popen(
            child.argv,
            env=self._env,
            stdout=child.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent(),
        )

    def _units(self) -> list[Child]:
        return ([self.redis_unit] if self.redis_unit else []) + self.children

    def _exit_code(self, unit: Child) -> int | None:
        if unit is self.redis_unit:
            assert self.redis is not None
            return self.redis.poll()
        assert unit.process is not None
        return unit.process.poll()

    def _restart(self, unit: Child) -> None:
        unit.restart_at = None
        unit.restarts += 1
        try:
            if unit is self.redis_unit:
                assert self.redis is not None
                self.redis.start()
            else:
                self._spawn(unit)
        except (ConfigError, OSError) as exc:  # failed to start: counts as a failure
            print(f"tradesim: restarting {unit.name} failed: {exc}", file=sys.stderr, flush=True)
            self._failed(unit, None)
        else:
            print(f"tradesim: {unit.name} restarted (restart #{unit.restarts})", flush=True)
        self.write_status()

    def _failed(self, unit: Child, code: int | None) -> None:
        """Schedule a restart with backoff, or raise GaveUp after too many fast failures."""
        now = time.monotonic()
        unit.failures.append(now)
        while unit.failures and now - unit.failures[0] > FAILURE_WINDOW_S:
            unit.failures.popleft()
        if len(unit.failures) >= MAX_FAILURES:
            raise GaveUp(
                f"tradesim: giving up: {unit.name} failed {len(unit.failures)} times within "
                f"{FAILURE_WINDOW_S:.0f} s (last exit code {code}); see {unit.log_path}\n"
                + _tail(unit.log_path)
            )
        delay = backoff_s(len(unit.failures))
        print(
            f"tradesim: {unit.name} exited with code {code}; restarting in {delay:g} s "
            f"(log: {unit.log_path})",
            file=sys.stderr,
            flush=True,
        )
        unit.restart_at = now + delay

    def wait(self) -> int:
        """Supervise until a signal (0) or a child that keeps failing (1, and it says why)."""
        while not self._stopping:
            try:
                self.check()
            except GaveUp as exc:
                print(str(exc), file=sys.stderr, flush=True)
                self.stop()
                return 1
            time.sleep(POLL_S)
        return 0

    def check(self) -> None:
        """One supervision pass: restart what is due, notice what died."""
        for unit in self._units():
            if self._stopping:
                return
            if unit.restart_at is not None:
                if time.monotonic() >= unit.restart_at:
                    self._restart(unit)
                continue
            code = self._exit_code(unit)
            if code is not None:
                self._failed(unit, code)

    def write_status(self) -> None:
        """``<data dir>/supervisor.json``: launcher pid, start time, restarts and pids."""
        units = self._units()
        status = {
            "pid": os.getpid(),
            "started_at": int(self._started_at * 1000),
            "restarts": {u.name: u.restarts for u in units},
            "pids": {u.name: self._pid(u) for u in units},
        }
        path = self.settings.data_dir / STATUS_FILE
        temp = path.with_suffix(".tmp")
        temp.write_text(json.dumps(status))
        temp.replace(path)

    def _pid(self, unit: Child) -> int | None:
        if unit is self.redis_unit:
            process = self.redis.process if self.redis else None
        else:
            process = unit.process
        return None if process is None else process.pid

    def stop(self) -> None:
        """SIGTERM every child's process group, SIGKILL what is left after the grace period,
        then stop the embedded Redis."""
        if self._stopping and not self.children:
            return
        self._stopping = True
        running = [c for c in self.children if c.process is not None]
        for child in reversed(running):
            _signal_group(child.process, signal.SIGTERM)  # type: ignore[arg-type]
        deadline = time.monotonic() + GRACE_S
        for child in running:
            assert child.process is not None
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.process.wait(timeout=remaining)
            except subprocess.TimeoutExpired:
                _signal_group(child.process, signal.SIGKILL)
                child.process.wait()
        for child in self.children:
            if child.log is not None:
                child.log.close()
        self.children = []
        if self.redis is not None:
            self.redis.stop()
        with contextlib.suppress(OSError):
            (self.settings.data_dir / STATUS_FILE).unlink()


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError as exc:
        return f"  (cannot read the log: {exc})"
    return "\n".join(f"  | {line}" for line in text) or "  (the log is empty)"


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
    """Run everything until Ctrl+C / SIGTERM; returns the process exit code.

    Raises ConfigError when another launcher holds the data directory (it names its pid).
    """
    settings = replace(settings, host=host or settings.host, port=port or settings.port)
    check_exposure(settings.host, settings.api_token)
    lock = DataDirLock(settings.data_dir)
    lock.acquire()
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
        lock.release()
    print("tradesim: stopped", flush=True)
    return code
