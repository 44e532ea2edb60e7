"""The curated symbols the simulator offers, with the parameters the simulated feed uses.

Prices are around their level at the start of 2024 (the simulated feed's default start).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from engine.data.timeframes import DAY_MS
from engine.errors import ConfigError

CATEGORIES = ("Crypto majors", "Crypto altcoins", "Stocks", "Forex")


@dataclass(frozen=True)
class SymbolSpec:
    """One tradable symbol.

    ``annual_volatility`` is the standard deviation of yearly log returns; ``spread_bps`` the
    typical bid/ask spread in basis points of price; ``volume_1m`` the typical volume of one
    1-minute bar in base units (shares, coins; tick counts for forex).
    """

    symbol: str
    display: str
    category: str
    asset_class: str  # "crypto" | "stock" | "forex"
    start_price: float
    annual_volatility: float
    spread_bps: float
    volume_1m: float
    trading_24_7: bool
    price_decimals: int


def _crypto(
    symbol: str, category: str, price: float, vol: float, spread: float, volume: float, dec: int
) -> SymbolSpec:
    display = f"{symbol[:-4]}/{symbol[-4:]}"
    return SymbolSpec(symbol, display, category, "crypto", price, vol, spread, volume, True, dec)


def _stock(symbol: str, price: float, vol: float, spread: float, volume: float) -> SymbolSpec:
    return SymbolSpec(symbol, symbol, "Stocks", "stock", price, vol, spread, volume, False, 2)


def _forex(symbol: str, price: float, vol: float, spread: float, dec: int) -> SymbolSpec:
    display = f"{symbol[:3]}/{symbol[3:]}"
    return SymbolSpec(symbol, display, "Forex", "forex", price, vol, spread, 60.0, False, dec)


_MAJORS, _ALTS = CATEGORIES[0], CATEGORIES[1]

SYMBOLS: tuple[SymbolSpec, ...] = (
    _crypto("BTCUSDT", _MAJORS, 42_500.0, 0.60, 1.0, 30.0, 2),
    _crypto("ETHUSDT", _MAJORS, 2_300.0, 0.70, 1.0, 400.0, 2),
    _crypto("BNBUSDT", _MAJORS, 310.0, 0.65, 2.0, 500.0, 2),
    _crypto("SOLUSDT", _MAJORS, 100.0, 0.90, 2.0, 5_000.0, 2),
    _crypto("XRPUSDT", _MAJORS, 0.62, 0.80, 3.0, 500_000.0, 4),
    _crypto("ADAUSDT", _ALTS, 0.60, 0.90, 4.0, 400_000.0, 4),
    _crypto("DOGEUSDT", _ALTS, 0.09, 1.00, 4.0, 3_000_000.0, 5),
    _crypto("AVAXUSDT", _ALTS, 38.0, 1.00, 4.0, 3_000.0, 2),
    _crypto("DOTUSDT", _ALTS, 8.2, 0.90, 4.0, 10_000.0, 3),
    _crypto("MATICUSDT", _ALTS, 0.95, 1.00, 5.0, 300_000.0, 4),
    _stock("AAPL", 185.0, 0.28, 1.0, 150_000.0),
    _stock("MSFT", 375.0, 0.27, 1.0, 60_000.0),
    _stock("GOOGL", 140.0, 0.32, 1.5, 70_000.0),
    _stock("AMZN", 150.0, 0.35, 1.5, 110_000.0),
    _stock("TSLA", 248.0, 0.60, 2.0, 300_000.0),
    _forex("EURUSD", 1.104, 0.07, 0.8, 5),
    _forex("GBPUSD", 1.273, 0.08, 1.0, 5),
    _forex("USDJPY", 141.0, 0.09, 1.0, 3),
)

_BY_NAME = {spec.symbol: spec for spec in SYMBOLS}


def _normalize(symbol: str) -> str:
    return "".join(ch for ch in symbol.upper() if ch.isalnum())


def get_symbol(symbol: str) -> SymbolSpec:
    """The spec of a curated symbol; case-insensitive, separators ignored ("btc/usdt" works).

    Raises ConfigError listing the valid symbols.
    """
    spec = _BY_NAME.get(_normalize(symbol)) if isinstance(symbol, str) else None
    if spec is None:
        valid = ", ".join(_BY_NAME)
        raise ConfigError(f"unknown symbol {symbol!r}: use one of {valid}")
    return spec


def symbols_by_category() -> dict[str, list[SymbolSpec]]:
    """Curated symbols grouped by category, in display order."""
    return {category: [s for s in SYMBOLS if s.category == category] for category in CATEGORIES}


def periods_per_year(symbol: str | None, timestamps_ms: npt.ArrayLike | None = None) -> int:
    """Periods for annualizing daily returns: 365 for 24/7 markets (crypto), 252 otherwise.

    A curated symbol decides by its market. For any other symbol the data decides: bars on a
    Saturday or Sunday (UTC) mean a 24/7 market; without timestamps the answer is 252.
    """
    spec = _BY_NAME.get(_normalize(symbol)) if symbol else None
    if spec is not None:
        return 365 if spec.trading_24_7 else 252
    if timestamps_ms is None:
        return 252
    days = np.asarray(timestamps_ms, dtype=np.int64) // DAY_MS
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
    return 365 if bool(np.any(weekday >= 5)) else 252
