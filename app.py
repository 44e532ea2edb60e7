"""Dash app factory + REST API registration; ``python app.py`` serves the web.

The web process never runs strategies: it reads what the engine published in Redis (through
``engine.live.client.EngineClient``) and sends it commands.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import dash
from dash import Input, Output
from flask import Flask, Response, request

from components.shell import SHELL_INTERVAL, SHELL_STATUS, engine_status_badge, make_shell
from engine.api import ROUTES, ApiRequest, Route
from engine.api.core import MAX_BODY_BYTES, error, handle
from engine.errors import TradeSimError
from engine.platform.resources import shipped_dir
from engine.platform.services import Services, build_services
from engine.platform.settings import Settings

ROOT = Path(__file__).resolve().parent


def create_app(services: Services) -> dash.Dash:
    """Build the Dash app (pages, shell, assets served locally) and register the REST API."""
    app = dash.Dash(
        __name__,
        use_pages=True,
        pages_folder=str(ROOT / "pages"),
        assets_folder=str(shipped_dir("assets")),
        title="Trading Simulator",
        suppress_callback_exceptions=True,
        serve_locally=True,
        update_title=None,
    )
    app.server.extensions["tradesim"] = services
    app.server.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    register_api(app.server, services)
    app.server.register_error_handler(413, _too_large)
    # registered per app: a module-level dash.callback would go to the first app only
    app.callback(Output(SHELL_STATUS, "children"), Input(SHELL_INTERVAL, "n_intervals"))(
        _engine_status
    )
    app.layout = make_shell
    return app


def register_api(server: Flask, services: Services) -> None:
    """Map every engine.api Route onto a Flask view (JSON in, envelope out)."""
    for route in ROUTES:
        server.add_url_rule(
            route.rule,
            endpoint=f"api:{route.rule}:{'/'.join(route.methods)}",
            view_func=_view(route, services),
            methods=list(route.methods),
        )


def _view(route: Route, services: Services) -> Any:
    def view(**path: str) -> Response:
        body = None
        if request.method in ("POST", "PUT", "PATCH") and request.content_length:
            raw = request.get_data(cache=False)
            try:
                body = json.loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                return _json(error(400, "validation", f"request body is not valid JSON: {exc}"))
        api_request = ApiRequest(path=path, query=dict(request.args), body=body)
        return _json(handle(route.handler, services, api_request))

    return view


def _too_large(_exc: Exception) -> Response:
    kib = MAX_BODY_BYTES // 1024
    return _json(error(413, "too_large", f"request body is larger than {kib} KiB"))


def _json(response: Any) -> Response:
    text = json.dumps(response.payload, default=str, allow_nan=False)
    return Response(text, status=response.status, mimetype="application/json")


def _engine_status(_n: int | None) -> list[Any]:
    from pages._services import services

    try:
        heartbeat = services().engine.heartbeat()
    except Exception:  # Redis down: the badge says offline instead of erroring
        heartbeat = None
    return engine_status_badge(heartbeat)


def main(argv: list[str] | None = None) -> int:
    """Serve the web app with waitress on Settings.host:port (needs REDIS_URL)."""
    from waitress import serve

    from engine.storage.db import make_engine
    from jobs.queue import RQJobQueue

    try:
        settings = Settings.from_env()
        if not settings.redis_url:
            raise TradeSimError("REDIS_URL is not set: start everything with `tradesim up`")
        services = build_services(
            settings, settings.redis_url, make_engine(settings), jobs=RQJobQueue
        )
    except TradeSimError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app = create_app(services)
    print(f"web: http://{settings.host}:{settings.port}", flush=True)
    serve(app.server, host=settings.host, port=settings.port, threads=8, _quiet=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
