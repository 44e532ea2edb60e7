"""The one wrapper around Lua: a lua54 runtime per strategy, the kernel, and error conversion.

Every call into Lua goes through :meth:`Sandbox.call`, which turns Lua failures into
:class:`StrategyError` (file, line, message) and anything the kernel flags as a broken
invariant into :class:`InvalidTransitionError`.

Why lua54 and not LuaJIT: LuaJIT's instruction-count hook does not fire in JIT-compiled code, so
an endless loop could not be stopped without turning the JIT off (which loses its speed). lua54
keeps the hook reliable, and running the whole bar loop inside Lua (one Python->Lua call per
chunk of bars, not per bar) makes it fast enough: see ``benchmarks/bench_backtest.py``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from typing import Any

import lupa.lua54 as lupa
import numpy as np

from engine.errors import InvalidTransitionError, StrategyError, StrategyLimitError
from engine.strategy.contract import ACTIONS, INDICATOR_FIELDS
from engine.strategy.fills import FillMode, SimConfig, SlippageModel
from engine.strategy.state_machine import STATE_FUNCTIONS, State, Trigger, transition_table_for_lua

#: Codes the kernel uses for states and triggers in its flat result arrays (1-based).
STATE_CODES: tuple[State, ...] = tuple(State)
TRIGGER_CODES: tuple[Trigger, ...] = tuple(Trigger)

SeriesLoader = Callable[..., Any]

_KERNEL_SOURCE = resources.files("engine.strategy").joinpath("kernel.lua").read_text("utf-8")
_MIB = 1024 * 1024

# Converts packed float64 values to a Lua array, NaN -> nil (a hole), in Lua: ~40 ms per 525k.
_UNPACK_SERIES = """
return function(s, n)
  local t, u = {}, string.unpack
  local fmt, j, pos = string.rep("d", 500), 0, 1
  while j + 500 <= n do
    local vals = {u(fmt, s, pos)}
    for k = 1, 500 do local v = vals[k]; if v == v then t[j + k] = v end end
    j, pos = j + 500, pos + 4000
  end
  while j < n do
    local v; v, pos = u("d", s, pos); j = j + 1
    if v == v then t[j] = v end
  end
  return t
end
"""


def _deny_attributes(obj: object, name: object, is_setting: bool) -> object:
    raise AttributeError("Python objects are not accessible from strategies")


class Sandbox:
    """One lua54 runtime holding the trusted kernel and one sandboxed strategy.

    Create one per strategy instance (backtest or live runner): the memory cap and the
    instruction budget then protect everything else in the process from that strategy.
    """

    def __init__(
        self,
        *,
        file: str,
        config: SimConfig,
        symbol: str,
        timeframe: str,
        indicator_outputs: Mapping[str, Sequence[str]],
        series_loader: SeriesLoader,
    ) -> None:
        self.file = file
        self._limit = config.memory_limit_mb * _MIB
        self._lua = lupa.LuaRuntime(
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=True,
            attribute_filter=_deny_attributes,
            max_memory=self._limit,
        )
        self._lua.execute("python = nil")
        self._kernel = self._lua.execute(_KERNEL_SOURCE)
        self._unpack_series = self._lua.execute(_UNPACK_SERIES)
        lua_config = {
            "file": file,
            "symbol": symbol,
            "timeframe": timeframe,
            "initial_capital": config.initial_capital,
            "commission_rate": config.commission_rate,
            "slippage_bps": config.slippage_bps,
            "spread_model": config.slippage_model is SlippageModel.SPREAD,
            "next_open": config.fill_mode is FillMode.NEXT_OPEN,
            "position_fraction": config.position_fraction,
            "max_analyzing_bars": config.max_analyzing_bars,
            "instruction_budget": config.instruction_budget,
            "decision_log_size": config.decision_log_size,
        }
        actions: dict[str, Any] = {name: self._table(dict(spec)) for name, spec in ACTIONS.items()}
        actions["_names"] = ", ".join(ACTIONS)
        actions["_fields"] = self._table(
            {name: ", ".join(spec) or "(none)" for name, spec in ACTIONS.items()}
        )
        self._kernel.setup(
            self._table(lua_config),
            self._table({k: self._table(v) for k, v in transition_table_for_lua().items()}),
            self._table(actions),
            self._table({state.value: fn for state, fn in STATE_FUNCTIONS.items()}),
            self._table(
                {name: self._lua.table_from(list(outs)) for name, outs in indicator_outputs.items()}
            ),
            self._lua.table_from(list(INDICATOR_FIELDS)),
            series_loader,
            self._table({state.value: i for i, state in enumerate(STATE_CODES, 1)}),
            self._table({trigger.value: i for i, trigger in enumerate(TRIGGER_CODES, 1)}),
        )

    # -- helpers for callers -------------------------------------------------------------
    def _table(self, mapping: Mapping[str, Any]) -> Any:
        return self._lua.table_from(dict(mapping))

    def make_table(self, mapping: Mapping[str, Any]) -> Any:
        """A Lua table from a flat mapping of plain values."""
        return self._table(mapping)

    def array(self, values: np.ndarray) -> Any:
        """A Lua array (1-based) from float64 values; NaN entries become holes (nil)."""
        data = np.ascontiguousarray(values, dtype=np.float64)
        self._reserve(data.nbytes * 3)
        return self._unpack_series(data.tobytes(), len(data))

    def set_bars(self, packed: bytes) -> None:
        """Hand the kernel the bar rows packed as ``<q7d`` (ts, o, h, l, c, v, bid, ask)."""
        self._reserve(len(packed))
        self._kernel.set_bars(packed)

    def _reserve(self, nbytes: int) -> None:
        """Raise the memory cap so that trusted data does not eat the strategy's allowance."""
        self._lua.set_max_memory(self._lua.get_memory_used() + nbytes + self._limit)

    # -- the one call wrapper -------------------------------------------------------------
    def call(self, name: str, *args: Any) -> Any:
        """Call kernel function ``name``; a returned error table raises the matching error."""
        try:
            result = getattr(self._kernel, name)(*args)
        except lupa.LuaMemoryError:
            raise StrategyLimitError(self.file, None, self._memory_message()) from None
        except lupa.LuaError as exc:
            # the kernel's own chunk names and traceback mean nothing to a strategy author
            first = str(exc).splitlines()[0] if str(exc) else "unknown"
            text = re.sub(r'\[string "[^"]*"\]:\d+: ', "", first)
            raise StrategyError(self.file, None, f"internal Lua error: {text}") from None
        return result

    def check(self, error: Any) -> None:
        """Raise for an error table returned by a kernel entry point (no-op for ``None``)."""
        if error is None:
            return
        message = str(error["message"])
        kind = str(error["kind"])
        line = error["line"]
        if kind == "transition":
            raise InvalidTransitionError(message)
        message, parsed_line = self._strip_location(message)
        line = int(line) if line is not None else parsed_line
        if kind == "budget":
            raise StrategyLimitError(self.file, line, message)
        if kind == "memory":
            raise StrategyLimitError(self.file, line, self._memory_message())
        if kind == "syntax":
            message = f"syntax error: {message}"
        raise StrategyError(self.file, line, message)

    def _memory_message(self) -> str:
        mib = self._limit // _MIB
        return f"memory limit exceeded (the strategy may use at most {mib} MiB)"

    def _strip_location(self, message: str) -> tuple[str, int | None]:
        match = re.match(rf"^{re.escape(self.file)}:(\d+): (.*)$", message, re.DOTALL)
        if match:
            return match.group(2), int(match.group(1))
        return message, None
