"""The engine's side of runner hosts: start, feed, ask, watch and kill them.

:class:`ProcessHost` drives one host process (``engine.live.host``) and never waits on it
longer than a deadline: bars are sent without waiting (one batch in flight, the next one
queues), replies are collected by :meth:`ProcessHost.poll`, and :meth:`ProcessHost.check`
says when the host must be killed: a strategy call past its deadline (the shared
:class:`CallSlot` names the runner), a host that stopped making progress, or one that died.
:class:`LocalHost` runs a group inside the engine process (``TRADESIM_RUNNER_HOSTS=0``:
no deadlines; used by unit tests).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.data.bars import Bar
from engine.errors import CommandError, ConfigError, StrategyError
from engine.live.group import RunnerGroup
from engine.live.host import CallSlot, host_main, reply_error, serve
from engine.platform.settings import Settings

STALL_S = 10.0
"""A host with work in flight that finishes no strategy call for this long is restarted."""
START_S = 60.0
"""A host that is not ready this long after it was started is restarted."""
POLL_S = 0.005
FeedKey = tuple[str, str]


@dataclass(frozen=True)
class Blame:
    """The strategy call that missed its deadline."""

    runner_id: str
    function: str
    bar: int
    load: bool
    seconds: float

    def message(self, limit_ms: int) -> str:
        """What the runner's error says."""
        where = "while loading" if self.load else f"at bar {self.bar}"
        return (
            f"strategy exceeded its time limit: {self.function} {where} "
            f"(ran {self.seconds:.2f} s; the limit is {limit_ms} ms per call)"
        )


