"""What a setup is made of: symbol, timeframes, indicator tokens and strategy names, checked.

Indicator tokens are the URL form of an indicator call: ``sma_20`` is ``sma(20)``,
``bollinger_20_2`` is ``bollinger(20, 2)``, ``macd`` is ``macd(12, 26, 9)`` (defaults fill the
rest). Every check raises :class:`SetupInvalid` naming the field, so the API answers 400 with
``details=[{field, message}]`` and pages show the message under the right input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from engine.data.symbols import get_symbol
from engine.data.timeframes import Timeframe
from engine.errors import ConfigError
from engine.indicators.registry import REGISTRY, normalize_args
from engine.strategy.store import StrategyStore

SETUP_TIMEFRAMES = ("5m", "15m", "30m", "1h", "4h", "8h", "1d")
"""The timeframes a setup offers (the seed's list)."""
INDICATOR_CATEGORIES: dict[str, tuple[str, ...]] = {
    "Trend": ("sma", "ema", "wma", "macd", "adx"),
    "Momentum": ("rsi", "stoch"),
    "Volatility": ("bollinger", "atr", "highest", "lowest"),
    "Volume": ("volume_sma",),
}
OVERLAYS = frozenset({"sma", "ema", "wma", "bollinger", "highest", "lowest"})
"""Indicators drawn on the price pane; the others get a pane of their own."""
MAX_ITEMS = 12
SOURCE = "sim"
"""Where a setup's candles come from: the simulated market of the curated symbols."""


class SetupInvalid(ConfigError):
    """A setup field is wrong: fix ``field`` as the message says."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class IndicatorCall:
    """One parsed indicator token: registry name and normalized arguments."""

    token: str
    name: str
    args: tuple[float, ...]

    @property
    def label(self) -> str:
        """``sma(20)``, ``bollinger(20, 2)``."""
        text = ", ".join(_num(a) for a in self.args)
        return f"{self.name}({text})"

    @property
    def overlay(self) -> bool:
        """Drawn over the candles (else in its own pane)."""
        return self.name in OVERLAYS


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def parse_indicator(token: str, field: str = "indicators") -> IndicatorCall:
    """``sma_20`` → sma(20); the longest registry name that prefixes the token wins
    (``volume_sma_20``). SetupInvalid with the valid names or the argument problem."""
    text = token.strip().lower() if isinstance(token, str) else ""
    names = sorted(REGISTRY, key=len, reverse=True)
    name = next((n for n in names if text == n or text.startswith(n + "_")), None)
    if name is None:
        raise SetupInvalid(
            field,
            f"unknown indicator {token!r}; write name_period like sma_20 or rsi_14 "
            f"(names: {', '.join(REGISTRY)})",
        )
    raw = [p for p in text[len(name) :].split("_") if p]
    try:
        args = tuple(float(p) for p in raw)
        norm = normalize_args(name, args)
    except ValueError:
        raise SetupInvalid(field, f"{token!r}: parameters must be numbers, e.g. sma_20") from None
    except ConfigError as exc:
        raise SetupInvalid(field, f"{token!r}: {exc}") from None
    canonical = "_".join([name, *(_num(a) for a in norm)])
    return IndicatorCall(canonical, name, norm)


def check_symbol(symbol: object) -> str:
    """The curated symbol's name (``btc/usdt`` → ``BTCUSDT``)."""
    if not isinstance(symbol, str) or not symbol.strip():
        raise SetupInvalid("symbol", "is required, e.g. BTCUSDT")
    try:
        return get_symbol(symbol).symbol
    except ConfigError as exc:
        raise SetupInvalid("symbol", str(exc)) from None


def check_timeframes(values: Sequence[str]) -> list[str]:
    """At least one timeframe, each known, no repeats; kept in ascending order."""
    if not values:
        raise SetupInvalid("timeframes", f"choose at least one of {', '.join(SETUP_TIMEFRAMES)}")
    known = {t.value: t for t in Timeframe}
    bad = [v for v in values if v not in known]
    if bad:
        raise SetupInvalid(
            "timeframes", f"unknown timeframe {bad[0]!r}; use {', '.join(SETUP_TIMEFRAMES)}"
        )
    return sorted(set(values), key=lambda v: known[v].ms)


def check_indicators(values: Sequence[str]) -> list[str]:
    """Canonical tokens, repeats dropped; at most :data:`MAX_ITEMS`."""
    if len(values) > MAX_ITEMS:
        raise SetupInvalid("indicators", f"at most {MAX_ITEMS} indicators, got {len(values)}")
    out: list[str] = []
    for value in values:
        token = parse_indicator(value).token
        if token not in out:
            out.append(token)
    return out


def check_strategies(values: Sequence[str], store: StrategyStore) -> list[str]:
    """Names of existing strategies (examples or the user's), repeats dropped."""
    if len(values) > MAX_ITEMS:
        raise SetupInvalid("strategies", f"at most {MAX_ITEMS} strategies, got {len(values)}")
    out: list[str] = []
    for value in values:
        try:
            name = store.resolve(value).stem
        except ConfigError as exc:
            valid = ", ".join(s.name for s in store.list())
            raise SetupInvalid("strategies", f"{exc} (available: {valid})") from None
        if name not in out:
            out.append(name)
    return out


def chart_url(
    symbol: str,
    timeframe: str,
    *,
    indicators: Sequence[str] = (),
    strategies: Sequence[str] = (),
    setup_id: int | None = None,
) -> str:
    """``/chart/BTCUSDT/1h?indicators=sma_20,rsi_14&strategies=ema_crossover&setup=3``."""
    query: dict[str, str] = {}
    if indicators:
        query["indicators"] = ",".join(indicators)
    if strategies:
        query["strategies"] = ",".join(strategies)
    if setup_id is not None:
        query["setup"] = str(setup_id)
    path = f"/chart/{quote(symbol, safe='')}/{quote(timeframe, safe='')}"
    return f"{path}?{urlencode(query, safe=',')}" if query else path


def chart_urls(setup: Mapping[str, Any]) -> list[str]:
    """One chart URL per timeframe of a stored setup."""
    return [
        chart_url(
            setup["symbol"],
            tf,
            indicators=setup["indicators"],
            strategies=setup["strategies"],
            setup_id=setup["id"],
        )
        for tf in setup["timeframes"]
    ]
