"""Exposure, token auth, the login page and secret masking (DESIGN.md "Web security")."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine.api.security import SESSION_COOKIE, check_exposure, session_value
from engine.errors import ConfigError
from engine.platform.secrets import SecretFilter, mask_text, mask_url
from tests.api.test_api_errors import envelope, make_client

TOKEN = "s3cret-token-for-tests-0123456789"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Any:
    return make_client(tmp_path_factory.mktemp("api-token"), redis_url, api_token=TOKEN)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "::", "example.org"])
def test_beyond_loopback_needs_a_token(host: str) -> None:
    with pytest.raises(ConfigError, match="TRADESIM_API_TOKEN"):
        check_exposure(host, None)
    check_exposure(host, TOKEN)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1", "127.0.0.2"])
def test_loopback_needs_none(host: str) -> None:
    check_exposure(host, None)


def test_short_token_refused() -> None:
    with pytest.raises(ConfigError, match="at least 16"):
        check_exposure("0.0.0.0", "short")


@pytest.mark.parametrize("command", [["up", "--host", "0.0.0.0"], ["web"]])
def test_cli_refuses_to_bind_without_token(tmp_path: Path, command: list[str]) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "TRADESIM_DATA_DIR": str(tmp_path),
        "TRADESIM_HOST": "0.0.0.0",
        "REDIS_URL": "redis://:pw-not-shown@127.0.0.1:9/0",
    }
    done = subprocess.run(
        [sys.executable, "-m", "engine.cli", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "TRADESIM_API_TOKEN" in done.stderr and "0.0.0.0" in done.stderr
    assert "pw-not-shown" not in done.stderr + done.stdout
    assert not list(tmp_path.glob("logs/*.log"))  # nothing was started


def test_api_needs_the_bearer_token(client: Any) -> None:
    response = client.get("/api/runners")
    assert "Authorization: Bearer" in envelope(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    bad = client.get("/api/runners", headers={"Authorization": "Bearer wrong"})
    envelope(bad, 401, "unauthorized")
    good = client.get("/api/symbols", headers={"Authorization": f"Bearer {TOKEN}"})
    assert good.status_code == 200
    assert client.get("/health").status_code == 200  # liveness stays public


def test_openapi_declares_bearer_and_401(client: Any) -> None:
    spec = client.get("/api/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"}).get_json()
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "401" in spec["paths"]["/api/runners"]["get"]["responses"]


def test_pages_redirect_to_login_then_work_with_the_cookie(client: Any) -> None:
    client.delete_cookie(SESSION_COOKIE)
    page = client.get("/runners")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login?next=")
    assert client.get("/_dash-layout").status_code == 401
    login = client.get("/login?next=/runners")
    assert login.status_code == 200 and 'type="password"' in login.get_data(as_text=True)
    wrong = client.post("/login?next=/runners", data={"token": "nope"})
    assert wrong.status_code == 401 and "not the token" in wrong.get_data(as_text=True)
    ok = client.post("/login?next=/runners", data={"token": TOKEN})
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/runners")
    cookie = ok.headers["Set-Cookie"]
    assert session_value(TOKEN) in cookie and TOKEN not in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/runners").status_code == 200
    assert client.get("/api/symbols").status_code == 200  # the cookie works for the API too
    client.delete_cookie(SESSION_COOKIE)


def test_login_never_redirects_off_site(client: Any) -> None:
    ok = client.post("/login?next=//evil.example/x", data={"token": TOKEN})
    assert ok.headers["Location"] in ("/", "http://localhost/")
    client.delete_cookie(SESSION_COOKIE)


def test_mask_url_and_text() -> None:
    assert mask_url("redis://:hunter2@db.local:6380/1") == "redis://:***@db.local:6380/1"
    assert mask_url("postgresql://u:pw@h/db") == "postgresql://u:***@h/db"
    assert mask_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    text = "failed redis://:hunter2@h:1/0 with token abcdefgh1234"
    assert mask_text(text, ["abcdefgh1234"]) == "failed redis://:***@h:1/0 with token ***"


def test_log_filter_masks_messages_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretFilter([TOKEN]))
    logger = logging.getLogger("tradesim.test-mask")
    logger.addHandler(handler)
    try:
        logger.error("token %s at %s", TOKEN, "redis://:pw123456@h/0")
        try:
            raise RuntimeError(f"bad {TOKEN}")
        except RuntimeError:
            logger.exception("boom")
    finally:
        logger.removeHandler(handler)
    out = stream.getvalue()
    assert TOKEN not in out and "pw123456" not in out
    assert out.count("***") >= 3 and "RuntimeError: bad ***" in out


def test_launcher_prints_masked_urls(tmp_path: Path) -> None:
    from engine.platform.launcher import startup_lines
    from engine.platform.settings import Settings

    settings = Settings(
        data_dir=tmp_path,
        redis_url="redis://:launch-pw@127.0.0.1:9/0",
        database_url="postgresql://app:db-pw@db/tradesim",
        api_token=TOKEN,
    )
    assert "launch-pw" not in repr(settings) and TOKEN not in repr(settings)
    out = "\n".join(startup_lines(settings, "http://127.0.0.1:8050", None))
    assert "redis://:***@127.0.0.1:9/0" in out and "postgresql://app:***@db/tradesim" in out
    assert "launch-pw" not in out and "db-pw" not in out and TOKEN not in out
