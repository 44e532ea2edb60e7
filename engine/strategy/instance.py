"""Lua strategies: source + metadata, and a running instance bound to a sandbox.

:class:`StrategySource` is what a user wrote (from a file or a string). :class:`StrategyInstance`
binds it to a :class:`~engine.strategy.sandbox.Sandbox`, an indicator provider and fill settings;
the
backtester and the live runner both drive the same instance type, so the same bars give the same
trades in both.
"""

from __future__ import annotations

import gc
import struct
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from engine.data.bars import Bar
from engine.errors import StrategyError, TradeSimError
from engine.indicators.registry import REGISTRY, normalize_args
from engine.strategy.fills import SimConfig
from engine.strategy.metadata import StrategyMetadata, parse_metadata
from engine.strategy.sandbox import STATE_CODES, TRIGGER_CODES, Sandbox
from engine.strategy.state_machine import Transition
from engine.strategy.trades import Trade

MAX_STRATEGY_BYTES = 256 * 1024
_ROW = struct.Struct("<q7d")
_STATE_NAMES = tuple(state.value for state in STATE_CODES)
_TRIGGER_NAMES = tuple(trigger.value for trigger in TRIGGER_CODES)
#: Distinct indicator series one strategy may request (each costs a full computation).
MAX_SERIES = 64
LIVE_SERIES_KEPT = 2
"""Bars of each indicator series a live runner keeps in Lua (the current one is read)."""


@dataclass(frozen=True, kw_only=True)
class StrategySource:
    """A strategy's code, the file name used in error messages, and its parsed header."""

    code: str
    file: str
    metadata: StrategyMetadata

    @property
    def name(self) -> str:
        """Display name: ``@name`` from the header, else the file stem."""
        return self.metadata.name or Path(self.file).stem

    @classmethod
    def from_code(cls, code: str, file: str = "strategy.lua") -> StrategySource:
        """Wrap code given as a string (e.g. from the editor)."""
        if len(code.encode("utf-8")) > MAX_STRATEGY_BYTES:
            raise StrategyError(file, None, "strategy is larger than 256 KiB")
        metadata, _problems = parse_metadata(code)
        return cls(code=code, file=file, metadata=metadata)

    @classmethod
    def from_file(cls, path: str | Path) -> StrategySource:
        """Read a ``.lua`` file; a missing or unreadable file raises :class:`StrategyError`."""
        p = Path(path)
        try:
            code = p.read_text("utf-8")
        except FileNotFoundError:
            raise StrategyError(str(p), None, "file not found — check the path") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise StrategyError(str(p), None, f"cannot read the file: {exc}") from None
        return cls.from_code(code, p.name)


class SeriesProvider(Protocol):
    """Computes an indicator's full series (one array per output) for the current data."""

    def series(self, name: str, args: tuple[float, ...]) -> dict[str, np.ndarray]:
        """Arrays aligned with the bars (index 0 = bar 1 in Lua); NaN where no value."""
        ...


#: An indicator series: (name, normalized args); the window fields use ("window", (size,)).
SeriesKey = tuple[str, tuple[float, ...]]


@dataclass
class SeriesTiming:
    """Seconds spent computing indicator series (reported as ``indicators_s``)."""

    seconds: float = 0.0


