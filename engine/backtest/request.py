"""A backtest request, checked and resolved into a frozen, reproducible :class:`BacktestConfig`.

:func:`parse_request` turns the JSON body of ``POST /api/backtest/run`` (also what the Backtest
page sends) into a config with the strategy's exact code and its hash, a resolved
:class:`DataSpec`, fill settings and validated params. Every problem raises
:class:`ConfigError` / :class:`StrategyError` before anything is queued.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from engine.backtest.data_spec import (
    DataSpec,
    check_available,
    csv_info,
    csv_path,
    no_data_message,
    preset_range,
    stored_info,
)
from engine.data.candle_store import CandleStore
from engine.data.exchange import store_symbol
from engine.data.history import check_source
from engine.data.symbols import get_symbol
from engine.data.timeframes import Timeframe, parse_duration, parse_timeframe
from engine.errors import ConfigError, StrategyError
from engine.strategy.fills import FillMode, SimConfig, SlippageModel
from engine.strategy.instance import StrategySource
from engine.strategy.store import StrategyStore
from engine.strategy.validator import validate_strategy

FIELDS: dict[str, tuple[type, ...]] = {
    "strategy": (str,),
    "strategy_code": (str,),
    "symbol": (str,),
    "timeframe": (str,),
    "source": (str,),
    "preset": (str,),
    "start": (str, int),
    "end": (str, int),
    "runs": (int,),
    "duration": (str,),
    "seed": (int,),
    "capital": (int, float),
    "commission": (int, float),
    "slippage_model": (str,),
    "slippage_bps": (int, float),
    "fill": (str,),
    "window": (int,),
    "params": (dict,),
    "note": (str,),
}
MAX_RUNS = 1000
EXAMPLE = '{"strategy": "ema_crossover", "symbol": "BTCUSDT", "timeframe": "1h", "preset": "30d"}'


@dataclass(frozen=True, kw_only=True)
class BacktestConfig:
    """Everything needed to run (and re-run, identically) one backtest."""

    strategy_name: str
    strategy_file: str
    strategy_code: str
    strategy_hash: str
    data: DataSpec
    sim: dict[str, Any]
    params: dict[str, int | float]
    runs: int = 1
    duration: str | None = None
    seed: int = 1
    note: str = ""

    @property
    def duration_bars(self) -> int | None:
        """Bars per randomized run (None for one run over the whole range)."""
        if self.duration is None:
            return None
        return parse_duration(self.duration) // Timeframe(self.data.timeframe).ms

    def sim_config(self) -> SimConfig:
        """The fill/cost settings as a :class:`SimConfig`."""
        return SimConfig(**self.sim)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (stored in the ``backtests`` table)."""
        out = asdict(self)
        out["data"] = self.data.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BacktestConfig:
        """Inverse of :meth:`to_dict`."""
        return cls(**{**data, "data": DataSpec.from_dict(dict(data["data"]))})

    def to_request(self) -> dict[str, Any]:
        """A request body that reproduces this config (the page's "re-run")."""
        return {
            "strategy_code": self.strategy_code,
            "strategy": self.strategy_file,
            "symbol": self.data.symbol,
            "timeframe": self.data.timeframe,
            "source": self.data.source,
            "start": self.data.start_ms,
            "end": self.data.end_ms,
            "runs": self.runs,
            **({"duration": self.duration} if self.duration else {}),
            "seed": self.seed,
            "capital": self.sim["initial_capital"],
            "commission": self.sim["commission_rate"],
            "slippage_model": self.sim["slippage_model"],
            "slippage_bps": self.sim["slippage_bps"],
            "fill": self.sim["fill_mode"],
            "window": self.sim["window_size"],
            "params": dict(self.params),
        }


