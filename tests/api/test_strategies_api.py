"""The strategy REST API through the real app: Flask test client, real Services (embedded
Redis, SQLite), a temporary copy of ``lua-strategies/``."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app import create_app
from engine.platform.redis_server import EmbeddedRedis
from engine.platform.services import build_services
from engine.platform.settings import Settings
from engine.storage.db import make_engine
from engine.storage.runner_store import RunnerRecord, RunnerStore
from engine.strategy.store import MAX_CODE_BYTES

ROOT = Path(__file__).resolve().parents[2]
EMPTY = (ROOT / "lua-strategies" / "templates" / "empty.lua").read_text("utf-8")
BROKEN = EMPTY.replace("  return nil\nend", "  return nil\n", 1)  # a missing `end`


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Path, Any]]:
    """One app for the module (Dash pages register once) over a copied strategy folder."""
    base = tmp_path_factory.mktemp("strategies-api")
    strategy_dir = base / "lua-strategies"
    shutil.copytree(ROOT / "lua-strategies", strategy_dir, ignore=shutil.ignore_patterns("user"))
    server = EmbeddedRedis(base / "redis")
    url = server.start()
    settings = Settings(
        data_dir=base,
        redis_url=url,
        database_url=f"sqlite:///{base}/t.db",
        strategy_dir=strategy_dir,
    )
    services = build_services(settings, url, make_engine(settings))
    app = create_app(services)
    try:
        yield app.server.test_client(), strategy_dir, services.db
    finally:
        server.stop()


@pytest.fixture
def client(env: tuple[Any, Path, Any]) -> Iterator[Any]:
    """The test client; user strategies are removed after each test."""
    test_client, strategy_dir, _db = env
    yield test_client
    shutil.rmtree(strategy_dir / "user", ignore_errors=True)


@pytest.fixture
def user_dir(env: tuple[Any, Path, Any]) -> Path:
    return env[1] / "user"


def data(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    payload = response.get_json()
    assert payload["status"] == "ok"
    return payload["data"]


def problem(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    payload = response.get_json()
    assert payload["status"] == "error"
    assert payload["error"]["code"] == code
    message: str = payload["error"]["message"]
    assert message
    return message


# -- list / get --------------------------------------------------------------------------------


def test_list_has_the_examples_with_metadata(client: Any) -> None:
    rows = data(client.get("/api/strategies"))
    names = [r["name"] for r in rows]
    assert names == [
        "bollinger_bounce",
        "ema_crossover",
        "macd_cross",
        "range_breakout",
        "rsi_mean_reversion",
    ]
    ema = rows[1]
    assert ema["path"] == "examples/ema_crossover.lua"
    assert ema["kind"] == "example" and ema["read_only"] is True
    assert ema["is_valid"] is True
    assert ema["indicators_used"] == ["ema"]
    assert ema["context_fields"] == ["prev_fast", "prev_slow"]
    assert [p["name"] for p in ema["params"]] == ["fast", "slow", "stop_pct"]
    assert ema["size"] > 0 and ema["modified"].endswith("Z")
    assert ema["description"].startswith("Long when the fast EMA")


def test_list_filters_by_query_and_kind(client: Any) -> None:
    data(client.post("/api/strategies", json={"name": "mine", "template": "empty"}), 201)
    assert [r["name"] for r in data(client.get("/api/strategies?q=RSI"))] == ["rsi_mean_reversion"]
    assert [r["name"] for r in data(client.get("/api/strategies?kind=user"))] == ["mine"]
    problem(client.get("/api/strategies?kind=nope"), 400, "validation")


def test_get_returns_code_metadata_and_diagnostics(client: Any) -> None:
    got = data(client.get("/api/strategies/macd_cross"))
    assert got["code"].startswith("-- @name MACD Cross")
    assert got["metadata"]["name"] == "MACD Cross"
    assert got["diagnostics"] == []


def test_get_unknown_is_404(client: Any) -> None:
    message = problem(client.get("/api/strategies/nope"), 404, "not_found")
    assert "nope" in message


@pytest.mark.parametrize("name", ["..", "%2e%2e", "a.b", "1abc", "x" * 65, "bad%20name"])
def test_get_bad_name_is_400(client: Any, name: str) -> None:
    assert "not a valid strategy name" in problem(
        client.get(f"/api/strategies/{name}"), 400, "validation"
    )


def test_templates(client: Any) -> None:
    titles = [t["title"] for t in data(client.get("/api/strategy-templates"))]
    assert titles[0] == "Empty"
    for title in ("EMA Crossover", "RSI Mean Reversion", "Range Breakout"):
        assert title in titles
    assert "Bollinger Band Bounce" in titles and "MACD Cross" in titles


# -- create ------------------------------------------------------------------------------------


def test_create_from_template_sets_the_name(client: Any, user_dir: Path) -> None:
    body = {"name": "my_ema", "template": "ema_crossover"}
    made = data(client.post("/api/strategies", json=body), 201)
    assert made["path"] == "user/my_ema.lua" and made["kind"] == "user"
    assert made["metadata"]["name"] == "my_ema"
    assert made["is_valid"] is True
    text = (user_dir / "my_ema.lua").read_text("utf-8")
    assert "-- @name my_ema\n" in text and "indicators.ema(params.fast)" in text
    listed = [r["name"] for r in data(client.get("/api/strategies"))]
    assert listed[-1] == "my_ema"


def test_create_from_code_keeps_it_byte_for_byte(client: Any, user_dir: Path) -> None:
    code = EMPTY.replace("\n", "\r\n")
    data(client.post("/api/strategies", json={"name": "crlf", "code": code}), 201)
    assert (user_dir / "crlf.lua").read_bytes() == code.encode("utf-8")


def test_create_without_template_uses_empty(client: Any) -> None:
    made = data(client.post("/api/strategies", json={"name": "blank"}), 201)
    assert "function detect_opportunity" in made["code"]


def test_create_invalid_code_is_saved_and_reported(client: Any) -> None:
    made = data(client.post("/api/strategies", json={"name": "broken", "code": BROKEN}), 201)
    assert made["is_valid"] is False and made["errors"] >= 1
    assert any(d["severity"] == "error" for d in made["diagnostics"])
    row = next(r for r in data(client.get("/api/strategies")) if r["name"] == "broken")
    assert row["is_valid"] is False


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"name": "../x", "code": EMPTY}, "body.name '../x' is not a valid strategy name"),
        ({"name": "", "code": EMPTY}, "body.name '' is not a valid strategy name"),
        ({"code": EMPTY}, "body.name is required"),
        ({"name": "x" * 65, "code": EMPTY}, "is not a valid strategy name"),
        ({"name": "sub/dir", "code": EMPTY}, "is not a valid strategy name"),
        ({"name": 5, "code": EMPTY}, "body.name should be a valid string (got 5)"),
        ({"name": "ok", "code": 12}, "body.code should be a valid string (got 12)"),
        ({"name": "ok", "code": EMPTY, "template": "empty"}, "not both"),
        ({"name": "ok", "template": 3}, "template"),
    ],
)
def test_create_rejects_bad_input(
    client: Any, user_dir: Path, body: dict[str, Any], fragment: str
) -> None:
    assert fragment in problem(client.post("/api/strategies", json=body), 400, "validation")
    assert not list(user_dir.glob("*.lua"))  # nothing written (glob of a missing dir is empty)


def test_create_rejects_non_object_and_bad_json(client: Any) -> None:
    problem(client.post("/api/strategies", json=["x"]), 400, "validation")
    response = client.post(
        "/api/strategies", data="{nope", headers={"Content-Type": "application/json"}
    )
    problem(response, 400, "validation")


def test_create_unknown_template_is_404_listing_templates(client: Any) -> None:
    message = problem(
        client.post("/api/strategies", json={"name": "x", "template": "nope"}), 404, "not_found"
    )
    assert "ema_crossover" in message


def test_create_taken_name_is_409(client: Any) -> None:
    data(client.post("/api/strategies", json={"name": "dup", "code": EMPTY}), 201)
    assert "already exists" in problem(
        client.post("/api/strategies", json={"name": "dup", "code": EMPTY}), 409, "conflict"
    )
    assert "already exists" in problem(
        client.post("/api/strategies", json={"name": "DUP", "code": EMPTY}), 409, "conflict"
    )


@pytest.mark.parametrize("name", ["ema_crossover", "EMA_Crossover"])
def test_create_cannot_shadow_an_example(client: Any, name: str) -> None:
    message = problem(
        client.post("/api/strategies", json={"name": name, "code": EMPTY}), 409, "conflict"
    )
    assert "example" in message


def test_huge_code_is_413(client: Any, user_dir: Path) -> None:
    huge = EMPTY + "-- " + "x" * MAX_CODE_BYTES + "\n"
    message = problem(
        client.post("/api/strategies", json={"name": "huge", "code": huge}), 413, "too_large"
    )
    assert "256 KiB" in message
    assert not (user_dir / "huge.lua").exists()
    data(client.post("/api/strategies", json={"name": "small", "code": EMPTY}), 201)
    problem(client.put("/api/strategies/small", json={"code": huge}), 413, "too_large")
    problem(client.post("/api/strategies/validate", json={"code": huge}), 413, "too_large")
    assert (user_dir / "small.lua").read_text("utf-8") == EMPTY


def test_body_over_the_server_limit_is_refused(client: Any) -> None:
    response = client.post(
        "/api/strategies",
        data=json.dumps({"name": "x", "code": "-" * (600 * 1024)}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413


# -- update / delete ---------------------------------------------------------------------------


def test_update_saves_and_reports(client: Any, user_dir: Path) -> None:
    data(client.post("/api/strategies", json={"name": "edit_me", "template": "empty"}), 201)
    saved = data(client.put("/api/strategies/edit_me", json={"code": BROKEN}))
    assert saved["is_valid"] is False and saved["code"] == BROKEN
    assert (user_dir / "edit_me.lua").read_text("utf-8") == BROKEN
    fixed = data(client.put("/api/strategies/edit_me", json={"code": EMPTY}))
    assert fixed["is_valid"] is True
    assert not [p.name for p in user_dir.iterdir() if p.name.endswith(".tmp")]


def test_update_errors(client: Any) -> None:
    problem(client.put("/api/strategies/nope", json={"code": EMPTY}), 404, "not_found")
    problem(client.put("/api/strategies/..", json={"code": EMPTY}), 400, "validation")
    data(client.post("/api/strategies", json={"name": "u", "code": EMPTY}), 201)
    problem(client.put("/api/strategies/u", json={}), 400, "validation")
    problem(client.put("/api/strategies/u", json={"code": None}), 400, "validation")


def test_examples_are_read_only(client: Any, env: tuple[Any, Path, Any]) -> None:
    path = env[1] / "examples" / "ema_crossover.lua"
    before = path.read_bytes()
    message = problem(
        client.put("/api/strategies/ema_crossover", json={"code": EMPTY}), 409, "read_only"
    )
    assert "duplicate" in message
    problem(client.delete("/api/strategies/ema_crossover"), 409, "read_only")
    assert path.read_bytes() == before


def test_delete(client: Any, user_dir: Path) -> None:
    data(client.post("/api/strategies", json={"name": "gone", "code": EMPTY}), 201)
    assert data(client.delete("/api/strategies/gone")) == {"deleted": "gone"}
    assert not (user_dir / "gone.lua").exists()
    problem(client.delete("/api/strategies/gone"), 404, "not_found")
    problem(client.get("/api/strategies/gone"), 404, "not_found")


def test_deleting_a_strategy_in_use_is_refused_naming_the_runners(
    env: tuple[Any, Path, Any], client: Any, user_dir: Path
) -> None:
    data(client.post("/api/strategies", json={"name": "used", "code": EMPTY}), 201)
    store = RunnerStore(env[2])
    for rid in ("r-b", "r-a"):
        store.add(
            RunnerRecord(
                runner_id=rid,
                symbol="BTCUSDT",
                timeframe="1m",
                strategy_path="user/used.lua",
                params={},
                window_size=100,
                desired_status="running",
            )
        )
    message = problem(client.delete("/api/strategies/used"), 409, "conflict")
    assert "r-a, r-b" in message
    assert (user_dir / "used.lua").exists()
    store.delete("r-a")
    store.delete("r-b")
    assert data(client.delete("/api/strategies/used")) == {"deleted": "used"}


# -- validate ----------------------------------------------------------------------------------


def test_validate_code(client: Any) -> None:
    report = data(client.post("/api/strategies/validate", json={"code": BROKEN}))
    assert report["valid"] is False and report["counts"]["error"] >= 1
    first = report["diagnostics"][0]
    assert set(first) == {"severity", "line", "column", "message"}
    assert first["message"].startswith("syntax error")
    clean = data(client.post("/api/strategies/validate", json={"code": EMPTY}))
    assert clean["valid"] is True and clean["diagnostics"] == []
    assert clean["elapsed_ms"] < 1000


def test_validate_code_reports_the_right_line(client: Any) -> None:
    typo = "  local ema = indicators.emma(params.period)"
    code = EMPTY.replace("  local ema = indicators.ema(params.period)", typo)
    line = code.split("\n").index(typo) + 1
    report = data(client.post("/api/strategies/validate", json={"code": code}))
    errors = [d for d in report["diagnostics"] if d["severity"] == "error"]
    assert errors and errors[0]["line"] == line and "emma" in errors[0]["message"]


def test_validate_errors(client: Any) -> None:
    problem(client.post("/api/strategies/validate", json={}), 400, "validation")
    problem(client.post("/api/strategies/validate", json={"code": []}), 400, "validation")
    problem(client.post("/api/strategies/validate"), 400, "validation")


def test_validate_saved_and_given_code(client: Any) -> None:
    saved = data(client.post("/api/strategies/ema_crossover/validate"))
    assert saved["name"] == "ema_crossover" and saved["valid"] is True
    given = data(client.post("/api/strategies/ema_crossover/validate", json={"code": BROKEN}))
    assert given["valid"] is False
    problem(client.post("/api/strategies/nope/validate"), 404, "not_found")
    problem(client.post("/api/strategies/nope/validate", json={"code": EMPTY}), 404, "not_found")


# -- concurrency -------------------------------------------------------------------------------


def test_concurrent_saves_never_interleave(client: Any, user_dir: Path) -> None:
    data(client.post("/api/strategies", json={"name": "race", "code": EMPTY}), 201)
    # distinct large bodies: an interleaved write would mix their filler characters
    bodies = [EMPTY + f"-- {chr(65 + i)}" + chr(65 + i) * 60_000 + "\n" for i in range(12)]
    statuses: list[int] = []
    lock = threading.Lock()
    app = client.application

    def save(code: str) -> None:
        local = app.test_client()
        for _ in range(3):
            status = local.put("/api/strategies/race", json={"code": code}).status_code
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=save, args=(b,)) for b in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 36
    assert (user_dir / "race.lua").read_text("utf-8") in bodies
    assert sorted(p.name for p in user_dir.iterdir()) == [".lock", "race.lua"]


def test_concurrent_creates_of_one_name_give_one_winner(client: Any, user_dir: Path) -> None:
    app = client.application
    results: list[int] = []
    lock = threading.Lock()

    def create(i: int) -> None:
        body = {"name": "winner", "code": EMPTY + f"-- {i}\n"}
        status = app.test_client().post("/api/strategies", json=body).status_code
        with lock:
            results.append(status)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201] + [409] * 9
    assert [p.name for p in user_dir.glob("*.lua")] == ["winner.lua"]
