"""The contract run: schemathesis ``--checks all`` against a real stack (``tradesim up``: its
own embedded Redis, the engine, a worker and the web on a free port, a copy of the strategies)
must find nothing. Bounded: a few examples per operation, one worker, about a minute."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONFIG = Path(__file__).with_name("schemathesis.toml")
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``tradesim up`` in its own process group; its base URL once /health says all is up."""
    base = tmp_path_factory.mktemp("contract")
    strategies = base / "lua-strategies"
    shutil.copytree(ROOT / "lua-strategies", strategies, ignore=shutil.ignore_patterns("user"))
    port = free_port()
    env = {
        **os.environ,
        "TRADESIM_DATA_DIR": str(base),
        "TRADESIM_STRATEGY_DIR": str(strategies),
        "TRADESIM_FEED_INTERVAL": "0.2",
    }
    env.pop("REDIS_URL", None)
    env.pop("TRADESIM_API_TOKEN", None)
    log = (base / "up.log").open("wb")
    process = subprocess.Popen(
        [str(BIN / "tradesim"), "up", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "tradesim up exited; see up.log"
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if b'"engine": true' in answer.read():
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError("the stack did not become healthy within 60 s")


@pytest.mark.slow
def test_schemathesis_all_checks_pass(stack: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            str(BIN / "schemathesis"),
            "--config-file",
            str(CONFIG),
            "run",
            f"{stack}/api/openapi.json",
            "--checks",
            "all",
            "--max-examples",
            "10",
            "--workers",
            "1",
            "--seed",
            "20261201",
            "--request-timeout",
            "10",
        ],
        capture_output=True,
        text=True,
        timeout=170,
        cwd=tmp_path,
    )
    summary = done.stdout[done.stdout.find("SUMMARY") :]
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    import re

    selected = re.search(r"Selected: (\d+)/(\d+)", summary)
    assert selected and selected[1] == selected[2] and int(selected[1]) > 40, summary
    assert f"Tested: {selected[1]}" in summary and "Failures" not in summary, summary
