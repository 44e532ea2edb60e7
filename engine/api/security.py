"""The web's security rules, framework-free (DESIGN.md "Web security"); app.py applies them.

* Exposure: bound to anything but loopback, the web refuses to start without
  ``TRADESIM_API_TOKEN`` (:func:`check_exposure`).
* With a token: ``/api/...`` needs ``Authorization: Bearer <token>`` or the session cookie the
  login page sets; pages need the cookie. The cookie holds an HMAC of the token, so changing
  the token logs everyone out, and it is ``HttpOnly; SameSite=Strict``.
* CSRF: a state-changing call (POST/PUT/PATCH/DELETE) with a body or a ``Content-Type`` must
  send ``application/json`` (a cross-site form or ``text/plain`` fetch cannot), and its
  ``Origin``, when present, must be this server's own. Browsers attach ``Origin`` to every
  cross-site POST, so a body-less cross-site POST is refused by the Origin check.
* Every response carries :data:`SECURITY_HEADERS`.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from urllib.parse import urlsplit

from engine.errors import ConfigError

SESSION_COOKIE = "tradesim_session"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SECURITY_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "Referrer-Policy": "same-origin",
}


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, token: str | None) -> None:
    """Refuse (ConfigError) to serve beyond loopback without an API token."""
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"refusing to listen on {host}: anyone who can reach it could run code in your "
            "engine. Set TRADESIM_API_TOKEN to a long random secret (for example the output "
            "of `python -c 'import secrets; print(secrets.token_urlsafe(32))'`) or bind to "
            "127.0.0.1"
        )
    if token is not None and len(token) < 16:
        raise ConfigError("TRADESIM_API_TOKEN is too short: use at least 16 characters")


def session_value(token: str) -> str:
    """The session cookie's value for ``token`` (an HMAC, never the token itself)."""
    return hmac.new(token.encode(), b"tradesim-session-v1", hashlib.sha256).hexdigest()


def token_matches(token: str, given: str | None) -> bool:
    """Constant-time comparison of a presented token."""
    return given is not None and hmac.compare_digest(token.encode(), given.encode())


def authorized(token: str | None, authorization: str | None, cookie: str | None) -> bool:
    """Whether a request may proceed: always without a token, else a matching bearer header
    or session cookie."""
    if not token:
        return True
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and token_matches(token, value.strip()):
        return True
    return cookie is not None and hmac.compare_digest(session_value(token), cookie)


def csrf_problem(
    method: str, content_type: str | None, has_body: bool, origin: str | None, host_url: str
) -> tuple[int, str, str] | None:
    """``(status, code, message)`` when a request must be refused as cross-site, else None."""
    if method not in WRITE_METHODS:
        return None
    if origin is not None and not same_origin(origin, host_url):
        return (
            403,
            "cross_origin",
            f"Origin {origin!r} is not this server ({_origin_of(host_url)}): state-changing "
            "calls are accepted only from the app's own pages or from clients that send no "
            "Origin header",
        )
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if (has_body or content_type) and mime != "application/json":
        return (
            415,
            "unsupported_media_type",
            f"send the body as JSON with 'Content-Type: application/json' "
            f"(got {content_type or 'no Content-Type'!r})",
        )
    return None


def same_origin(origin: str, host_url: str) -> bool:
    """Whether ``origin`` (an Origin header) names the server at ``host_url``."""
    return origin.rstrip("/").lower() == _origin_of(host_url)


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()
