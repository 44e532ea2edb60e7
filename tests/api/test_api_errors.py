"""The exact bad requests of issue 10, through the real app (Flask test client, real Services on
a private Redis, no engine unless a test says so): every answer is the JSON envelope with the
right status, nothing leaks internals, cross-site writes are refused."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import create_app
from engine.api import ROUTES
from engine.api.core import ApiRequest, ApiResponse, Route
from engine.api.dispatch import MAX_JSON_DEPTH, Dispatcher, HttpRequest
from engine.platform.services import build_services
from engine.platform.settings import Settings
from engine.storage.db import make_engine

ROOT = Path(__file__).resolve().parents[2]


def make_client(base: Path, redis_url: str, **extra: Any) -> Any:
    strategy_dir = base / "lua-strategies"
    if not strategy_dir.exists():
        shutil.copytree(
            ROOT / "lua-strategies", strategy_dir, ignore=shutil.ignore_patterns("user")
        )
    settings = Settings(
        data_dir=base,
        redis_url=redis_url,
        database_url=f"sqlite:///{base}/t.db",
        strategy_dir=strategy_dir,
        key_prefix=f"e{abs(hash(str(base))) % 10**8}:",
        command_timeout_s=1.0,
        **extra,
    )
    db = make_engine(settings)
    return create_app(build_services(settings, redis_url, db)).server.test_client()


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Any]:
    yield make_client(tmp_path_factory.mktemp("api-errors"), redis_url)


def envelope(response: Any, status: int, code: str) -> str:
    """The error message, after checking status, JSON content type and the envelope shape."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    payload = json.loads(response.get_data(as_text=True))
    assert payload["status"] == "error" and payload["error"]["code"] == code, payload
    assert isinstance(payload["timestamp"], float | int)
    message: str = payload["error"]["message"]
    assert "Traceback" not in message and 'string "<python>"' not in message
    return message


# -- one error path ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/nonexistent",
        "/api/runners/a/b",
        "/api/strategies/..%2F..%2Fetc%2Fpasswd",
        "/api/",
        "/api",
    ],
)
def test_unknown_api_paths_are_json_404(client: Any, path: str) -> None:
    assert "/api/openapi.json" in envelope(client.get(path), 404, "not_found")
    assert "<html" not in client.get(path).get_data(as_text=True).lower()


def test_wrong_method_is_405_with_allow(client: Any) -> None:
    response = client.patch("/api/runners", json={})
    envelope(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].split(", ")) == {"GET", "POST"}
    options = client.options("/api/runners")
    envelope(options, 405, "method_not_allowed")


def test_json_nested_1000_deep_is_400_not_recursion(client: Any) -> None:
    body = "[" * 1000 + "]" * 1000
    assert len(body) < 4096
    response = client.post("/api/runners", data=body, content_type="application/json")
    assert f"more than {MAX_JSON_DEPTH} levels" in envelope(response, 400, "validation")
    deep_ok = "[" * 20 + "]" * 20  # within the limit: parsed, then refused as not an object
    response = client.post("/api/runners", data=deep_ok, content_type="application/json")
    assert "must be a JSON object" in envelope(response, 400, "validation")


def test_body_over_limit_is_413(client: Any) -> None:
    body = json.dumps({"name": "big", "code": "x" * (600 * 1024)})
    response = client.post("/api/strategies", data=body, content_type="application/json")
    assert "KiB" in envelope(response, 413, "too_large")


def test_huge_integer_says_digits_not_python_internals(client: Any) -> None:
    body = '{"runner_id": "a", "symbol": "BTCUSDT", "window_size": ' + "9" * 5000 + "}"
    response = client.post("/api/runners", data=body, content_type="application/json")
    message = envelope(response, 400, "validation")
    assert "more than 100 digits" in message and "set_int_max_str_digits" not in message


def test_nan_is_refused(client: Any) -> None:
    body = '{"runner_id": "a", "symbol": "BTCUSDT", "strategy_name": "x", "params": {"f": NaN}}'
    response = client.post("/api/runners", data=body, content_type="application/json")
    assert "NaN is not a JSON number" in envelope(response, 400, "validation")


