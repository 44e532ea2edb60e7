"""The Lua strategy contract as data (see DESIGN.md, "Lua strategy contract").

The validator, the Lua kernel, the editor's completions and the docs all read these names
from here, so the contract is written down exactly once.
"""

from __future__ import annotations

from types import MappingProxyType

REQUIRED_FUNCTIONS: tuple[str, ...] = ("detect_opportunity", "filter_commitment", "manage_position")

MARKET_DATA_FIELDS: tuple[str, ...] = (
    "symbol",
    "timeframe",
    "timestamp",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "bid",
    "ask",
    "mid_price",
)

POSITION_FIELDS: tuple[str, ...] = (
    "side",
    "entry_price",
    "quantity",
    "entry_time",
    "stop_loss",
    "take_profit",
    "unrealized_pnl",
    "bars_held",
)

#: Indicator functions callable as ``indicators.NAME(...)``; the registry in
#: ``engine.indicators.registry`` implements exactly these (a test holds them equal).
INDICATOR_FUNCTIONS: tuple[str, ...] = (
    "sma",
    "ema",
    "wma",
    "rsi",
    "macd",
    "bollinger",
    "atr",
    "highest",
    "lowest",
    "volume_sma",
    "stoch",
    "adx",
)

#: Plain fields over the runner's window (``window_size`` bars, current bar included).
INDICATOR_FIELDS: tuple[str, ...] = ("high", "low", "range", "avg_volume")

#: Action name -> {field: expected Lua type}. Fields not listed are an error.
ACTIONS: MappingProxyType[str, MappingProxyType[str, str]] = MappingProxyType(
    {
        "enter_long": MappingProxyType(
            {
                "price": "number",
                "quantity": "number",
                "stop_loss": "number",
                "take_profit": "number",
                "reason": "string",
                "confidence": "number",
            }
        ),
        "enter_short": MappingProxyType(
            {
                "price": "number",
                "quantity": "number",
                "stop_loss": "number",
                "take_profit": "number",
                "reason": "string",
                "confidence": "number",
            }
        ),
        "exit": MappingProxyType({"price": "number", "reason": "string"}),
        "update_stop_loss": MappingProxyType({"new_stop": "number", "reason": "string"}),
        "update_take_profit": MappingProxyType({"new_target": "number", "reason": "string"}),
        "start_analyzing": MappingProxyType(
            {"reason": "string", "signal": "string", "confidence": "number"}
        ),
        "cancel_analysis": MappingProxyType({"reason": "string"}),
    }
)

ACTION_NAMES: tuple[str, ...] = tuple(ACTIONS)

#: Names visible to a strategy besides its three functions.
SANDBOX_GLOBALS: tuple[str, ...] = (
    "params",
    "log",
    "print",
    "math",
    "string",
    "table",
    "utf8",
    "pairs",
    "ipairs",
    "next",
    "select",
    "type",
    "tostring",
    "tonumber",
    "error",
    "assert",
    "pcall",
    "xpcall",
    "setmetatable",
    "getmetatable",
    "rawget",
    "rawset",
    "rawequal",
    "rawlen",
    "unpack",
)
