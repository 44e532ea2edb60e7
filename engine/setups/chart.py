"""Chart tabs: what ``/chart/<symbol>/<timeframe>?indicators=&strategies=&setup=`` asks for, and
the data it shows (candles from the candle store, the stored signals of its strategies).

:func:`parse_chart_request` checks every part and raises :class:`SetupInvalid` naming it, so
the page shows a readable message instead of a traceback. :func:`load_candles` and
:func:`load_signals` read only what a tab needs: the latest bars once, then only bars from
the tab's last bar on and signals after its last signal id (what the live poll sends).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from engine.data.bars import BarSeries
from engine.data.candle_store import CandleStore
from engine.data.history import MarketData
from engine.data.timeframes import Timeframe
from engine.errors import ConfigError
from engine.setups.spec import (
    SOURCE,
    IndicatorCall,
    SetupInvalid,
    check_indicators,
    check_strategies,
    check_symbol,
    parse_indicator,
)
from engine.storage.setup_store import SetupStore
from engine.strategy.store import StrategyStore

CHART_BARS = 1000
"""Bars a chart tab opens with."""
KNOWN_QUERY = frozenset({"indicators", "strategies", "setup"})


@dataclass(frozen=True)
class ChartRequest:
    """A checked chart URL: symbol, timeframe, indicator calls, strategy names and the setup
    (0: none, signals are the ad-hoc ones)."""

    symbol: str
    timeframe: str
    indicators: tuple[IndicatorCall, ...]
    strategies: tuple[str, ...]
    setup_id: int

    @property
    def tokens(self) -> list[str]:
        """The indicator tokens (``sma_20``) for URLs."""
        return [c.token for c in self.indicators]


def _split(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def parse_chart_request(
    symbol: str,
    timeframe: str,
    query: Mapping[str, str],
    strategies: StrategyStore,
    db: Engine | None = None,
) -> ChartRequest:
    """Check a chart URL's parts; SetupInvalid naming the part (``symbol``, ``timeframe``,
    ``indicators``, ``strategies``, ``setup``) otherwise. With ``db``, a ``setup`` must exist
    and watch this symbol; its indicators and strategies are the defaults."""
    unknown = sorted(set(query) - KNOWN_QUERY)
    if unknown:
        raise SetupInvalid(
            unknown[0], "is not a chart parameter; use indicators, strategies, setup"
        )
    name = check_symbol(symbol)
    valid = [t.value for t in Timeframe]
    if timeframe not in valid:
        raise SetupInvalid("timeframe", f"unknown timeframe {timeframe!r}; use {', '.join(valid)}")
    setup_id = 0
    setup: dict[str, Any] | None = None
    raw_setup = (query.get("setup") or "").strip()
    if raw_setup:
        if not raw_setup.isdigit() or len(raw_setup) > 9:
            raise SetupInvalid("setup", f"{raw_setup!r} is not a setup id (a whole number)")
        setup_id = int(raw_setup)
        if db is not None:
            setup = SetupStore(db).get(setup_id)
            if setup is None:
                raise SetupInvalid("setup", f"there is no setup {setup_id}; see /setups")
            if setup["symbol"] != name:
                raise SetupInvalid(
                    "setup", f"setup {setup_id} watches {setup['symbol']}, not {name}"
                )
    tokens = _split(query.get("indicators"))
    names = _split(query.get("strategies"))
    if setup is not None:
        tokens = tokens or list(setup["indicators"])
        names = names or list(setup["strategies"])
    calls = tuple(parse_indicator(t) for t in check_indicators(tokens))
    return ChartRequest(
        symbol=name,
        timeframe=timeframe,
        indicators=calls,
        strategies=tuple(check_strategies(names, strategies)),
        setup_id=setup_id,
    )


def load_candles(
    db: Engine,
    request: ChartRequest,
    *,
    start_ms: int | None = None,
    now_ms: int | None = None,
) -> BarSeries:
    """The latest :data:`CHART_BARS` bars, or every bar from ``start_ms`` on (the live poll:
    from the tab's first bar, so indicators over the new bars match a full rebuild)."""
    market = MarketData(CandleStore(db))
    try:
        _source, series = market.read(
            request.symbol,
            request.timeframe,
            source=SOURCE,
            start_ms=start_ms,
            limit=None if start_ms is not None else CHART_BARS,
            now_ms=now_ms,
        )
    except ConfigError as exc:
        raise SetupInvalid("timeframe", str(exc)) from None
    return series


def last_bar_time(db: Engine, request: ChartRequest) -> int | None:
    """Open time of the newest stored bar (the cheap "anything new?" check of a poll)."""
    last = CandleStore(db).read(SOURCE, request.symbol, request.timeframe, limit=1, latest=True)
    return int(last.timestamp[-1]) if len(last) else None


def load_signals(
    db: Engine, request: ChartRequest, *, after_id: int | None = None, since_ms: int | None = None
) -> list[dict[str, Any]]:
    """The stored signals of the tab's strategies on its series, oldest first."""
    if not request.strategies:
        return []
    rows = SetupStore(db).signals(
        setup_id=request.setup_id,
        symbol=request.symbol,
        timeframe=request.timeframe,
        since_ms=since_ms,
        after_id=after_id,
        limit=5000,
    )
    return [r for r in reversed(rows) if r["strategy"] in request.strategies]