@pytest.mark.parametrize("after", ["1-", "٣-٣", "1" * 20, "1-" + "2" * 20, "-1", "a-0"])
def test_bad_event_ids_are_400(client: Any, after: str) -> None:
    message = envelope(client.get("/api/events", query_string={"after": after}), 400, "validation")
    assert "stream id" in message


def test_good_event_id_answers(client: Any) -> None:
    response = client.get("/api/events", query_string={"after": "9" * 19 + "-" + "9" * 19})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["data"]["events"] == []


@pytest.mark.parametrize("body", ["-24981802985", "[false, null]", '"x"', "3.5"])
def test_action_body_must_be_an_object(client: Any, body: str) -> None:
    response = client.post("/api/runners/0/start", data=body, content_type="application/json")
    assert "must be a JSON object" in envelope(response, 400, "validation")


def test_action_body_with_fields_is_400(client: Any) -> None:
    response = client.post("/api/runners/0/start", json={"force": True})
    assert "body.force is not a known field" in envelope(response, 400, "validation")


VALID = {"runner_id": "r1", "symbol": "BTCUSDT", "strategy_name": "ema_crossover"}


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"timeframe": None}, "body.timeframe should be"),
        ({"params": {"fast": "30"}}, "body.params.fast should be a number (got '30')"),
        ({"runner_id": "abc\n"}, "body.runner_id 'abc\\n' is not a valid runner id"),
        ({"runner_id": 7}, "body.runner_id should be a valid string (got 7)"),
        ({"window_size": "30"}, "body.window_size should be a valid integer"),
        ({"window_size": True}, "body.window_size should be a valid integer"),
        ({"window_size": 1}, "body.window_size should be greater than or equal to 2"),
        ({"symbol": "NOPE"}, "body.symbol should be 'BTCUSDT'"),
        ({"strategy_name": None}, "body.strategy_name should be a valid string"),
        ({"extra": 1}, "body.extra is not a known field"),
    ],
)
def test_create_runner_is_strict(client: Any, change: dict[str, Any], fragment: str) -> None:
    response = client.post("/api/runners", json={**VALID, **change})
    assert fragment in envelope(response, 400, "validation")


def test_create_runner_required_fields(client: Any) -> None:
    message = envelope(client.post("/api/runners", json={}), 400, "validation")
    assert "body.runner_id is required" in message
    details = client.post("/api/runners", json={}).get_json()["error"]["details"]
    assert {d["field"] for d in details} == {"body.runner_id", "body.symbol"}
    no_strategy = {"runner_id": "r1", "symbol": "BTCUSDT"}
    message = envelope(client.post("/api/runners", json=no_strategy), 400, "validation")
    assert "give strategy_name" in message


def test_path_runner_id_must_fully_match(client: Any) -> None:
    assert "/api/openapi.json" in envelope(client.get("/api/runners/abc%0A"), 404, "not_found")
    dispatcher = Dispatcher(ROUTES, client.application.extensions["tradesim"])
    answer = dispatcher.dispatch(HttpRequest(method="GET", path="/api/runners/abc\n"))
    assert answer.status == 400
    assert "path.runner_id 'abc\\n' is not a valid runner id" in answer.payload["error"]["message"]


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"count": "30.0"}, "query.count should be a whole number like 30 (got '30.0')"),
        ({"count": "٣"}, "query.count should be a whole number"),
        ({"count": "0"}, "query.count should be greater than or equal to 1"),
        ({"count": "abc"}, "query.count should be a whole number"),
        ({"bogus": "1"}, "query.bogus is not a known field"),
    ],
)
def test_query_is_checked(client: Any, query: dict[str, str], fragment: str) -> None:
    response = client.get("/api/runners/r1/history", query_string=query)
    assert fragment in envelope(response, 400, "validation")


def test_repeated_query_parameter_is_400(client: Any) -> None:
    response = client.get("/api/events?count=1&count=2")
    assert "more than once" in envelope(response, 400, "validation")


def test_engine_offline_is_503_naming_what_to_start(client: Any) -> None:
    message = envelope(client.post("/api/runners", json=VALID), 503, "engine_unavailable")
    assert "tradesim up" in message
    assert "tradesim up" in envelope(client.get("/api/engine/health"), 503, "engine_unavailable")


