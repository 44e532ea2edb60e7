"""The last closed bar of every live feed (table ``feeds``), so feeds never go back in time."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engine.storage.models import Base

_FEEDS = Base.metadata.tables["feeds"]


class FeedStore:
    """Reads and upserts feeds' last bars (``Bar.ohlcv()`` dicts keyed by symbol/timeframe)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def last_bar(self, symbol: str, timeframe: str) -> dict[str, Any] | None:
        """The feed's last stored closed bar, or None if it never produced one."""
        query = sa.select(_FEEDS.c.last_bar).where(
            _FEEDS.c.symbol == symbol, _FEEDS.c.timeframe == timeframe
        )
        with self._engine.begin() as conn:
            value = conn.execute(query).scalar_one_or_none()
        return None if value is None else dict(value)

    def save(self, bars: Mapping[tuple[str, str], Mapping[str, Any]]) -> None:
        """Upsert the last bar of each (symbol, timeframe) in one transaction; a stored bar
        is only ever replaced by a later one."""
        if not bars:
            return
        now = datetime.now(UTC)
        with self._engine.begin() as conn:
            for (symbol, timeframe), bar in bars.items():
                values = {"last_time": int(bar["time"]), "last_bar": dict(bar), "updated_at": now}
                updated = conn.execute(
                    sa.update(_FEEDS)
                    .where(
                        _FEEDS.c.symbol == symbol,
                        _FEEDS.c.timeframe == timeframe,
                        _FEEDS.c.last_time < values["last_time"],
                    )
                    .values(**values)
                )
                if updated.rowcount == 0:
                    exists = conn.execute(
                        sa.select(_FEEDS.c.last_time).where(
                            _FEEDS.c.symbol == symbol, _FEEDS.c.timeframe == timeframe
                        )
                    ).first()
                    if exists is None:
                        conn.execute(
                            sa.insert(_FEEDS).values(symbol=symbol, timeframe=timeframe, **values)
                        )
