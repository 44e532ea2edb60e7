"""A real ``ccxt.binanceus`` with keys whose HTTP layer answers the order endpoints from
tests/fixtures/ccxt/binanceus_orders.json (see the README there): ccxt signs the requests,
parses the answers and maps error payloads to its exceptions itself."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlparse

import ccxt

from tests.data.recorded_exchange import FIXTURES

API_KEY = "test-api-key-0123456789"
SECRET = "test-secret-abcdefghijkl"
ORDERS = json.loads((FIXTURES / "binanceus_orders.json").read_text())


class RecordedOrders:
    """``answers[(method, path)]`` is a list of fixture keys served in turn; the special keys
    ``timeout`` (ccxt.RequestTimeout) and ``error_*`` (an HTTP 400 with that payload)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: dict[tuple[str, str], list[str]] = {}
        self.exchange: Any = None

    def make(self, config: dict[str, Any]) -> Any:
        """The exchange factory handed to ``ExchangeBroker.from_settings``."""
        self.exchange = ccxt.binanceus({**config, "enableRateLimit": False})
        self.exchange.fetch = self._fetch
        return self.exchange

    def _fetch(self, url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        parsed = urlparse(url)
        fields = {k: v[0] for k, v in parse_qs(body or parsed.query).items()}
        self.requests.append({"method": method, "path": parsed.path, **fields})
        if parsed.path.endswith("/exchangeInfo"):
            return json.loads((FIXTURES / "binanceus_exchangeInfo.json").read_text())
        queue = self.answers.get((method, parsed.path)) or []
        if not queue:
            raise ccxt.BadRequest(f"binanceus {method} {url} 404 Not Found (not recorded)")
        key = queue.pop(0)
        if key == "timeout":
            raise ccxt.RequestTimeout(f"binanceus {method} {url} request timeout")
        answer = json.loads(json.dumps(ORDERS[key]))
        if key.startswith("error_"):
            text = json.dumps(answer)
            self.exchange.handle_errors(400, "Bad Request", url, method, {}, text, answer, {}, body)
            raise ccxt.ExchangeError(text)
        if isinstance(answer, dict) and "newClientOrderId" in fields:
            answer["clientOrderId"] = fields["newClientOrderId"]
        return answer
