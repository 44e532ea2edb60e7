"""Dash app factory + REST API registration; ``python app.py`` serves the web.

The web process never runs strategies: it reads what the engine published in Redis (through
``engine.live.client.EngineClient``) and sends it commands.
"""

from __future__ import annotations

import html
import logging
import socket
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

import dash
from dash import Input, Output, no_update
from flask import Flask, Response, redirect, request
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

from components.order_views import make_kill_banner
from components.shell import (
    SHELL_BANNER,
    SHELL_INTERVAL,
    SHELL_STATUS,
    engine_status_badge,
    make_shell,
)
from engine.api import ROUTES
from engine.api.core import MAX_UPLOAD_BYTES, ApiResponse, error, json_text
from engine.api.dispatch import Dispatcher, HttpRequest
from engine.api.security import (
    SECURITY_HEADERS,
    SESSION_COOKIE,
    authorized,
    check_exposure,
    same_origin,
    session_value,
    token_matches,
)
from engine.errors import TradeSimError
from engine.platform.resources import shipped_dir
from engine.platform.secrets import install_log_masking, mask_text, url_password
from engine.platform.services import Services, build_services
from engine.platform.settings import Settings

ROOT = Path(__file__).resolve().parent
API_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
log = logging.getLogger("tradesim.web")


def _load_plotly_upfront() -> None:
    """Serve plotly.js as a page script instead of fetching it when the first graph renders:
    the fetch then overlaps the layout request (a result page is drawn ~0.2 s sooner), and
    pages are navigated client-side, so the one parse per browser tab is the whole cost."""
    for resource in dash.dcc._js_dist:  # Dash's own resource table
        if resource.get("namespace") == "plotly":
            resource["async"] = False


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
    _load_plotly_upfront()
    if services.jobs is None:
        from jobs.queue import RQJobQueue

        services = replace(services, jobs=RQJobQueue(services.redis))
    server = app.server
    server.extensions["tradesim"] = services
    server.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BYTES  # per route: Route.max_body
    dispatcher = Dispatcher(ROUTES, services)
    register_api(server, dispatcher)
    register_security(server, services.settings.api_token)
    server.register_error_handler(Exception, _error_handler(dispatcher))
    # registered per app: a module-level dash.callback would go to the first app only
    app.callback(Output(SHELL_STATUS, "children"), Input(SHELL_INTERVAL, "n_intervals"))(
        _engine_status
    )
    app.callback(Output(SHELL_BANNER, "children"), Input(SHELL_INTERVAL, "n_intervals"))(
        _kill_banner
    )
    app.layout = make_shell
    return app


def register_api(server: Flask, dispatcher: Dispatcher) -> None:
    """Send ``/health`` and everything under ``/api`` (unknown paths and methods included)
    through the dispatcher, so every answer there is the JSON envelope."""
    view = _api_view(dispatcher)
    for rule in ("/health", "/api", "/api/", "/api/<path:_rest>"):
        server.add_url_rule(
            rule,
            endpoint=f"api:{rule}",
            view_func=view,
            methods=API_METHODS,
            provide_automatic_options=False,
            strict_slashes=False,
        )


def _api_view(dispatcher: Dispatcher) -> Any:
    def view(_rest: str = "") -> Response:
        try:
            body = request.get_data(cache=False)
        except RequestEntityTooLarge:
            return _json(dispatcher.too_large())
        headers = request.headers
        http = HttpRequest(
            method=request.method,
            path=request.path,
            query=request.args.to_dict(flat=False),
            body=body,
            content_type=headers.get("Content-Type"),
            origin=headers.get("Origin"),
            authorization=headers.get("Authorization"),
            session=request.cookies.get(SESSION_COOKIE),
            host_url=request.host_url,
        )
        return _json(dispatcher.dispatch(http))

    return view


def register_security(server: Flask, token: str | None) -> None:
    """Security headers on every response; with a token, a login page and a session cookie
    guarding every page (the API checks the token itself, see engine.api.security)."""

    @server.after_request
    def add_headers(response: Response) -> Response:
        response.headers.extend(SECURITY_HEADERS)
        return response

    if not token:
        return

    @server.before_request
    def require_login() -> Any:
        path = request.path
        if path in ("/login", "/health") or path == "/api" or path.startswith("/api/"):
            return None
        cookie = request.cookies.get(SESSION_COOKIE)
        if authorized(token, request.headers.get("Authorization"), cookie):
            return None
        if request.method == "GET" and not path.startswith("/_"):
            return redirect(f"/login?next={quote(request.full_path.rstrip('?'))}")
        return _json(error(401, "unauthorized", "log in at /login first"))

    def login() -> Any:
        target = request.args.get("next", "/")
        if not target.startswith("/") or target.startswith("//"):
            target = "/"
        if request.method == "GET":
            return _login_page(target, None)
        origin = request.headers.get("Origin")
        if origin is not None and not same_origin(origin, request.host_url):
            return _login_page(target, "This form must be sent from this server's page.", 403)
        if not token_matches(token, request.form.get("token")):
            return _login_page(target, "That is not the token this server was started with.")
        response = redirect(target)
        response.set_cookie(
            SESSION_COOKIE,
            session_value(token),
            httponly=True,
            samesite="Strict",
            secure=request.is_secure,
        )
        return response

    server.add_url_rule("/login", "login", login, methods=["GET", "POST"])


