"""A real ``ccxt.binanceus`` whose HTTP layer serves the recorded responses in
tests/fixtures/ccxt (see its README): ccxt builds the requests and parses the answers."""

from __future__ import annotations

import bisect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import ccxt

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ccxt"
MINUTE = 60_000


def recorded_rows() -> list[list[float]]:
    """The recorded ALT/BTC 1m rows of every page, in time order."""
    pages = json.loads((FIXTURES / "binanceus_ALTBTC_1m_pages.json").read_text())
    return [row for page in pages for row in page]


class RecordedBinanceUS:
    """Builds the exchange and records every request it answers.

    ``clock()`` (seconds) is "now" for the exchange: rows after the candle forming at that
    moment are not served. ``fail`` (a callable taking the URL) may raise a ccxt error to
    simulate an outage.
    """

    def __init__(self, clock: Callable[[], float], rows: list[list[float]] | None = None) -> None:
        self.rows = recorded_rows() if rows is None else rows
        self.times = [int(r[0]) for r in self.rows]
        self.clock = clock
        self.requests: list[dict[str, Any]] = []
        self.fail: Callable[[str], None] | None = None
        self.exchange = ccxt.binanceus({"enableRateLimit": True})
        self.exchange.rateLimit = 5  # ms between requests: ccxt's throttle still runs
        self.exchange.fetch = self._fetch  # the HTTP layer only

    def _fetch(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        parsed = urlparse(url)
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        self.requests.append({"path": parsed.path, **query})
        if self.fail is not None:
            self.fail(url)
        if parsed.path.endswith("/exchangeInfo"):
            return json.loads((FIXTURES / "binanceus_exchangeInfo.json").read_text())
        if parsed.path.endswith("/klines"):
            return self._klines(query)
        raise ccxt.BadRequest(f"binanceus GET {url} 404 Not Found (not recorded)")

    def _klines(self, query: dict[str, str]) -> list[list[Any]]:
        if query.get("symbol") != "ALTBTC" or query.get("interval") != "1m":
            raise ccxt.BadSymbol('binanceus {"code":-1121,"msg":"Invalid symbol."}')
        limit = min(int(query.get("limit", 500)), 1000)
        start = bisect.bisect_left(self.times, int(query.get("startTime", 0)))
        now_ms = int(self.clock() * 1000)
        stop = bisect.bisect_right(self.times, now_ms)  # includes the candle forming now
        if "endTime" in query:
            stop = min(stop, bisect.bisect_right(self.times, int(query["endTime"])))
        return [
            [
                int(t),
                repr(o),
                repr(h),
                repr(lo),
                repr(c),
                repr(v),
                int(t) + MINUTE - 1,
                "0",
                0,
                "0",
                "0",
                "0",
            ]
            for t, o, h, lo, c, v in self.rows[start:stop][:limit]
        ]