def parse_request(
    body: object,
    *,
    strategies: StrategyStore,
    csv_folders: Sequence[Path] = (),
    candles: CandleStore | None = None,
    now_ms: int | None = None,
) -> BacktestConfig:
    """Check ``body`` and resolve it (see the module docstring); raises with a fix-it message."""
    if not isinstance(body, dict):
        raise ConfigError(f"send a JSON object, e.g. {EXAMPLE}")
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise ConfigError(f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(FIELDS)}")
    for name, kind in FIELDS.items():
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, kind)):
            expected = " or ".join(k.__name__ for k in kind)
            raise ConfigError(f"{name} must be a {expected}, got {type(value).__name__}")
    source = _strategy(body, strategies)
    problems = [d for d in validate_strategy(source.code, source.file) if d.severity == "error"]
    if problems:
        first = problems[0]
        raise StrategyError(source.file, first.line, first.message)
    data_source = str(body.get("source") or "sim")
    if not data_source.startswith("csv:"):
        check_source(data_source)
    info = None
    asked_tf = str(body["timeframe"]) if body.get("timeframe") else None
    if data_source == "sim":
        symbol = get_symbol(str(body.get("symbol") or "BTCUSDT")).symbol
        timeframe = parse_timeframe(asked_tf or "1h").value
    else:
        stored_symbol = store_symbol(str(body["symbol"])) if body.get("symbol") else None
        if stored_symbol is not None:
            info = stored_info(data_source, stored_symbol, asked_tf, candles)
        if info is not None:
            symbol = stored_symbol or ""
        elif data_source.startswith("csv:"):  # not imported: a file (or "no such CSV file")
            symbol = str(body.get("symbol") or csv_path(data_source, csv_folders).stem)
            info = csv_info(data_source, symbol, csv_folders)
        else:
            raise ConfigError(no_data_message(data_source, stored_symbol or "any symbol", asked_tf))
        timeframe = parse_timeframe(asked_tf or info[2] or "1d").value
    start, end = _range(body, info, timeframe, now_ms)
    data = DataSpec(
        source=data_source,
        symbol=symbol,
        timeframe=timeframe,
        start_ms=start,
        end_ms=end,
        seed=int(body.get("seed", 1)),
    )
    sim = SimConfig(
        initial_capital=float(body.get("capital", 10_000.0)),
        commission_rate=float(body.get("commission", 0.0)),
        slippage_bps=float(body.get("slippage_bps", 0.0)),
        slippage_model=cast(SlippageModel, str(body.get("slippage_model", "fixed"))),
        fill_mode=cast(FillMode, str(body.get("fill", "close"))),
        window_size=int(body.get("window", 100)),
    )
    params = source.metadata.resolve_params(body.get("params") or {})
    runs = int(body.get("runs", 1))
    if not 1 <= runs <= MAX_RUNS:
        raise ConfigError(f"runs must be 1..{MAX_RUNS}, got {runs}")
    duration = body.get("duration") or None
    if runs > 1 and duration is None:
        raise ConfigError('randomized runs need a duration, e.g. "duration": "7d"')
    config = BacktestConfig(
        strategy_name=source.name,
        strategy_file=source.file,
        strategy_code=source.code,
        strategy_hash=hashlib.sha256(source.code.encode("utf-8")).hexdigest(),
        data=data,
        sim={
            "initial_capital": sim.initial_capital,
            "commission_rate": sim.commission_rate,
            "slippage_bps": sim.slippage_bps,
            "slippage_model": sim.slippage_model.value,
            "fill_mode": sim.fill_mode.value,
            "window_size": sim.window_size,
        },
        params=params,
        runs=runs,
        duration=duration,
        seed=data.seed,
        note=str(body.get("note") or "")[:500],
    )
    bars = check_available(data, csv_folders=csv_folders, candles=candles)
    if config.duration_bars is not None and not 2 <= config.duration_bars <= bars:
        raise ConfigError(
            f"duration {duration} is {config.duration_bars} bars but the range has {bars}; "
            "choose a shorter duration or a longer range"
        )
    return config


def parse_time(value: str | int, name: str) -> int:
    """Epoch ms (int) or an ISO-8601 date/time (UTC unless it says otherwise) -> epoch ms."""
    if isinstance(value, int):
        return value
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f"{name}={value!r}: expected an ISO date like 2024-01-01 or 2024-01-01T12:00:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def _strategy(body: Mapping[str, Any], strategies: StrategyStore) -> StrategySource:
    code, name = body.get("strategy_code"), body.get("strategy")
    if code:
        file = Path(str(name or "strategy.lua")).name
        return StrategySource.from_code(code, file if file.endswith(".lua") else f"{file}.lua")
    if not name:
        raise ConfigError(f"give a strategy name (or strategy_code), e.g. {EXAMPLE}")
    return StrategySource.from_file(strategies.resolve(str(name)))


def _range(
    body: Mapping[str, Any], info: tuple[int, int, str] | None, timeframe: str, now_ms: int | None
) -> tuple[int, int]:
    """``[start, end)`` from a preset (ending now, or at a file's last bar) or start/end; a
    file's range defaults to the whole file."""
    preset, start, end = body.get("preset"), body.get("start"), body.get("end")
    if preset and (start is not None or end is not None):
        raise ConfigError("give a preset or start/end, not both")
    if preset:
        if info is not None:
            return preset_range(str(preset), info[1], timeframe)
        now = int(datetime.now(UTC).timestamp() * 1000) if now_ms is None else now_ms
        return preset_range(str(preset), now, timeframe)
    if info is not None:
        lo = parse_time(start, "start") if start is not None else info[0]
        hi = parse_time(end, "end") if end is not None else info[1]
        return lo, hi
    if start is None or end is None:
        raise ConfigError("give a range: a preset (24h, 7d, 30d, 90d, 1y) or both start and end")
    return parse_time(start, "start"), parse_time(end, "end")
