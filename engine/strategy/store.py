"""Strategy files on disk: read-only examples and templates, and the user's own strategies.

Layout under the strategy root (``Settings.strategy_dir``, ``lua-strategies/`` by default)::

    examples/*.lua    shipped strategies (read-only)
    templates/*.lua   starting points for "New" (read-only); the examples are templates too
    user/*.lua        strategies users create and edit (created on demand)

A strategy's name is its file stem (``^[A-Za-z][A-Za-z0-9_-]{0,63}$``); names are unique
across examples and user strategies without regard to case, so a user strategy can never
shadow an example. Writes are atomic (temp file in the same folder, fsync, ``os.replace``)
and serialized by a lock shared by every store on the same root (a thread lock plus an
``flock`` on ``user/.lock`` where available), so concurrent saves never interleave and a crash
never leaves a half-written strategy.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import os
import re
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from engine.errors import ConfigError
from engine.strategy import contract
from engine.strategy.metadata import parse_metadata, replace_header
from engine.strategy.validator import Diagnostic, validate_strategy

try:  # POSIX: also serialize writers in other processes (several web workers)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

Kind = Literal["example", "user"]

MAX_CODE_BYTES = 256 * 1024
NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
NAME_RULE = "1-64 characters: a letter, then letters, digits, '_' or '-'"
EMPTY_TEMPLATE = "empty"
_INDICATOR_USE = re.compile(r"\bindicators\s*[.:]\s*([A-Za-z_][A-Za-z0-9_]*)")
_KNOWN_INDICATORS = frozenset((*contract.INDICATOR_FUNCTIONS, *contract.INDICATOR_FIELDS))

_root_locks: dict[Path, threading.Lock] = {}
_root_locks_guard = threading.Lock()


class StrategyNameError(ConfigError):
    """The name (or path) is not a valid strategy name. HTTP 400."""


class StrategyNotFound(ConfigError):
    """No strategy (or template) by that name. HTTP 404."""


class StrategyExists(ConfigError):
    """A strategy by that name already exists (an example or a user strategy). HTTP 409."""


class StrategyInUse(ConfigError):
    """Runners use this strategy: delete or re-create them first (a ``conflict``)."""


class StrategyReadOnly(ConfigError):
    """Examples and templates cannot be changed or deleted; duplicate them instead. HTTP 409."""


class StrategyTooLarge(ConfigError):
    """The code is larger than :data:`MAX_CODE_BYTES`. HTTP 413."""


@dataclass(frozen=True, kw_only=True)
class StrategyInfo:
    """What the list shows about one strategy file."""

    name: str
    path: str  # relative to the strategy root, e.g. "examples/ema_crossover.lua"
    kind: Kind
    size: int
    modified: str  # ISO-8601 UTC
    title: str  # the header's @name (or the file name)
    description: str
    indicators_used: list[str]
    context_fields: list[str]
    params: list[dict[str, object]]
    symbols: list[str]
    risk: str | None
    is_valid: bool
    errors: int
    warnings: int

    @property
    def read_only(self) -> bool:
        """Examples are read-only."""
        return self.kind == "example"

    def to_dict(self) -> dict[str, object]:
        """JSON-able form for the API and the pages."""
        return {
            "name": self.name,
            "path": self.path,
            "kind": self.kind,
            "read_only": self.read_only,
            "size": self.size,
            "modified": self.modified,
            "title": self.title,
            "description": self.description,
            "indicators_used": self.indicators_used,
            "context_fields": self.context_fields,
            "params": self.params,
            "symbols": self.symbols,
            "risk": self.risk,
            "is_valid": self.is_valid,
            "errors": self.errors,
            "warnings": self.warnings,
        }


@dataclass(frozen=True, kw_only=True)
class TemplateInfo:
    """A starting point for a new strategy."""

    id: str  # file stem: "empty", "ema_crossover", ...
    title: str  # "Empty", "EMA Crossover", ...
    description: str
    path: str
    code: str = field(repr=False)

    def to_dict(self) -> dict[str, object]:
        """JSON-able form (with the code, for previews)."""
        return {
            "id": self.id,
            "title": self.title,
            "description": self.description,
            "path": self.path,
            "code": self.code,
        }


@functools.lru_cache(maxsize=1024)
def _cached_info(root: Path, path: Path, kind: Kind, mtime_ns: int, size: int) -> StrategyInfo:
    """A file's info for one (mtime, size): a changed file is a new key, so it is re-read."""
    return _summarized(root, path, kind, StrategyStore._read(path), mtime_ns, size)


