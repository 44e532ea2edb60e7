"""Strategy metadata: the ``-- @tag`` comments at the top of a Lua strategy.

The header is the leading block of blank lines and ``--`` comments (a ``--[[`` long comment or
the first line of code ends it). Known tags: ``@name``, ``@description``, ``@author``,
``@indicators``, ``@context``, ``@symbols`` (comma- or space-separated lists), ``@risk``
(low|medium|high) and ``@param NAME DEFAULT [MIN..MAX]`` (one per parameter). Parsing never
raises: problems come back with their line numbers. :func:`replace_header` rewrites only the
tag lines, so an editor form and the code can stay in sync.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from engine.errors import ConfigError

ParamKind = Literal["int", "float"]
Severity = Literal["error", "warning", "info"]

RISK_LEVELS: tuple[str, ...] = ("low", "medium", "high")
TEXT_TAGS: tuple[str, ...] = ("name", "description", "author")
LIST_TAGS: tuple[str, ...] = ("indicators", "context", "symbols")
KNOWN_TAGS: tuple[str, ...] = (*TEXT_TAGS, *LIST_TAGS, "risk", "param")
PARAM_SYNTAX = "`-- @param NAME DEFAULT [MIN..MAX]`, e.g. `-- @param fast 10 2..50`"

_NUMBER = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUMBER_RE = re.compile(_NUMBER)
_INT_RE = re.compile(r"[+-]?[0-9]+")
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PARAM_RE = re.compile(
    rf"(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s+(?P<default>{_NUMBER})"
    rf"(?:\s+(?P<min>{_NUMBER})\s*\.\.\s*(?P<max>{_NUMBER}))?"
)
_TAG_RE = re.compile(r"\s*--\s*@(\w*)\s*(.*?)\s*")
_LONG_COMMENT_RE = re.compile(r"\s*--\[=*\[")
_LIST_SPLIT_RE = re.compile(r"[,\s]+")

Number = int | float


@dataclass(frozen=True, kw_only=True)
class ParamSpec:
    """A tunable parameter declared with ``-- @param``; Lua sees it as ``params.NAME``.

    ``line`` and ``declaration`` (where it was declared) only feed error messages and are not
    compared: two specs are equal when name, default, range and kind agree.
    """

    name: str
    default: Number
    minimum: Number | None = None
    maximum: Number | None = None
    kind: ParamKind
    line: int | None = field(default=None, compare=False)
    declaration: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.kind not in ("int", "float"):
            raise ConfigError(f"param {self.name}: kind must be 'int' or 'float'")
        if (self.minimum is None) != (self.maximum is None):
            raise ConfigError(f"param {self.name}: give both a minimum and a maximum, or neither")
        for attr in ("default", "minimum", "maximum"):
            value = getattr(self, attr)
            if value is not None:
                object.__setattr__(self, attr, self._number(value, f"{attr} {value!r}"))

    def _number(self, value: object, shown: str) -> Number:
        """``value`` as this param's kind, or ConfigError naming the param and its line."""
        text = value.strip() if isinstance(value, str) else None
        if text is not None and _NUMBER_RE.fullmatch(text):
            number = float(text)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        else:
            raise ConfigError(f"param {self.name}: {shown} is not a number{self._where()}")
        if not math.isfinite(number):
            raise ConfigError(f"param {self.name}: {shown} is not a finite number{self._where()}")
        if self.kind == "float":
            return number
        if isinstance(value, int):
            return value
        if text is not None and _INT_RE.fullmatch(text):
            return int(text)
        if not number.is_integer():
            raise ConfigError(f"param {self.name}: {shown} is not a whole number{self._where()}")
        return int(number)

    def _where(self) -> str:
        return f" (declared on line {self.line}: '{self.declaration}')" if self.line else ""

    def validate(self, value: str | float | int) -> Number:
        """Check ``value`` (a number, or a string such as ``"12"`` from a CLI) against the kind
        and range; return it as ``int`` or ``float``, or raise :class:`ConfigError`."""
        shown = value.strip() if isinstance(value, str) else repr(value)
        number = self._number(value, repr(value) if isinstance(value, str) else shown)
        if self.minimum is not None and number < self.minimum:
            raise ConfigError(
                f"param {self.name}: {shown} is below the minimum {self.minimum}{self._where()}"
            )
        if self.maximum is not None and number > self.maximum:
            raise ConfigError(
                f"param {self.name}: {shown} is above the maximum {self.maximum}{self._where()}"
            )
        return number

    def to_dict(self) -> dict[str, object]:
        """JSON-able form for APIs and the editor."""
        return {
            "name": self.name,
            "default": self.default,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "kind": self.kind,
        }

    def render(self) -> str:
        """The ``-- @param`` line that declares this spec."""
        values = [self.default] if self.minimum is None else [self.default, self.minimum]
        text = [repr(v) for v in values]
        if self.maximum is not None:
            text[1] = f"{text[1]}..{self.maximum!r}"
        return f"-- @param {self.name} {' '.join(text)}"


@dataclass(frozen=True)
class MetadataProblem:
    """Something wrong in the header, at a 1-based line."""

    line: int
    message: str
    severity: Severity = "error"


