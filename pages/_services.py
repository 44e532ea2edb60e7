"""The one small module pages use to reach the engine's data: the app's Services."""

from __future__ import annotations

from flask import current_app

from engine.platform.services import Services


def services() -> Services:
    """The Services the app factory attached to this Flask app."""
    found: Services = current_app.extensions["tradesim"]
    return found
