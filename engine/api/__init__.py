"""The REST API as framework-free handlers: app.py maps each Route onto Flask.

Every response uses the envelope ``{"status": "ok", "data": ..., "timestamp": ...}`` or
``{"status": "error", "error": {"code", "message", "details"}, "timestamp": ...}``.
"""

from engine.api.core import ApiRequest, ApiResponse, Route
from engine.api.routes import ROUTES

__all__ = ["ROUTES", "ApiRequest", "ApiResponse", "Route"]
