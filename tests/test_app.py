"""The app factory: every app gets all callbacks, even when several are created in one process."""

from __future__ import annotations

import sqlalchemy

from app import create_app
from engine.platform.services import build_services


def test_each_app_gets_the_shell_and_page_callbacks(settings):
    services = build_services(settings, settings.redis_url, sqlalchemy.create_engine("sqlite://"))
    first = create_app(services)
    assert first.server.test_client().get("/_dash-layout").status_code == 200
    second = create_app(services)
    client = second.server.test_client()
    assert client.get("/_dash-layout").status_code == 200
    assert set(second.callback_map) == set(first.callback_map)
    assert any("shell-engine-status" in key for key in second.callback_map)
    body = client.get("/").get_data(as_text=True)
    assert "01-bootstrap-darkly.min.css" in body and "cdn." not in body
