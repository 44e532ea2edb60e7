"""The ``candles`` table: bulk idempotent inserts, range reads into numpy, coverage.

SQL only; the domain rules (which source, resampling, gaps, the simulated market) live in
``engine.data.history``. Times are integer ms (bar open time, UTC), prices float64.

Speed: inserts go through the driver's ``executemany`` with ``INSERT ... ON CONFLICT DO
NOTHING`` in one transaction (so a re-import changes nothing and a failed import leaves
nothing); reads go through a raw cursor straight into a numpy record array.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine

from engine.data.bars import BarSeries

_FIELDS = ("time", "open", "high", "low", "close", "volume")
_ROW = np.dtype([("time", np.int64)] + [(n, np.float64) for n in _FIELDS[1:]])
_COLUMNS = ", ".join(_FIELDS)


@dataclass(frozen=True)
class SeriesCoverage:
    """What is stored for one (source, symbol, timeframe): first/last open time, bar count."""

    source: str
    symbol: str
    timeframe: str
    first_ms: int
    last_ms: int
    bars: int


class CandleStore:
    """Reads and writes candles on the given SQLAlchemy engine (SQLite or PostgreSQL).

    A series (source, symbol, timeframe) gets a row in ``candle_series`` on its first insert;
    its bars are keyed by (series_id, time), which keeps rows small and range reads fast.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._p = "?" if engine.dialect.paramstyle == "qmark" else "%s"

    @contextmanager
    def _cursor(self, *, write: bool) -> Iterator[Any]:
        """A raw DBAPI cursor inside one transaction (committed on success if ``write``)."""
        with self.engine.connect() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            cursor = raw.cursor()
            try:
                yield cursor
                if write:
                    raw.commit()
            except BaseException:
                raw.rollback()
                raise
            finally:
                cursor.close()
                if not write:
                    raw.rollback()  # end the read transaction (SQLite WAL snapshot)

    def _series_id(self, cursor: Any, source: str, symbol: str, timeframe: str) -> int | None:
        p = self._p
        cursor.execute(
            f"SELECT id FROM candle_series WHERE source = {p} AND symbol = {p} AND timeframe = {p}",
            (source, symbol, timeframe),
        )
        row = cursor.fetchone()
        return None if row is None else int(row[0])

    def _count(self, cursor: Any, series_id: int, first: int, last: int) -> int:
        p = self._p
        cursor.execute(
            f"SELECT COUNT(*) FROM candles WHERE series_id = {p} AND time BETWEEN {p} AND {p}",
            (series_id, first, last),
        )
        return int(cursor.fetchone()[0])

    def insert(self, source: str, series: BarSeries) -> int:
        """Store the bars of ``series`` under ``source``; bars already stored (same source,
        symbol, timeframe and time) are kept as they are. Returns how many bars were new.

        One transaction: on any error nothing of the series is stored.
        """
        n = len(series)
        if n == 0:
            return 0
        p = self._p
        first, last = int(series.timestamp[0]), int(series.timestamp[-1])
        with self._cursor(write=True) as cursor:
            key = (source, series.symbol, series.timeframe)
            series_id = self._series_id(cursor, *key)
            if series_id is None:
                cursor.execute(
                    f"INSERT INTO candle_series (source, symbol, timeframe) VALUES ({p}, {p}, {p})",
                    key,
                )
                series_id = self._series_id(cursor, *key)
                assert series_id is not None
            rows = list(
                zip(
                    repeat(series_id, n),
                    series.timestamp.tolist(),
                    series.open.tolist(),
                    series.high.tolist(),
                    series.low.tolist(),
                    series.close.tolist(),
                    series.volume.tolist(),
                    strict=True,
                )
            )
            before = self._count(cursor, series_id, first, last)
            cursor.executemany(
                f"INSERT INTO candles (series_id, {_COLUMNS}) VALUES ({', '.join([p] * 7)}) "
                "ON CONFLICT DO NOTHING",
                rows,
            )
            return self._count(cursor, series_id, first, last) - before

    def _select(
        self,
        what: str,
        source: str,
        symbol: str,
        timeframe: str,
        start_ms: int | None,
        end_ms: int | None,
    ) -> tuple[str, list[Any]]:
        p = self._p
        sql = (
            f"SELECT {what} FROM candles JOIN candle_series s ON s.id = candles.series_id "
            f"WHERE s.source = {p} AND s.symbol = {p} AND s.timeframe = {p}"
        )
        args: list[Any] = [source, symbol, timeframe]
        if start_ms is not None:
            sql += f" AND time >= {p}"
            args.append(start_ms)
        if end_ms is not None:
            sql += f" AND time <= {p}"
            args.append(end_ms)
        return sql, args

    def read(
        self,
        source: str,
        symbol: str,
        timeframe: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int | None = None,
        latest: bool = False,
    ) -> BarSeries:
        """Bars with ``start_ms <= time <= end_ms`` in time order (bid = ask = close).

        ``limit`` caps the count: the first ``limit`` bars, or with ``latest`` the last ones.
        """
        sql, args = self._select(_COLUMNS, source, symbol, timeframe, start_ms, end_ms)
        sql += " ORDER BY time DESC" if latest else " ORDER BY time"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        with self._cursor(write=False) as cursor:
            cursor.execute(sql, args)
            rows = np.fromiter(cursor, dtype=_ROW)
        if latest:
            rows = rows[::-1]
        return BarSeries.from_arrays(
            symbol=symbol,
            timeframe=timeframe,
            timestamp=rows["time"],
            **{name: rows[name] for name in _FIELDS[1:]},
        )

    def times(
        self,
        source: str,
        symbol: str,
        timeframe: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> np.ndarray:
        """Open times (int64 ms, ascending) of the stored bars in the range."""
        sql, args = self._select("time", source, symbol, timeframe, start_ms, end_ms)
        with self._cursor(write=False) as cursor:
            cursor.execute(sql + " ORDER BY time", args)
            return np.fromiter((row[0] for row in cursor), dtype=np.int64)

    def coverage(
        self, *, source: str | None = None, symbol: str | None = None
    ) -> list[SeriesCoverage]:
        """One entry per stored series (optionally of one source and/or symbol), sorted."""
        p = self._p
        where, args = [], []
        if source is not None:
            where.append(f"s.source = {p}")
            args.append(source)
        if symbol is not None:
            where.append(f"s.symbol = {p}")
            args.append(symbol)
        sql = (
            "SELECT s.source, s.symbol, s.timeframe, MIN(c.time), MAX(c.time), COUNT(*) "
            "FROM candle_series s JOIN candles c ON c.series_id = s.id"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + " GROUP BY s.id, s.source, s.symbol, s.timeframe"
            " ORDER BY s.symbol, s.timeframe, s.source"
        )
        with self._cursor(write=False) as cursor:
            cursor.execute(sql, args)
            return [
                SeriesCoverage(str(s), str(sym), str(tf), int(a), int(b), int(c))
                for s, sym, tf, a, b, c in cursor.fetchall()
            ]

    def delete(
        self,
        source: str,
        symbol: str,
        timeframe: str,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> int:
        """Remove a stored series' bars (all, or those in the range); returns how many."""
        p = self._p
        with self._cursor(write=True) as cursor:
            series_id = self._series_id(cursor, source, symbol, timeframe)
            if series_id is None:
                return 0
            sql, args = f"DELETE FROM candles WHERE series_id = {p}", [series_id]
            if start_ms is not None:
                sql += f" AND time >= {p}"
                args.append(start_ms)
            if end_ms is not None:
                sql += f" AND time <= {p}"
                args.append(end_ms)
            cursor.execute(sql, args)
            deleted = int(cursor.rowcount)
            cursor.execute(
                f"DELETE FROM candle_series WHERE id = {p} AND NOT EXISTS "
                f"(SELECT 1 FROM candles WHERE series_id = {p})",
                (series_id, series_id),
            )
            return deleted