DOWN_CALLS = [
    ("get", "/api/runners", None),
    ("post", "/api/runners", VALID),
    ("post", "/api/runners/r1/pause", None),
    ("post", "/api/runners/bulk", {"action": "stop"}),
    ("delete", "/api/runners/r1", None),
    ("get", "/api/engine/health", None),
    ("get", "/api/engine/summary", None),
    ("get", "/api/runners/r1", None),
    ("get", "/api/runners/r1/history", None),
    ("get", "/api/events", None),
]


@pytest.fixture(scope="module")
def down_client(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """An app whose Redis URL (with a password) points at a port nothing listens on."""
    url = "redis://:hunter2-secret@127.0.0.1:9/0"
    return make_client(tmp_path_factory.mktemp("api-down"), url)


@pytest.mark.parametrize(("method", "path", "body"), DOWN_CALLS)
def test_redis_down_is_503_json(down_client: Any, method: str, path: str, body: Any) -> None:
    response = getattr(down_client, method)(path, json=body)
    message = envelope(response, 503, "redis_unavailable")
    assert "tradesim up" in message and "127.0.0.1:9" in message
    assert "hunter2-secret" not in message and ":***@" in message


def test_health_reports_redis_down_without_failing(down_client: Any) -> None:
    response = down_client.get("/health")
    assert response.status_code == 200
    assert response.get_json()["data"] == {
        "web": "ok",
        "redis": False,
        "engine": False,
        "restarts": {},  # not started by `tradesim up`
    }


def test_unexpected_error_is_500_envelope_and_logged(
    tmp_path: Path, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(services: Any, request: ApiRequest) -> ApiResponse:
        raise KeyError("internal detail")

    client = make_client(tmp_path, redis_url)
    services = client.application.extensions["tradesim"]
    dispatcher = Dispatcher([Route("/api/broken", ("GET",), broken, "broken")], services)
    with caplog.at_level(logging.ERROR, logger="tradesim.api"):
        answer = dispatcher.dispatch(HttpRequest(method="GET", path="/api/broken"))
    assert answer.status == 500
    message = answer.payload["error"]["message"]
    assert "internal detail" not in message and "reference" in message
    reference = message.split("reference ")[1].split(";")[0]
    assert reference in caplog.text and "KeyError: 'internal detail'" in caplog.text


# -- CSRF and headers -------------------------------------------------------------------------


def test_cross_site_text_plain_post_creates_nothing(client: Any) -> None:
    user_dir = Path(client.application.extensions["tradesim"].settings.strategy_dir) / "user"
    body = json.dumps({"name": "evil", "template": "empty"})
    headers = {"Origin": "http://evil.example"}
    response = client.post("/api/strategies", data=body, content_type="text/plain", headers=headers)
    assert "evil.example" in envelope(response, 403, "cross_origin")
    response = client.post(
        "/api/runners", data=json.dumps(VALID), content_type="text/plain", headers=headers
    )
    envelope(response, 403, "cross_origin")
    response = client.post("/api/strategies", data=body, content_type="text/plain")
    assert "application/json" in envelope(response, 415, "unsupported_media_type")
    form = client.post("/api/strategies", data={"name": "evil"})
    envelope(form, 415, "unsupported_media_type")
    assert not (user_dir / "evil.lua").exists()
    bare = client.post("/api/runners/r1/stop", headers=headers)  # no body, foreign Origin
    envelope(bare, 403, "cross_origin")


def test_same_origin_json_write_is_accepted(client: Any) -> None:
    response = client.post(
        "/api/strategies",
        json={"name": "mine", "template": "empty"},
        headers={"Origin": "http://localhost"},
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    assert client.delete("/api/strategies/mine").status_code == 200


@pytest.mark.parametrize("path", ["/", "/api/runners", "/api/nonexistent", "/health"])
def test_security_headers(client: Any, path: str) -> None:
    headers = client.get(path).headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Referrer-Policy"] == "same-origin"


def test_whole_json_numbers_are_integers_as_json_schema_counts_them() -> None:
    from engine.api.dispatch import parse_json

    value = parse_json(b'{"a": 3600.0, "b": 0.5, "c": 1e3, "d": -2.0, "e": 1e300}')
    assert value == {"a": 3600, "b": 0.5, "c": 1000, "d": -2, "e": 1e300}
    assert [type(value[k]) for k in "abcde"] == [int, float, int, int, float]
