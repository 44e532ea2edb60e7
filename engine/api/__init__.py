"""The REST API as framework-free handlers: app.py maps each Route onto Flask.

Owns: request/response types, the route table, the handlers, the OpenAPI document.
May import: every engine package below it (data, indicators, strategy, backtest, live,
storage, platform.settings and platform.services); never dash, flask or rq.

Every response uses the envelope ``{"status": "ok", "data": ..., "timestamp": ...}`` or
``{"status": "error", "error": {"code", "message", "details"}, "timestamp": ...}``.
"""

from engine.api.core import ApiRequest, ApiResponse, Route
from engine.api.routes import ROUTES

__all__ = ["ROUTES", "ApiRequest", "ApiResponse", "Route"]
