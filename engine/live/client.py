"""Read what the engine published in Redis and send it commands (used by the web and API).

Never blocks longer than the command timeout; an absent heartbeat means "engine offline".
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import redis

from engine.errors import CommandError, EngineUnavailable
from engine.live.keys import Keys


def _text(value: bytes | str | None) -> str:
    return value.decode() if isinstance(value, bytes) else str(value or "")


def _loads(raw: bytes | str | None) -> Any:
    return None if raw is None else json.loads(raw)


class EngineClient:
    """Typed reads of the engine's Redis keys, and commands with a reply and a timeout."""

    def __init__(self, client: redis.Redis, keys: Keys, timeout_s: float = 5.0) -> None:
        self.redis = client
        self.keys = keys
        self.timeout_s = timeout_s

    # -- reads --------------------------------------------------------------------------
    def heartbeat(self) -> dict[str, Any] | None:
        """The engine's heartbeat, or None when it has expired (engine offline)."""
        value: dict[str, Any] | None = _loads(self.redis.get(self.keys.heartbeat))
        return value

    def is_online(self) -> bool:
        """True while the engine's heartbeat is fresh."""
        return self.heartbeat() is not None

    def summary(self) -> dict[str, Any] | None:
        """The engine summary, or None if the engine never ran."""
        value: dict[str, Any] | None = _loads(self.redis.get(self.keys.summary))
        return value

    def runner_ids(self) -> list[str]:
        """Ids of the runners the engine owns, sorted."""
        return sorted(
            m.decode() if isinstance(m, bytes) else m
            for m in self.redis.smembers(self.keys.runner_ids)
        )

    def snapshots(self) -> list[dict[str, Any]]:
        """Every runner's snapshot (one round trip), sorted by runner id."""
        ids = self.runner_ids()
        if not ids:
            return []
        raw = self.redis.mget([self.keys.snapshot(i) for i in ids])
        return [snap for snap in (_loads(r) for r in raw) if snap is not None]

    def raw_snapshots(self) -> list[str]:
        """Every runner's snapshot as the JSON text the engine stored, sorted by runner id."""
        ids = self.runner_ids()
        if not ids:
            return []
        raw = self.redis.mget([self.keys.snapshot(i) for i in ids])
        return [r.decode() if isinstance(r, bytes) else str(r) for r in raw if r is not None]

    def raw_snapshot(self, runner_id: str) -> str | None:
        """One runner's snapshot as stored JSON text, or None for an unknown runner."""
        raw = self.redis.get(self.keys.snapshot(runner_id))
        if raw is None:
            return None
        return raw.decode() if isinstance(raw, bytes) else str(raw)

    def snapshot(self, runner_id: str) -> dict[str, Any] | None:
        """One runner's snapshot, or None for an unknown runner."""
        value: dict[str, Any] | None = _loads(self.redis.get(self.keys.snapshot(runner_id)))
        return value

    def decisions(self, runner_id: str, count: int = 100) -> list[dict[str, Any]]:
        """The runner's latest decisions, newest first."""
        return self._list(self.keys.decisions(runner_id), count)

    def bars(
        self, runner_id: str, count: int = 500, *, forming: bool = False
    ) -> list[dict[str, Any]]:
        """The runner's recent closed bars (its feed's), oldest first (ready to plot); with
        ``forming``, the bar forming now is appended (when the feed publishes one)."""
        snap = self.snapshot(runner_id)
        if snap is None:
            return []
        symbol, timeframe = snap["symbol"], snap["timeframe"]
        bars = self._list(self.keys.bars(symbol, timeframe), count)[::-1]
        if forming:
            tick = _loads(self.redis.get(self.keys.forming(symbol, timeframe)))
            if tick is not None and (not bars or tick["time"] > bars[-1]["time"]):
                bars.append(tick)
        return bars

    def raw_bars(self, symbol: str, timeframe: str, count: int) -> list[str]:
        """A feed's recent closed bars as the JSON text the engine stored, oldest first."""
        raw = self.redis.lrange(self.keys.bars(symbol, timeframe), 0, max(0, count - 1))
        return [r.decode() if isinstance(r, bytes) else str(r) for r in reversed(raw)]

    def raw_events(
        self,
        after: str = "0-0",
        count: int = 100,
        runner_id: str | None = None,
        event_type: str | None = None,
    ) -> tuple[list[str], str | None]:
        """:meth:`events` as JSON texts (each event's stored ``data`` used as is) and the last
        event's id (None when there is none)."""
        out: list[str] = []
        last = None
        cursor = after
        while len(out) < count:
            batch = self.redis.xrange(self.keys.events, min=f"({cursor}", count=500)
            if not batch:
                break
            for event_id, fields in batch:
                eid = cursor = _text(event_id)
                data = {_text(k): _text(v) for k, v in (fields or {}).items()}
                if runner_id and data.get("runner_id") != runner_id:
                    continue
                if event_type and data.get("type") != event_type:
                    continue
                out.append(
                    f'{{"id": {json.dumps(eid)}, "type": {json.dumps(data.get("type"))}, '
                    f'"runner_id": {json.dumps(data.get("runner_id") or None)}, '
                    f'"data": {data.get("data") or "{}"}}}'
                )
                last = eid
                if len(out) >= count:
                    break
        return out, last

    def last_price(self, symbol: str, timeframe: str = "1m") -> dict[str, Any] | None:
        """The feed's bar forming now (else its newest closed bar), or None without a feed."""
        tick = _loads(self.redis.get(self.keys.forming(symbol, timeframe)))
        if tick is not None:
            return dict(tick)
        newest = self._list(self.keys.bars(symbol, timeframe), 1)
        return newest[0] if newest else None

    def events(
        self,
        after: str = "0-0",
        count: int = 100,
        runner_id: str | None = None,
        event_type: str | None = None,
    ) -> list[dict[str, Any]]:
        """Events after stream id ``after`` (oldest first), optionally filtered."""
        out: list[dict[str, Any]] = []
        cursor = after
        while len(out) < count:
            batch = self.redis.xrange(self.keys.events, min=f"({cursor}", count=500)
            if not batch:
                break
            for event_id, fields in batch:
                eid = _text(event_id)
                cursor = eid
                data = {_text(k): _text(v) for k, v in (fields or {}).items()}
                if runner_id and data.get("runner_id") != runner_id:
                    continue
                if event_type and data.get("type") != event_type:
                    continue
                out.append(
                    {
                        "id": eid,
                        "type": data.get("type"),
                        "runner_id": data.get("runner_id") or None,
                        "data": json.loads(data.get("data") or "{}"),
                    }
                )
                if len(out) >= count:
                    break
        return out

    def _list(self, key: str, count: int) -> list[dict[str, Any]]:
        return [json.loads(item) for item in self.redis.lrange(key, 0, max(0, count - 1))]

    # -- commands -----------------------------------------------------------------------
    def command(self, name: str, **args: Any) -> Any:
        """Send a command and wait for its reply.

        Raises :class:`EngineUnavailable` when the engine is offline or does not reply within
        the timeout, and :class:`CommandError` when it refuses the command.
        """
        if not self.is_online():
            raise EngineUnavailable(
                "engine offline: start it with `tradesim up` or `tradesim engine`"
            )
        command_id = uuid.uuid4().hex
        reply_key = self.keys.reply(command_id)
        message = {"id": command_id, "command": name, "args": args, "reply_to": reply_key}
        try:
            self.redis.lpush(self.keys.commands, json.dumps(message))
            popped = self.redis.blpop([reply_key], timeout=self.timeout_s)
        except redis.RedisError as exc:
            raise EngineUnavailable(f"engine not responding: Redis error ({exc})") from None
        if popped is None:
            raise EngineUnavailable(
                f"engine not responding: no reply to '{name}' within {self.timeout_s:g} s"
            )
        reply = json.loads(popped[1])
        if reply.get("ok"):
            return reply.get("data")
        error = reply.get("error") or {}
        raise CommandError(
            error.get("code", "error"), error.get("message", "command failed"), error.get("details")
        )