def _login_page(target: str, problem: str | None, status: int = 401) -> Response:
    note = f'<p class="err">{html.escape(problem)}</p>' if problem else ""
    page = LOGIN_HTML.format(action=html.escape(f"/login?next={quote(target)}"), note=note)
    code = 200 if problem is None else status
    return Response(page, status=code, mimetype="text/html")


LOGIN_HTML = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Trading Simulator - log in</title><style>
body{{background:#222;color:#eee;font-family:system-ui,sans-serif;display:flex;
justify-content:center;align-items:center;height:100vh;margin:0}}
form{{background:#303030;padding:2rem;border-radius:8px;width:22rem}}
input{{width:100%;padding:.5rem;margin:.5rem 0 1rem;box-sizing:border-box;border-radius:4px;
border:1px solid #555;background:#1b1b1b;color:#eee}}
button{{background:#375a7f;color:#fff;border:0;padding:.5rem 1rem;border-radius:4px}}
.err{{color:#ffb4a8}}</style></head><body>
<form method="post" action="{action}"><h2>Trading Simulator</h2>
<p>This server needs its API token (TRADESIM_API_TOKEN).</p>{note}
<label for="token">Token</label><input id="token" name="token" type="password"
autocomplete="current-password" autofocus required><button type="submit">Log in</button>
</form></body></html>"""


def _error_handler(dispatcher: Dispatcher) -> Any:
    def on_error(exc: Exception) -> Any:
        api = request.path.startswith("/api") or request.path == "/health"
        if isinstance(exc, HTTPException):
            if not api:
                return exc
            if exc.code == 404:  # a path Flask's router cannot even match (a newline in it)
                return _json(dispatcher.not_found(request.path))
            if exc.code == 405:  # a method Flask does not route (QUERY, ...): our Allow list
                return _json(dispatcher.method_not_allowed(request.method, request.path))
            code = (exc.name or "error").lower().replace(" ", "_")
            return _json(error(exc.code or 500, code, exc.description or str(exc)))
        path = HttpRequest(method=request.method, path=request.path)
        if api:
            return _json(dispatcher.internal_error(path))
        log.exception("unhandled error in %s %s", request.method, request.path)
        return InternalServerError()

    return on_error


def _json(response: ApiResponse) -> Response:
    text = response.text or json_text(response.payload)
    flask_response = Response(text, status=response.status, mimetype="application/json")
    for name, value in response.headers.items():
        flask_response.headers[name] = value
    return flask_response


def _engine_status(_n: int | None) -> list[Any]:
    from pages._services import services

    try:
        heartbeat = services().engine.heartbeat()
    except Exception:  # Redis down: the badge says offline instead of erroring
        heartbeat = None
    return engine_status_badge(heartbeat)


def shared_listener(host: str, port: int) -> socket.socket:
    """A listening socket on host:port that the other web processes of ``tradesim up`` may bind
    too (``SO_REUSEPORT``: the kernel spreads new connections over them, so the web uses more
    than one core). A port held by another program still fails with "Address already in use"."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if hasattr(socket, "SO_REUSEPORT"):
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind((host, port))
    listener.listen(1024)
    return listener


def _kill_banner(_n: int | None) -> Any:
    from engine.storage.order_store import OrderStore
    from pages._services import services

    try:
        limits = OrderStore(services().db).limits()
    except Exception:  # a database hiccup hides the banner for one refresh, never errors
        return no_update
    return make_kill_banner(limits.to_dict())


def main(argv: list[str] | None = None) -> int:
    """Serve the web app with waitress on Settings.host:port (needs REDIS_URL)."""
    from waitress import serve

    from engine.storage.db import make_engine
    from jobs.queue import RQJobQueue

    try:
        settings = Settings.from_env()
        secrets = (
            settings.api_token,
            url_password(settings.redis_url),
            settings.exchange_api_key,
            settings.exchange_secret,
        )
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
        install_log_masking(secrets)
        check_exposure(settings.host, settings.api_token)
        if not settings.redis_url:
            raise TradeSimError("REDIS_URL is not set: start everything with `tradesim up`")
        services = build_services(
            settings, settings.redis_url, make_engine(settings), jobs=RQJobQueue
        )
    except TradeSimError as exc:
        print(f"error: {mask_text(str(exc))}", file=sys.stderr)
        return 2
    try:
        listener = shared_listener(settings.host, settings.port)
    except OSError as exc:
        print(
            f"error: cannot listen on {settings.host}:{settings.port} ({exc.strerror}); "
            "stop what uses the port or choose another with --port / TRADESIM_PORT",
            file=sys.stderr,
        )
        return 2
    app = create_app(services)
    print(f"web: http://{settings.host}:{settings.port}", flush=True)
    serve(
        app.server,
        sockets=[listener],
        threads=settings.web_threads,
        connection_limit=max(100, settings.web_threads * 4),
        _quiet=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
