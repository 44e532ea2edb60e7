"""A runner host: a process the engine starts to run some of the live runners.

The engine sends it messages over a pipe (``multiprocessing`` spawn context: a fresh process,
never a fork of one holding Redis or database connections); the host answers each with one
reply. It owns a :class:`~engine.live.group.RunnerGroup` with its own Redis connection and
database engine, so publishing snapshots and events is spread across the hosts' cores.

Before every strategy call it writes (runner, function, bar, start time) into a
:class:`CallSlot` in shared memory: when a call outlives its deadline, the engine reads the
slot to know which runner to blame, kills the host (SIGKILL: a C call in Lua cannot be
interrupted) and starts a new one.

Messages (tuples): ``("bars", seq, [(bar, produced), ...])`` -> ``("bars", seq, processed,
latencies)``; ``("cmd", seq, name, args)`` -> ``("cmd", seq, reply)`` where reply is the
engine's ``{"ok": ..., "data"|"error": ...}``.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import os
import signal
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import redis

from engine.errors import CommandError, ConfigError, StrategyError
from engine.live.group import RunnerGroup
from engine.live.keys import Keys
from engine.live.publisher import Publisher
from engine.live.runner import RunnerConfig, RunnerStatus
from engine.platform.settings import Settings
from engine.storage.db import make_engine
from engine.storage.runner_store import RunnerStore
from engine.strategy.instance import StrategySource

SLOT_TEXT = 256
STATUS_EVERY_S = 1.0
PR_SET_PDEATHSIG = 1


class CallSlot:
    """Shared memory naming the strategy call a host is in: text ``runner\\tfunction\\tbar``,
    the call's start (``time.monotonic()``, 0 = between calls), whether it is a load, and a
    counter of finished calls (progress, for a host stuck outside any call)."""

    def __init__(self, text: Any, numbers: Any) -> None:
        self.text = text
        self.numbers = numbers

    @classmethod
    def create(cls, context: Any) -> CallSlot:
        """A new slot in shared memory of a ``multiprocessing`` context."""
        return cls(context.RawArray(ctypes.c_char, SLOT_TEXT), context.RawArray(ctypes.c_double, 3))

    def begin(self, runner_id: str, function: str, bar: int, *, load: bool = False) -> None:
        """A call starts (see :class:`~engine.live.group.CallWatch`)."""
        self.text.value = f"{runner_id}\t{function}\t{bar}".encode()[: SLOT_TEXT - 1]
        self.numbers[1] = 1.0 if load else 0.0
        self.numbers[0] = time.monotonic()

    def end(self) -> None:
        """The call returned."""
        self.numbers[0] = 0.0
        self.numbers[2] += 1

    def current(self) -> tuple[str, str, int, float, bool] | None:
        """(runner id, function, bar, started, is a load) of the call running now, or None."""
        started = self.numbers[0]
        if not started:
            return None
        runner_id, function, bar = self.text.value.decode(errors="replace").split("\t")
        return runner_id, function, int(bar), started, bool(self.numbers[1])

    @property
    def progress(self) -> float:
        """Calls finished so far."""
        return float(self.numbers[2])


def reply_error(exc: Exception) -> dict[str, Any]:
    """An exception as a command reply (the engine's error codes)."""
    if isinstance(exc, CommandError):
        error = {"code": exc.code, "message": exc.message, "details": exc.details}
        return {"ok": False, "error": error}
    if isinstance(exc, StrategyError):
        return {
            "ok": False,
            "error": {"code": "strategy_error", "message": str(exc), "details": exc.to_dict()},
        }
    return {"ok": False, "error": {"code": "validation", "message": str(exc), "details": None}}


def serve(group: RunnerGroup, name: str, args: dict[str, Any]) -> Any:
    """Run one command on ``group`` (in a host, or in the engine when hosts = 0)."""
    if name == "create":
        config = RunnerConfig(**args["config"])
        source = StrategySource.from_code(args["code"], args["file"])
        return group.create(config, source, args["history"], args["code_hash"])
    if name == "restore":
        return group.restore(
            args["items"],
            args["history"],
            args["counts"],
            replay=args.get("replay", False),
            quiet_until=args.get("quiet_until"),
            quarantined=args.get("quarantined"),
        )
    if name == "status":
        return group.set_status(args["runner_id"], RunnerStatus(args["status"]))
    if name == "delete":
        return group.delete(args["runner_id"])
    if name == "close_position":
        return group.close_position(args["runner_id"])
    if name == "save_all":
        group.save_all()
        return True
    raise CommandError("validation", f"unknown host command '{name}'")


ROWS_EVERY_S = 1.0
"""How often a host reports its runners' status rows to the engine."""


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this host when the engine dies (no orphan hosts)."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c")).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _release_memory() -> None:
    gc.collect()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim(0)


def host_main(conn: Connection, text: Any, numbers: Any, settings: Settings, parent: int) -> None:
    """The host process: build its group, say ``ready``, then answer messages until the pipe
    closes (the engine is gone) or ``("exit",)`` arrives."""
    _die_with_parent()
    if os.getppid() != parent:
        return
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the engine stops its hosts itself
    slot = CallSlot(text, numbers)
    client = redis.Redis.from_url(settings.redis_url or "")
    group = RunnerGroup(
        RunnerStore(make_engine(settings, migrate=False)),
        Publisher(client, Keys(settings.key_prefix)),
        slot,
    )
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    conn.send(("ready", os.getpid()))
    _loop(conn, group, lambda: group.save_some())


def _loop(conn: Connection, group: RunnerGroup, idle: Callable[[], None]) -> None:
    reported = 0.0
    while True:
        if time.monotonic() - reported >= ROWS_EVERY_S:
            reported = time.monotonic()
            if not _report_rows(conn, group):
                return
        try:
            if not conn.poll(0.2):
                _guard(idle)
                continue
            message = conn.recv()
        except (EOFError, OSError):
            return
        kind = message[0]
        if kind == "exit":
            _guard(group.save_all)
            conn.send(("exit",))
            return
        if kind == "bars":
            processed = 0
            for bar, produced in message[2]:
                processed += group.on_bar(bar, produced)
            latencies = _guard(group.flush) or []
            conn.send(("bars", message[1], processed, latencies))
        else:
            try:
                reply = {"ok": True, "data": serve(group, message[2], message[3])}
            except (CommandError, StrategyError, ConfigError) as exc:
                reply = reply_error(exc)
            _guard(group.flush)
            conn.send(("cmd", message[1], reply))
        _guard(idle)
        if group.released:
            group.released = False
            _release_memory()


def _report_rows(conn: Connection, group: RunnerGroup) -> bool:
    """Refresh the idle runners' snapshots and send the engine every runner's status and P&L
    (unasked, about once a second: the engine's summary never waits for a busy host). False
    when the engine is gone."""
    group.refresh_idle()
    _guard(group.flush)
    try:
        conn.send(("rows", group.status_rows()))
    except (EOFError, OSError):
        return False
    return True


def _guard(action: Callable[[], Any]) -> Any:
    """Run a Redis/database write; an outage costs this write, never the host."""
    try:
        return action()
    except redis.RedisError as exc:
        print(f"runner host {os.getpid()}: Redis error: {exc}", flush=True)
    except Exception as exc:  # a locked or unreachable database: the next save retries
        print(f"runner host {os.getpid()}: {type(exc).__name__}: {exc}", flush=True)
    return None