@dataclass(frozen=True, kw_only=True)
class StrategyMetadata:
    """Everything the header declares. ``tag_lines`` maps a tag to the line it is declared on
    (for diagnostics; not compared)."""

    name: str = ""
    description: str = ""
    author: str = ""
    indicators: tuple[str, ...] = ()
    context_fields: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()
    risk: str | None = None
    params: tuple[ParamSpec, ...] = ()
    tag_lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, object]:
        """JSON-able form for APIs and the editor."""
        return {
            "name": self.name,
            "description": self.description,
            "author": self.author,
            "indicators": list(self.indicators),
            "context_fields": list(self.context_fields),
            "symbols": list(self.symbols),
            "risk": self.risk,
            "params": [p.to_dict() for p in self.params],
        }

    def resolve_params(self, overrides: Mapping[str, str | float | int]) -> dict[str, Number]:
        """Declared defaults with ``overrides`` applied and validated (values may be strings
        from a command line). An undeclared name raises :class:`ConfigError`."""
        specs = {p.name: p for p in self.params}
        values: dict[str, Number] = {p.name: p.default for p in self.params}
        for name, value in overrides.items():
            spec = specs.get(name)
            if spec is None:
                close = difflib.get_close_matches(name, specs, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                declared = ", ".join(specs) or "none"
                raise ConfigError(f"unknown param {name!r}; {hint}declared params: {declared}")
            values[name] = spec.validate(value)
        return values


def _header_end(lines: list[str]) -> int:
    """Index of the first line after the header (blank lines and ``--`` short comments)."""
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped and (not stripped.startswith("--") or _LONG_COMMENT_RE.match(stripped)):
            return index
    return len(lines)


def _tag_lines(lines: list[str]) -> list[tuple[int, str, str]]:
    """``(index, tag, value)`` for each tag line in the header."""
    found = []
    for index in range(_header_end(lines)):
        match = _TAG_RE.fullmatch(lines[index])
        if match:
            found.append((index, match.group(1).lower(), match.group(2)))
    return found


def _literal(text: str) -> Number:
    return int(text) if _INT_RE.fullmatch(text) else float(text)


def _parse_param(value: str, line: int, text: str) -> tuple[ParamSpec | None, str | None]:
    """The spec declared by ``@param`` text (if readable) and what is wrong with it (if any).

    A spec whose default lies outside its range is still returned, so ``params.NAME`` exists
    and the strategy runs while the header problem is reported."""
    match = _PARAM_RE.fullmatch(value)
    if match is None:
        return None, f"bad @param syntax: expected {PARAM_SYNTAX}"
    raw = [match.group(g) for g in ("default", "min", "max")]
    kind: ParamKind = "int" if all(r is None or _INT_RE.fullmatch(r) for r in raw) else "float"
    lo, hi = (None, None) if raw[1] is None else (_literal(raw[1]), _literal(raw[2]))
    spec = ParamSpec(
        name=match.group("name"),
        default=_literal(raw[0]),
        minimum=lo,
        maximum=hi,
        kind=kind,
        line=line,
        declaration=text.strip(),
    )
    if lo is not None and hi is not None:
        if lo > hi:
            return spec, f"@param {spec.name}: the minimum {lo} is greater than the maximum {hi}"
        if not lo <= spec.default <= hi:
            return spec, f"@param {spec.name}: the default {spec.default} is outside {lo}..{hi}"
    return spec, None


def _split(value: str) -> tuple[str, ...]:
    return tuple(item for item in _LIST_SPLIT_RE.split(value) if item)


def _risk(value: str) -> str | None:
    return value.lower() if value.lower() in RISK_LEVELS else None


def parse_metadata(code: str) -> tuple[StrategyMetadata, list[MetadataProblem]]:
    """Parse the header of a strategy; never raises. A missing ``@name`` gives ``""``.

    Problems: bad ``@param`` syntax, a default outside its range, minimum above maximum and a
    duplicate param are errors; an unknown ``@risk`` or a repeated tag is a warning; an
    unknown tag is info. The first declaration of a tag or param wins."""
    lines = code.split("\n")
    texts: dict[str, str] = {}
    tag_lines: dict[str, int] = {}
    params: dict[str, ParamSpec] = {}
    problems: list[MetadataProblem] = []
    for index, tag, value in _tag_lines(lines):
        line = index + 1
        if tag not in KNOWN_TAGS:
            known = ", ".join(f"@{t}" for t in KNOWN_TAGS)
            problems.append(
                MetadataProblem(
                    line, f"unknown tag @{tag} is ignored (known tags: {known})", "info"
                )
            )
        elif tag == "param":
            spec, problem = _parse_param(value, line, lines[index])
            if spec is not None and spec.name in params:
                first = params[spec.name].line
                problem = f"@param {spec.name} is declared twice (first on line {first}); ignored"
            elif spec is not None:
                params[spec.name] = spec
                tag_lines.setdefault("param", line)
            if problem:
                problems.append(MetadataProblem(line, problem))
        elif tag in texts:
            message = f"@{tag} is declared twice (first on line {tag_lines[tag]}); ignored"
            problems.append(MetadataProblem(line, message, "warning"))
        else:
            texts[tag] = value
            tag_lines[tag] = line
            if tag == "risk" and value and _risk(value) is None:
                message = f"@risk must be low, medium or high, not {value!r}"
                problems.append(MetadataProblem(line, message, "warning"))
    meta = StrategyMetadata(
        name=texts.get("name", ""),
        description=texts.get("description", ""),
        author=texts.get("author", ""),
        indicators=_split(texts.get("indicators", "")),
        context_fields=_split(texts.get("context", "")),
        symbols=_split(texts.get("symbols", "")),
        risk=_risk(texts.get("risk", "")),
        params=tuple(params.values()),
        tag_lines=tag_lines,
    )
    return meta, problems


# -- writing the header back ---------------------------------------------------------------

_LIST_JOIN = {"indicators": ", ", "context": ",", "symbols": ","}


def _meta_value(meta: StrategyMetadata, tag: str) -> str | tuple[str, ...] | None:
    """The metadata value a (non-param) tag line declares."""
    values: dict[str, str | tuple[str, ...] | None] = {
        "name": meta.name,
        "description": meta.description,
        "author": meta.author,
        "indicators": meta.indicators,
        "context": meta.context_fields,
        "symbols": meta.symbols,
        "risk": meta.risk,
    }
    return values[tag]


def _line_value(tag: str, value: str) -> str | tuple[str, ...] | None:
    """What a (non-param) tag line with this text parses to."""
    if tag in LIST_TAGS:
        return _split(value)
    return _risk(value) if tag == "risk" else value


def _render_value(tag: str, value: str | tuple[str, ...] | None) -> str:
    """Header text for a tag's value; raises ConfigError if the value cannot be written."""
    if value is None:
        return ""
    if isinstance(value, str):
        if tag == "risk" and value not in RISK_LEVELS:
            raise ConfigError(f"@risk must be low, medium or high, not {value!r}")
        return re.sub(r"\s*[\r\n]+\s*", " ", value).strip()
    pattern = _IDENT_RE if tag != "symbols" else re.compile(r"[^\s,]+")
    bad = [item for item in value if not pattern.fullmatch(item)]
    if bad:
        raise ConfigError(f"@{tag}: {bad[0]!r} cannot be written in the header (one word each)")
    return _LIST_JOIN[tag].join(value)


def _header_lines(meta: StrategyMetadata, keep: Mapping[object, str]) -> list[str]:
    """Tag lines for ``meta`` in canonical order; ``keep`` maps a tag (or ``("param", name)``)
    to an existing line that already declares the same value, which is reused verbatim."""
    out: list[str] = []
    for tag in (*TEXT_TAGS, *LIST_TAGS, "risk"):
        text = _render_value(tag, _meta_value(meta, tag))
        if tag in keep:
            out.append(keep[tag])
        elif text:
            out.append(f"-- @{tag} {text}")
    seen: set[str] = set()
    for spec in meta.params:
        if not _IDENT_RE.fullmatch(spec.name) or spec.name in seen:
            raise ConfigError(f"param name {spec.name!r} is not a unique Lua identifier")
        seen.add(spec.name)
        out.append(keep.get(("param", spec.name), spec.render()))
    return out


def render_header(meta: StrategyMetadata) -> str:
    """The ``-- @tag`` lines declaring ``meta`` (empty tags left out), newline-terminated."""
    lines = _header_lines(meta, {})
    return "".join(line + "\n" for line in lines)


def replace_header(code: str, meta: StrategyMetadata) -> str:
    """Rewrite the tag lines of ``code`` to declare ``meta``.

    Other header comments, unknown tags and the body stay byte-identical; a tag line whose
    value is unchanged keeps its exact text; the new tag block goes where the first tag line
    was (at the top if there was none). ``parse_metadata(replace_header(code, m))[0] == m``.
    """
    lines = code.split("\n")
    eol = "\r" if lines[0].endswith("\r") else ""
    keep: dict[object, str] = {}
    drop: list[int] = []
    specs = {p.name: p for p in meta.params}
    for index, tag, value in _tag_lines(lines):
        if tag not in KNOWN_TAGS:
            continue
        drop.append(index)
        original = lines[index].removesuffix("\r")
        if tag != "param":
            if tag not in keep and _line_value(tag, value) == _meta_value(meta, tag):
                keep[tag] = original
            continue
        spec, _problem = _parse_param(value, index + 1, original)
        if spec is not None and ("param", spec.name) not in keep and specs.get(spec.name) == spec:
            keep[("param", spec.name)] = original
    block = [line + eol for line in _header_lines(meta, keep)]
    if not drop:
        starts_with_code = bool(lines[0].strip()) and not lines[0].lstrip().startswith("--")
        return "\n".join(block + ([eol] if starts_with_code else []) + lines)
    dropped = set(drop)
    rest = [line for index, line in enumerate(lines) if index not in dropped]
    at = drop[0]  # lines before the first tag line are never dropped
    return "\n".join(rest[:at] + block + rest[at:])