def _summarized(
    root: Path, path: Path, kind: Kind, code: str, mtime_ns: int, size: int
) -> StrategyInfo:
    modified = datetime.fromtimestamp(mtime_ns / 1e9, tz=UTC)
    return StrategyInfo(
        name=path.stem,
        path=path.relative_to(root).as_posix(),
        kind=kind,
        size=size,
        modified=modified.isoformat(timespec="seconds").replace("+00:00", "Z"),
        **summarize(code),  # type: ignore[arg-type]
    )


def check_name(name: object) -> str:
    """``name`` if it is a valid strategy name, else :class:`StrategyNameError`."""
    if not isinstance(name, str) or not name:
        raise StrategyNameError(f"a strategy name is required ({NAME_RULE})")
    if not NAME_RE.fullmatch(name):
        shown = name if len(name) <= 80 else name[:77] + "..."
        raise StrategyNameError(f"invalid strategy name {shown!r}: use {NAME_RULE}")
    return name


def check_code(code: object) -> str:
    """``code`` if it is a string within :data:`MAX_CODE_BYTES`, else a ConfigError."""
    if not isinstance(code, str):
        raise ConfigError("code must be a string of Lua source")
    try:
        size = len(code.encode("utf-8"))
    except UnicodeEncodeError:
        raise ConfigError("code contains characters that are not valid UTF-8") from None
    if size > MAX_CODE_BYTES:
        raise StrategyTooLarge(
            f"the strategy is {size / 1024:.0f} KiB; the limit is {MAX_CODE_BYTES // 1024} KiB"
        )
    return code


def summarize(code: str, diagnostics: list[Diagnostic] | None = None) -> dict[str, object]:
    """Header metadata, indicators used and validity of ``code`` (used by :class:`StrategyInfo`)."""
    meta, _problems = parse_metadata(code)
    found = diagnostics if diagnostics is not None else validate_strategy(code)
    used = {m.group(1) for m in _INDICATOR_USE.finditer(code)} & _KNOWN_INDICATORS
    errors = sum(d.severity == "error" for d in found)
    return {
        "title": meta.name,
        "description": meta.description,
        "indicators_used": sorted(used | (set(meta.indicators) & _KNOWN_INDICATORS)),
        "context_fields": list(meta.context_fields),
        "params": [p.to_dict() for p in meta.params],
        "symbols": list(meta.symbols),
        "risk": meta.risk,
        "is_valid": errors == 0,
        "errors": errors,
        "warnings": sum(d.severity == "warning" for d in found),
    }