class HostFailed(Exception):
    """A host missed a deadline, stalled or died; ``blame`` names the call (or None)."""

    def __init__(self, reason: str, blame: Blame | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.blame = blame


class LocalHost:
    """A group inside the engine process (no deadlines)."""

    def __init__(self, group: RunnerGroup) -> None:
        self.group = group
        self.index = 0
        self.ready = True
        self.pid = os.getpid()
        self.restarts = 0
        self.processed = 0
        self.latencies: list[float] = []
        self.acked: dict[FeedKey, int] = {}

    def status_rows(self) -> list[dict[str, Any]]:
        """Every runner's status and P&L (idle runners' snapshots refreshed)."""
        self.group.refresh_idle()
        return self.group.status_rows()

    def queue(self, bar: Bar, produced: float) -> None:
        """Process the bar now."""
        self.processed += self.group.on_bar(bar, produced)

    def send_pending(self) -> None:
        """Publish what the bars changed."""
        self.latencies += self.group.flush()
        self.group.save_some()

    def poll(self) -> None:
        """Nothing is in flight."""

    def busy(self) -> bool:
        """Never: work is done when queued."""
        return False

    def backlog(self) -> int:
        """Nothing waits."""
        return 0

    def check(self, now: float) -> HostFailed | None:
        """A local group cannot be killed."""
        return None

    def call(
        self, name: str, args: dict[str, Any], on_wait: Callable[[], None] | None = None
    ) -> dict[str, Any]:
        """Run a command on the group."""
        try:
            reply = {"ok": True, "data": serve(self.group, name, args)}
        except (CommandError, StrategyError, ConfigError) as exc:
            reply = reply_error(exc)
        self.latencies += self.group.flush()
        return reply

    def stop(self) -> None:
        """Save every runner's state."""
        self.group.save_all()
        self.group.flush()


class ProcessHost:
    """One runner host process and what is in flight to it."""

    def __init__(self, index: int, settings: Settings) -> None:
        self.index = index
        self.settings = settings
        self.context = multiprocessing.get_context("spawn")
        self.restarts = 0
        self.bar_limit_s = settings.bar_deadline_ms / 1000
        self.load_limit_s = settings.load_deadline_ms / 1000
        self.start()

    def start(self) -> None:
        """Start a fresh host process (ready once it says so, see :meth:`poll`)."""
        self.slot = CallSlot.create(self.context)
        ours, theirs = self.context.Pipe()
        self.process = self.context.Process(
            target=host_main,
            args=(theirs, self.slot.text, self.slot.numbers, self.settings, os.getpid()),
            name=f"runner-host-{self.index}",
            daemon=True,
        )
        self.process.start()
        theirs.close()
        self.conn = ours
        self.ready = False
        self.pid: int | None = self.process.pid
        self.started = time.monotonic()
        self.outbox: list[tuple[Bar, float]] = []
        self.in_flight: tuple[int, dict[FeedKey, int]] | None = None
        self.seq = 0
        self.processed = 0
        self.latencies: list[float] = []
        #: Per feed, the last bar whose batch the host finished (published and flushed).
        self.acked: dict[FeedKey, int] = {}
        self.rows: list[dict[str, Any]] = []
        self._progress = (self.slot.progress, time.monotonic())

    # -- bars -----------------------------------------------------------------------------
    def queue(self, bar: Bar, produced: float) -> None:
        """Add a bar to the next batch."""
        self.outbox.append((bar, produced))

    def send_pending(self) -> None:
        """Send the queued bars unless a batch is still in flight (or the host starting)."""
        if not self.ready or self.in_flight is not None or not self.outbox:
            return
        self.seq += 1
        last: dict[FeedKey, int] = {}
        for bar, _ in self.outbox:
            last[(bar.symbol, bar.timeframe)] = bar.timestamp
        self.conn.send(("bars", self.seq, self.outbox))
        self.in_flight = (self.seq, last)
        self.outbox = []
        self._progress = (self.slot.progress, time.monotonic())

    def busy(self) -> bool:
        """True while a batch is in flight."""
        return self.in_flight is not None

    def backlog(self) -> int:
        """Bars queued behind the batch in flight."""
        return len(self.outbox)

    def poll(self) -> dict[str, Any] | None:
        """Take every reply available now; returns a command reply if one came."""
        reply = None
        while True:
            try:
                if not self.conn.poll():
                    break
                message = self.conn.recv()
            except (EOFError, OSError):  # it died: check() says so
                break
            kind = message[0]
            if kind == "ready":
                self.ready, self.pid = True, int(message[1])
            elif kind == "bars":
                if self.in_flight is not None and self.in_flight[0] == message[1]:
                    self.acked.update(self.in_flight[1])
                    self.in_flight = None
                self.processed += int(message[2])
                self.latencies += message[3]
            elif kind == "cmd":
                reply = message[2]
            elif kind == "rows":
                self.rows = message[1]
        return reply

    def status_rows(self) -> list[dict[str, Any]]:
        """The runners' status rows the host last reported (it sends them about once a
        second on its own)."""
        return self.rows

    def check(self, now: float) -> HostFailed | None:
        """Why the host must be killed now, or None."""
        current = self.slot.current()
        if current is not None:
            runner_id, function, bar, started, load = current
            limit = self.load_limit_s if load else self.bar_limit_s
            if now - started > limit:
                blame = Blame(runner_id, function, bar, load, now - started)
                return HostFailed(f"{function} of {runner_id} ran past its deadline", blame)
        if not self.process.is_alive():
            return HostFailed(f"runner host {self.pid} exited ({self.process.exitcode})")
        if not self.ready:
            if now - self.started > START_S:
                return HostFailed(f"runner host {self.pid} did not start within {START_S:g} s")
            return None
        progress, since = self._progress
        if self.slot.progress != progress:
            self._progress = (self.slot.progress, now)
        elif self.in_flight is not None and current is None and now - since > STALL_S:
            return HostFailed(f"runner host {self.pid} made no progress for {STALL_S:g} s")
        return None

    # -- commands -------------------------------------------------------------------------
    def call(
        self, name: str, args: dict[str, Any], on_wait: Callable[[], None] | None = None
    ) -> dict[str, Any]:
        """Send a command and wait for its reply, never past a deadline: raises
        :class:`HostFailed` (kill and restart the host) when a call overruns, the host
        stalls or dies. ``on_wait`` runs about once a second while waiting (heartbeat). Bars
        queued before the command are processed first (a new runner's history must not
        overlap bars still on their way)."""

        def idle() -> bool:
            self.send_pending()
            return self.ready and self.in_flight is None and not self.outbox

        self._wait(idle, on_wait)
        self.seq += 1
        self.conn.send(("cmd", self.seq, name, args))
        self._progress = (self.slot.progress, time.monotonic())
        replies: list[dict[str, Any]] = []

        def answered() -> bool:
            reply = self.poll()
            if reply is not None:
                replies.append(reply)
            return bool(replies)

        self._wait(answered, on_wait, polled=True)
        return replies[0]

    def _wait(
        self, done: Callable[[], bool], on_wait: Callable[[], None] | None, polled: bool = False
    ) -> None:
        last_beat = time.monotonic()
        while True:
            if not polled:
                self.poll()
            if done():
                return
            now = time.monotonic()
            failure = self.check(now)
            if failure is not None:
                raise failure
            if on_wait is not None and now - last_beat >= 1.0:
                on_wait()
                last_beat = now
            try:
                self.conn.poll(POLL_S)
            except (EOFError, OSError):
                time.sleep(POLL_S)

    # -- lifecycle ------------------------------------------------------------------------
    def kill(self) -> None:
        """SIGKILL the host (a C call in Lua cannot be interrupted otherwise)."""
        if self.process.is_alive() and self.process.pid is not None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.join(timeout=5)
        self.conn.close()

    def restart(self) -> None:
        """Kill and start again (the engine then restores its runners)."""
        self.kill()
        self.restarts += 1
        self.start()

    def stop(self) -> None:
        """Ask the host to save its runners and exit (killed if it does not within 5 s)."""
        try:
            if self.ready:
                self._wait(lambda: self.in_flight is None, None)
                self.conn.send(("exit",))
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline and self.process.is_alive():
                    if self.conn.poll(0.05) and self.conn.recv()[0] == "exit":
                        break
        except (HostFailed, OSError, EOFError):
            pass
        self.kill()
