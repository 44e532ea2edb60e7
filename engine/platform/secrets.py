"""Keep secrets (Redis/database passwords, the API token, exchange keys) out of every log line
and message: URLs are printed with their password replaced, and a logging filter replaces any
known secret value wherever it appears."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
_URL_IN_TEXT = re.compile(r"\b([a-z][a-z0-9+.-]*://)([^:/@\s]*):([^@\s]+)@", re.IGNORECASE)


def mask_url(url: str | None) -> str:
    """``url`` with its password replaced by ``***`` (``redis://:***@host:6379/0``)."""
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    auth = f"{parts.username or ''}:{MASK}"
    return urlunsplit((parts.scheme, f"{auth}@{host}", parts.path, parts.query, parts.fragment))


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with URL passwords and each of ``secrets`` (4+ characters) masked."""
    masked = _URL_IN_TEXT.sub(lambda m: f"{m.group(1)}{m.group(2)}:{MASK}@", text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            masked = masked.replace(secret, MASK)
    return masked


def url_password(url: str | None) -> str | None:
    """The password in ``url``, if any (to register with :class:`SecretFilter`)."""
    return urlsplit(url).password if url else None


class SecretFilter(logging.Filter):
    """Rewrites each record's message with :func:`mask_text` (tracebacks included)."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the formatted message (and the traceback text) in place; never drops."""
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg = mask_text(message, self.secrets)
        record.args = None
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text, self.secrets)
        return True


def install_log_masking(secrets: Iterable[str | None]) -> None:
    """Add a :class:`SecretFilter` to every handler of the root logger (call after logging is
    configured; handlers added later by libraries get it through the root's filter too)."""
    root = logging.getLogger()
    found = SecretFilter(secrets)
    root.addFilter(found)
    for handler in root.handlers:
        handler.addFilter(found)