class StrategyStore:
    """Strategies under ``root``; cheap to construct (one per request is fine)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.examples_dir = self.root / "examples"
        self.templates_dir = self.root / "templates"
        self.user_dir = self.root / "user"

    # -- reading ------------------------------------------------------------------------------
    def list(self) -> list[StrategyInfo]:
        """Examples, then user strategies, each sorted by name (case-insensitive)."""
        found = [self._info(p, "example") for p in self._files(self.examples_dir)]
        return found + [self._info(p, "user") for p in self._files(self.user_dir)]

    def get(self, name: str) -> tuple[StrategyInfo, str]:
        """The strategy called ``name`` and its code; :class:`StrategyNotFound` if none."""
        path, kind = self._locate(check_name(name))
        code = self._read(path)
        return self._info(path, kind, code), code

    def info(self, name: str) -> StrategyInfo:
        """Only the :class:`StrategyInfo` of ``name``."""
        return self.get(name)[0]

    def resolve(self, name_or_path: str) -> Path:
        """The file of a strategy given by name (``ema_crossover``, ``ema_crossover.lua``) or
        by a path relative to the root (``examples/ema_crossover.lua``, ``user/x.lua``, also
        with a leading ``lua-strategies/``). Raises :class:`StrategyNameError` for anything
        else (absolute paths, ``..``, other folders) and :class:`StrategyNotFound` if missing.
        """
        if not isinstance(name_or_path, str) or not name_or_path.strip():
            raise StrategyNameError("a strategy name or path is required")
        text = name_or_path.strip().replace("\\", "/").removeprefix("lua-strategies/")
        parts = text.split("/")
        if len(parts) == 1:
            return self._locate(check_name(parts[0].removesuffix(".lua")))[0]
        folder, file = parts[0], "/".join(parts[1:])
        kinds: dict[str, Kind] = {"examples": "example", "user": "user"}
        if folder not in kinds or "/" in file or not file.endswith(".lua"):
            raise StrategyNameError(
                f"invalid strategy path {name_or_path!r}: expected a name, "
                f"'examples/NAME.lua' or 'user/NAME.lua'"
            )
        name = check_name(file.removesuffix(".lua"))
        path = self._folder(kinds[folder]) / f"{name}.lua"
        if not path.is_file():
            raise StrategyNotFound(f"strategy file {folder}/{name}.lua not found")
        return path

    def relative_path(self, name: str) -> str:
        """``examples/NAME.lua`` or ``user/NAME.lua`` for an existing strategy."""
        path, _kind = self._locate(check_name(name))
        return path.relative_to(self.root).as_posix()

    def templates(self) -> builtins.list[TemplateInfo]:
        """``Empty`` first, then other templates and the examples (by title)."""
        out: builtins.list[TemplateInfo] = []
        for folder in (self.templates_dir, self.examples_dir):
            for path in self._files(folder):
                code = self._read(path)
                meta, _ = parse_metadata(code)
                stem = path.stem
                title = "Empty" if stem == EMPTY_TEMPLATE else meta.name or stem
                rel = path.relative_to(self.root).as_posix()
                out.append(
                    TemplateInfo(
                        id=stem, title=title, description=meta.description, path=rel, code=code
                    )
                )
        unique = {t.id: t for t in reversed(out)}  # a template wins over a same-named example
        return sorted(unique.values(), key=lambda t: (t.id != EMPTY_TEMPLATE, t.title.lower()))

    def template(self, template_id: str) -> TemplateInfo:
        """One template by id; :class:`StrategyNotFound` (listing the ids) if unknown."""
        templates = self.templates()
        for found in templates:
            if found.id == template_id:
                return found
        ids = ", ".join(t.id for t in templates)
        raise StrategyNotFound(f"unknown template {template_id!r}; available: {ids}")

    # -- writing ------------------------------------------------------------------------------
    def create(
        self, name: str, code: str | None = None, template: str | None = None
    ) -> StrategyInfo:
        """A new user strategy from ``code``, or from ``template`` (default: the empty one)
        with its ``@name`` set to ``name``. :class:`StrategyExists` if the name is taken by an
        example or a user strategy (case-insensitively)."""
        check_name(name)
        if code is not None and template is not None:
            raise ConfigError("give either code or a template, not both")
        if code is None:
            base = self.template(template or EMPTY_TEMPLATE)
            meta, _problems = parse_metadata(base.code)
            code = replace_header(base.code, replace(meta, name=name))
        check_code(code)
        with self._lock():
            taken = self._taken(name)
            if taken is not None:
                raise StrategyExists(taken)
            path = self.user_dir / f"{name}.lua"
            _atomic_write(path, code)
        return self._info(path, "user", code)

    def update(self, name: str, code: str) -> StrategyInfo:
        """Replace the code of a user strategy (examples: :class:`StrategyReadOnly`)."""
        check_code(code)
        with self._lock():
            path, kind = self._locate(check_name(name))
            if kind == "example":
                raise StrategyReadOnly(_read_only(name))
            _atomic_write(path, code)
        return self._info(path, "user", code)

    def delete(self, name: str) -> None:
        """Delete a user strategy (examples: :class:`StrategyReadOnly`)."""
        with self._lock():
            path, kind = self._locate(check_name(name))
            if kind == "example":
                raise StrategyReadOnly(_read_only(name))
            path.unlink()
            _fsync_dir(path.parent)

    # -- internals ----------------------------------------------------------------------------
    def _folder(self, kind: Kind) -> Path:
        return self.examples_dir if kind == "example" else self.user_dir

    @staticmethod
    def _files(folder: Path) -> builtins.list[Path]:
        if not folder.is_dir():
            return []
        files = [p for p in folder.glob("*.lua") if p.is_file() and NAME_RE.fullmatch(p.stem)]
        return sorted(files, key=lambda p: p.stem.lower())

    def _locate(self, name: str) -> tuple[Path, Kind]:
        """Exact-name lookup: examples first, then user strategies."""
        kinds: tuple[Kind, ...] = ("example", "user")
        for kind in kinds:
            path = self._folder(kind) / f"{name}.lua"
            if path.is_file() and _listed(path):
                return path, kind
        known = sorted(p.stem for k in kinds for p in self._files(self._folder(k)))
        raise StrategyNotFound(
            f"strategy {name!r} not found; available: {', '.join(known) or 'none'}"
        )

    def _taken(self, name: str) -> str | None:
        """Why ``name`` cannot be used for a new user strategy, or None."""
        lowered = name.lower()
        for path in self._files(self.examples_dir):
            if path.stem.lower() == lowered:
                return (
                    f"{name!r} is the name of an example (read-only); choose another name, "
                    f"e.g. '{name}_copy'"
                )
        for path in self._files(self.user_dir):
            if path.stem.lower() == lowered:
                return f"a strategy named {path.stem!r} already exists"
        return None

    @staticmethod
    def _read(path: Path) -> str:
        try:
            return path.read_text("utf-8")
        except FileNotFoundError:
            raise StrategyNotFound(f"strategy {path.stem!r} not found") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {path.name}: {exc}") from None

    def _info(self, path: Path, kind: Kind, code: str | None = None) -> StrategyInfo:
        """The file's info; without ``code`` it comes from a cache keyed by the file's
        modification time and size, so listing does not re-read and re-parse every file."""
        try:
            stat = path.stat()
        except FileNotFoundError:
            raise StrategyNotFound(f"strategy {path.stem!r} not found") from None
        if code is not None:
            return _summarized(self.root, path, kind, code, stat.st_mtime_ns, stat.st_size)
        return _cached_info(self.root, path, kind, stat.st_mtime_ns, stat.st_size)

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Serialize writers: one thread at a time per root, one process via flock."""
        key = self.root.resolve()
        with _root_locks_guard:
            lock = _root_locks.setdefault(key, threading.Lock())
        with lock:
            self.user_dir.mkdir(parents=True, exist_ok=True)
            if fcntl is None:  # pragma: no cover - Windows
                yield
                return
            with open(self.user_dir / ".lock", "a+b") as handle:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _listed(path: Path) -> bool:
    """True when the folder lists ``path`` under exactly this name (case-sensitive check on
    case-insensitive file systems)."""
    return path.name in os.listdir(path.parent)


def _read_only(name: str) -> str:
    return f"{name!r} is an example and read-only; duplicate it to make changes"


def _atomic_write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file in the same folder, fsync and rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), 0o644)
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make a rename/unlink durable (no-op where directories cannot be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