class StrategyInstance:
    """A strategy loaded into its own sandbox and ready to process bars."""

    def __init__(
        self,
        source: StrategySource,
        *,
        symbol: str,
        timeframe: str,
        config: SimConfig,
        provider: SeriesProvider,
        params: Mapping[str, str | float | int] | None = None,
    ) -> None:
        self.source = source
        self.config = config
        self.params = source.metadata.resolve_params(params or {})
        self.provider = provider
        self.timing = SeriesTiming()
        #: Lua arrays per requested series, so live runners can extend them bar by bar.
        self.series_tables: dict[SeriesKey, dict[str, Any]] = {}
        outputs = {name: spec.outputs for name, spec in REGISTRY.items()}
        self.sandbox = Sandbox(
            file=source.file,
            config=config,
            symbol=symbol,
            timeframe=timeframe,
            indicator_outputs=outputs,
            series_loader=self._load_series,
        )
        self.load()

    def load(self) -> None:
        """(Re)compile the strategy in a fresh environment and reset all runner state."""
        self.sandbox.call("reset")
        params = self.sandbox.make_table(self.params)
        self.sandbox.check(self.sandbox.call("load", self.source.code, params))

    def _load_series(self, name: str, *raw: Any) -> Any:
        """Kernel callback: the Lua table of outputs for ``name(args)`` or ``(nil, message)``.

        ``name == "window"`` asks for one window field (``raw[0]``); the four fields are
        tracked together under ``("window", (window_size,))``.
        """
        if len(self.series_tables) >= MAX_SERIES:
            return None, (
                f"too many distinct indicator series (at most {MAX_SERIES}); "
                "use a few fixed periods instead of computing them in a loop"
            )
        started = time.perf_counter()
        try:
            if name == "window":
                key: SeriesKey = ("window", (float(self.config.window_size),))
                field_name = str(raw[0])
                array = self.sandbox.array(self.provider.series(*key)[field_name])
                self.series_tables.setdefault(key, {})[field_name] = array
                return self.sandbox.make_table({"value": array})
            args = tuple(a for a in raw if a is not None)
            if any(isinstance(a, bool) or not isinstance(a, int | float) for a in args):
                got = ", ".join(repr(a) for a in args)
                return None, f"{name}(): arguments must be numbers, got ({got})"
            key = (name, normalize_args(name, args))
            tables = {
                out: self.sandbox.array(values)
                for out, values in self.provider.series(*key).items()
            }
            self.series_tables[key] = tables
            return self.sandbox.make_table(tables)
        except TradeSimError as exc:
            return None, str(exc)
        finally:
            self.timing.seconds += time.perf_counter() - started

    # -- driving --------------------------------------------------------------------------
    def set_bars(self, packed: bytes) -> None:
        """Give the kernel the packed bar rows for :meth:`run`."""
        self.sandbox.set_bars(packed)

    def replace_bars(self, packed: bytes, provider: SeriesProvider) -> None:
        """Swap in other bars and their indicator provider, keeping this runtime: every
        cached series is dropped (Lua and Python side) and read again from ``provider``.
        Call :meth:`load` before the next :meth:`run`."""
        self.provider = provider
        self.series_tables.clear()
        self.sandbox.call("forget_series")
        self.set_bars(packed)

    def run(self, first: int, last: int) -> None:
        """Process bars ``first..last`` (1-based, inclusive) of the packed rows."""
        self.sandbox.check(self.sandbox.call("run", first, last))

    def step(self, index: int, bar: Bar) -> tuple[int, int, int, str | None]:
        """Process one live bar as bar number ``index`` (1-based): the same kernel loop as
        :meth:`run`, fed one packed row. Returns the counts of trades, transitions and actions
        so far, so callers fetch details only when something happened, and this bar's decision
        result (None when the decision log is off)."""
        row = _ROW.pack(
            bar.timestamp, bar.open, bar.high, bar.low, bar.close, bar.volume, bar.bid, bar.ask
        )
        error, trades, transitions, actions, result = self.sandbox.call("step", index, row)
        self.sandbox.check(error)
        return int(trades), int(transitions), int(actions), None if result is None else str(result)

    def extend_series(self, index: int, values: Mapping[SeriesKey, Mapping[str, float]]) -> None:
        """Set bar ``index`` of every tracked Lua series (live runners, before :meth:`step`).

        Strategies only read the current bar's value, so older values are dropped as new ones
        come: a live runner's Lua memory stays flat however long it runs."""
        for key, outputs in values.items():
            tables = self.series_tables.get(key)
            if tables is None:
                continue
            for out, table in tables.items():
                value = outputs[out]
                if value == value:  # NaN stays a hole (nil)
                    table[index] = value
                table[index - LIVE_SERIES_KEPT] = None

    def forget_results(self) -> None:
        """Drop the trades and transitions already fetched with :meth:`results` (live runners:
        their counts restart at 0)."""
        self.sandbox.call("forget_results")

    def decisions_after(self, bar: int) -> list[dict[str, Any]]:
        """Decision-log entries for bars after ``bar``, oldest first, as plain data (the
        kernel's entries are flat tables of plain values, ``logs`` an array of strings:
        converted directly, twice as fast as :func:`_to_python`; a live runner reads one per
        bar)."""
        out = []
        for entry in self.sandbox.call("decisions_after", bar).values():
            decision = dict(entry.items())
            logs = decision.get("logs")
            if logs is not None:
                decision["logs"] = list(logs.values())
            out.append(decision)
        return out

    def restore(self, saved: Mapping[str, Any]) -> None:
        """Put back a snapshot's state, position, context, realized P&L and bar count;
        ``at_bar`` is the current bar index (positions hold ``entry_bar`` on that numbering)."""
        position = saved.get("position")
        self.sandbox.call(
            "restore",
            saved.get("state", "Idle"),
            None if position is None else self.sandbox.make_table(position),
            self.sandbox.make_table(saved.get("context") or {}),
            float(saved.get("realized", 0.0)),
            int(saved.get("bars", 0)),
            int(saved.get("at_bar", 0)),
        )

    def snapshot(self, *, decisions: bool = True) -> dict[str, Any]:
        """State, position, context, counters and (unless ``decisions=False``) the decision
        log, newest first, as plain Python data."""
        snap: dict[str, Any] = _to_python(self.sandbox.call("snapshot", decisions))
        snap["decisions"] = snap.get("decisions") or []  # an empty Lua table reads as {}
        snap.setdefault("pending", None)  # Lua nil fields are absent: make them explicit
        position = snap.setdefault("position", None)
        if position is not None:
            position.setdefault("stop_loss", None)
            position.setdefault("take_profit", None)
        return snap

    def close_open(self, reason: str, price: float) -> None:
        """Close an open position at ``price`` (``end_of_data`` or ``manual``)."""
        self.sandbox.check(self.sandbox.call("close_open", reason, price))

    def results(
        self, run_id: int = 0, *, trades_seen: int = 0, transitions_seen: int = 0
    ) -> tuple[list[Trade], list[Transition]]:
        """Closed trades and transitions recorded after the first ``trades_seen`` /
        ``transitions_seen`` (bar indices 1-based)."""
        trade_nums, transition_nums, reasons = self.sandbox.call(
            "results", trades_seen, transitions_seen
        )
        with _gc_paused():  # tens of thousands of acyclic tuples: no collector passes needed
            return self._decode_results(run_id, trade_nums, transition_nums, reasons)

    @staticmethod
    def _decode_results(
        run_id: int, trade_nums: Any, transition_nums: Any, reasons: Any
    ) -> tuple[list[Trade], list[Transition]]:
        t = np.array(list(trade_nums.values()), dtype=np.float64).reshape(-1, 15).T
        n = t.shape[1]
        ints = t[[1, 2, 3, 4, 5]].astype(np.int64).tolist()
        sides = ["long" if x > 0 else "short" for x in t[0].tolist()]
        reasons_ = [_TRIGGER_NAMES[int(c) - 1] for c in t[14].tolist()]
        trades = list(
            map(
                Trade._make,
                zip(
                    [run_id] * n,
                    sides,
                    *ints[:4],
                    *t[6:12].tolist(),
                    reasons_,
                    ints[4],
                    *t[12:14].tolist(),
                    strict=True,
                ),
            )
        )
        r = np.array(list(transition_nums.values()), dtype=np.int64).reshape(-1, 5).T
        transitions = list(
            map(
                Transition._make,
                zip(
                    *r[:2].tolist(),
                    [_STATE_NAMES[c - 1] for c in r[2].tolist()],
                    [_STATE_NAMES[c - 1] for c in r[3].tolist()],
                    [_TRIGGER_NAMES[c - 1] for c in r[4].tolist()],
                    [str(x) for x in reasons.values()],
                    strict=True,
                ),
            )
        )
        return trades, transitions


@contextmanager
def _gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _to_python(value: Any) -> Any:
    """Lua tables -> dicts (or lists for 1..n arrays), recursively."""
    if hasattr(value, "items") and not isinstance(value, dict):
        items = {k: _to_python(v) for k, v in value.items()}
        if (
            items
            and all(isinstance(k, int) for k in items)
            and set(items) == set(range(1, len(items) + 1))
        ):
            return [items[i] for i in range(1, len(items) + 1)]
        return items
    return value
