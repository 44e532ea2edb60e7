"""Static checks of a Lua strategy, for the editor (on every pause in typing) and for
``tradesim strategy validate``.

Syntax errors come from compiling (never running) the code with Lua 5.4. Everything else is
a scan over the tokens of :mod:`engine.strategy.lua_lexer` against the contract in
:mod:`engine.strategy.contract`: required functions, indicator names, nil checks of indicator
values,
action names and fields, ``@context``/``@param`` declarations and sandbox-forbidden globals.
The scans look at token patterns, not a syntax tree, so a renamed argument (``ind`` instead of
``indicators``) is not followed; they are fast enough for a 500-line file in a few ms.
"""

from __future__ import annotations

import difflib
import re
import threading
from bisect import bisect_left, bisect_right
from dataclasses import asdict, dataclass
from typing import Any

import lupa.lua54

from engine.strategy import contract
from engine.strategy.lua_lexer import ARITHMETIC, TokenScan, string_value, tokenize
from engine.strategy.metadata import Severity, StrategyMetadata, parse_metadata

MAX_CODE_BYTES = 256 * 1024
FORBIDDEN_GLOBALS: tuple[str, ...] = (
    *("os", "io", "require", "load", "loadstring", "dofile", "loadfile", "debug", "ffi"),
    *("python", "collectgarbage", "coroutine", "package"),
)
_FORBIDDEN_HINTS = {
    "os": " (for the bar time use market_data.timestamp)",
    "require": " (put helper functions in the strategy file itself)",
    "dofile": " (put helper functions in the strategy file itself)",
    "loadfile": " (put helper functions in the strategy file itself)",
}
_STATES = {
    "detect_opportunity": "Idle",
    "filter_commitment": "Analyzing",
    "manage_position": "InPosition",
}
_INDICATOR_NAMES = (*contract.INDICATOR_FUNCTIONS, *contract.INDICATOR_FIELDS)
_INDEXING = frozenset((".", "[", ":"))
# After these tokens a name starts a new statement (used to spot plain `a, b = ...`).
_STATEMENT_END = frozenset((")", "]", "}", ";", "end", "then", "do", "else", "repeat", "break"))
_TABLE_ITEM_START = frozenset(("{", ",", ";"))
_LOCATED = re.compile(rb":(\d+): (.*)", re.DOTALL)
_NEAR = re.compile(r" near (?:'(.*)'|<eof>)$", re.DOTALL)
_BYTE_TOKEN = re.compile(r"<\\\d+>")  # how Lua shows a byte it cannot read: <\226>

_compilers = threading.local()


@dataclass(frozen=True)
class Diagnostic:
    """One finding, at a 1-based line and column (columns count characters)."""

    severity: Severity
    line: int
    column: int
    message: str

    def to_dict(self) -> dict[str, object]:
        """JSON-able form for the editor and the API."""
        return asdict(self)


def _suggest(name: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f"; did you mean `{close[0]}`?" if close else ""


def _at(scan: TokenScan, severity: Severity, i: int, message: str) -> Diagnostic:
    """A diagnostic at token ``i``."""
    token = scan.tokens[i]
    return Diagnostic(severity, token.line, token.column, message)


# -- syntax -----------------------------------------------------------------------------------


def _compiler() -> Any:
    """This thread's Lua function ``(code, chunkname) -> error or nil`` that only compiles."""
    compile_chunk = getattr(_compilers, "compile", None)
    if compile_chunk is None:
        runtime = lupa.lua54.LuaRuntime(register_eval=False, register_builtins=False, encoding=None)
        compile_chunk = runtime.eval(
            "function(code, name) local _, err = load(code, '=' .. name, 't', {}) return err end"
        )
        _compilers.compile = compile_chunk
    return compile_chunk


def _syntax_error(
    code: bytes, filename: str, lines: list[str], scan: TokenScan
) -> list[Diagnostic]:
    """The compiler's error, if any, with the column of the token it names."""
    chunkname = filename.encode("utf-8", "surrogatepass")
    try:
        raw: bytes | None = _compiler()(code, chunkname)
    except lupa.lua54.LuaError as exc:  # the compiler itself failed (e.g. out of C stack)
        raw = str(exc).encode("utf-8", "replace")
    if raw is None:
        return []
    raw = raw.split(b"\nstack traceback:", 1)[0]
    prefix = chunkname[:59]  # Lua keeps at most LUA_IDSIZE - 1 bytes of a "=name" chunkname
    located = _LOCATED.match(raw[len(prefix) :]) if raw.startswith(prefix) else None
    if located is None:
        return [Diagnostic("error", 1, 1, f"syntax error: {raw.decode('utf-8', 'replace')}")]
    line = int(located.group(1))
    message = located.group(2).decode("utf-8", "replace")
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    column = 1
    near = _NEAR.search(message)
    if near is not None and near.group(1) is None:  # near <eof>
        column = len(text.rstrip()) + 1
    elif near is not None:
        token = near.group(1)
        wanted = "error" if _BYTE_TOKEN.fullmatch(token) else None
        on_line = (t for t in scan.tokens if t.line == line)
        found = next((t for t in on_line if t.text == token or t.kind == wanted), None)
        if found is not None:
            column = found.column
        elif token in text:
            column = text.index(token) + 1
    return [Diagnostic("error", line, column, f"syntax error: {message}")]


# -- contract checks --------------------------------------------------------------------------


def _check_required_functions(scan: TokenScan, compiled: bool) -> list[Diagnostic]:
    """Each required function must be a global defined outside other functions. After a
    syntax error the nesting is unreliable, so a definition anywhere counts."""
    out = []
    for name in contract.REQUIRED_FUNCTIONS:
        if name in scan.globals or (name in scan.nested and not compiled):
            continue
        if name in scan.nested:
            message = (
                f"`{name}` is defined inside another function, so the engine does not see "
                f"it; move it to the top level of the file"
            )
            out.append(_at(scan, "error", scan.nested[name], message))
        elif name in scan.locals:
            message = (
                f"`{name}` is declared `local`, so the engine cannot see it; "
                f"remove `local` to make it a global function"
            )
            out.append(_at(scan, "error", scan.locals[name], message))
        else:
            message = (
                f"missing function `{name}`: the engine calls it on every bar while "
                f"{_STATES[name]}; add `function {name}(market_data, context, indicators, "
                f"position) ... end` at the top level (return nil to do nothing)"
            )
            out.append(Diagnostic("error", 1, 1, message))
    return out


def _check_indicators(scan: TokenScan, meta: StrategyMetadata) -> list[Diagnostic]:
    texts, kinds = scan.texts, scan.kinds
    out = []
    for i, name in scan.field_uses("indicators"):
        called = texts[i + 1] in ("(", "{") or kinds[i + 1] == "string"
        if name not in _INDICATOR_NAMES:
            hint = _suggest(name, _INDICATOR_NAMES)
            known = ", ".join(_INDICATOR_NAMES)
            message = f"unknown indicator `indicators.{name}`{hint} (available: {known})"
            out.append(_at(scan, "error", i, message))
        elif name in contract.INDICATOR_FIELDS and called:
            message = f"`indicators.{name}` is a value, not a function: drop the parentheses"
            out.append(_at(scan, "error", i, message))
        elif name in contract.INDICATOR_FUNCTIONS and not called:
            message = (
                f"`indicators.{name}` is a function: call it with its arguments, "
                f"e.g. `indicators.{name}(14)`"
            )
            out.append(_at(scan, "error", i, message))
        elif name in contract.INDICATOR_FUNCTIONS and texts[i + 1] == "(":
            close = scan.match[i + 1]
            after, before = texts[close + 1], texts[i - 3]
            if after in _INDEXING or (kinds[close + 1] == "op" and after in ARITHMETIC):
                use = "reading a field of" if after in _INDEXING else f"`{after}` on"
            elif kinds[i - 3] == "op" and (before in ARITHMETIC or before == "#"):
                use = f"`{before}` on"
            else:
                continue
            message = (
                f"`indicators.{name}(...)` may be nil during warm-up, so {use} it fails; store "
                f"it in a local and guard with `if value == nil then return nil end`"
            )
            out.append(_at(scan, "warning", i - 2, message))
    declared_line = meta.tag_lines.get("indicators", 1)
    for name in meta.indicators:
        if name not in _INDICATOR_NAMES:
            message = (
                f"@indicators lists unknown indicator `{name}`{_suggest(name, _INDICATOR_NAMES)}"
            )
            out.append(Diagnostic("warning", declared_line, 1, message))
    return out


def _assigned_indicator_calls(scan: TokenScan, eq: int) -> list[tuple[int, int]]:
    """For a plain ``[local] a, b = ...`` at ``=`` index ``eq``: ``(name index, call index)``
    for each variable assigned exactly ``indicators.FN(...)``."""
    texts, kinds = scan.texts, scan.kinds
    names = []
    k = eq - 1
    while True:
        if texts[k] == ">" and texts[k - 2] == "<":  # local x <const> = ...
            k -= 3
        if kinds[k] != "name":
            return []
        names.append(k)
        if texts[k - 1] != ",":
            break
        k -= 2
    before = k - 1
    if not (
        texts[before] == "local"
        or texts[before] in _STATEMENT_END
        or kinds[before] in ("name", "number", "string", "eof")
    ):
        return []
    found = []
    start = eq + 1
    for name_index in reversed(names):
        end = scan.expression_end(start)
        if (
            texts[start] == "indicators"
            and texts[start + 1] == "."
            and texts[start + 2] in contract.INDICATOR_FUNCTIONS
            and texts[start + 3] == "("
            and end == scan.match[start + 3] + 1
        ):
            found.append((name_index, start))
        if texts[end] != ",":
            break
        start = end + 1
    return found


def _is_nil_guard(scan: TokenScan, k: int) -> bool:
    """Whether the name at ``k`` is tested for nil (``x == nil``, ``not x``, ``x and``, ...)."""
    texts = scan.texts
    before, after = texts[k - 1], texts[k + 1]
    if before in (".", ":"):
        return False
    if (after in ("==", "~=") and texts[k + 2] == "nil") or (
        before in ("==", "~=") and texts[k - 2] == "nil"
    ):
        return True
    if before in ARITHMETIC or before in ("==", "~=", "#"):  # an operand, not a test
        return False
    return (
        before == "not"
        or after in ("and", "or", "then", "do")
        or (before in ("and", "or") and after == ")")
        or (before == "(" and after == ")" and texts[k - 2] == "type")
    )


def _check_nil_guards(scan: TokenScan) -> list[Diagnostic]:
    out = []
    guarded: dict[tuple[str, int], bool] = {}  # (name, function start) -> has a nil test
    for eq in scan.where.get("=", ()):
        for name_index, call in _assigned_indicator_calls(scan, eq):
            name = scan.texts[name_index]
            first, last = scan.function_around(name_index)
            if (name, first) not in guarded:
                uses = scan.where[name]
                inside = uses[bisect_left(uses, first) : bisect_right(uses, last)]
                guarded[name, first] = any(_is_nil_guard(scan, k) for k in inside)
            if guarded[name, first]:
                continue
            message = (
                f"{scan.texts[call + 2]} value `{name}` may be nil during warm-up; "
                f"guard with `if {name} == nil then return nil end`"
            )
            out.append(_at(scan, "warning", name_index, message))
    return out


def _check_declarations(scan: TokenScan, meta: StrategyMetadata) -> list[Diagnostic]:
    """``context.X`` against ``@context`` and ``params.X`` against ``@param``."""
    out = []
    used: dict[str, int] = {}
    for i, name in scan.field_uses("context"):
        used.setdefault(name, i)
    header_line = meta.tag_lines.get("context", 1)
    for name in meta.context_fields:
        if name not in used:
            message = f"context field `{name}` is declared in @context but never used"
            out.append(Diagnostic("warning", header_line, 1, message))
    for name, i in used.items():
        if name not in meta.context_fields:
            message = f"context field `{name}` is not declared in @context; add it to the header"
            out.append(_at(scan, "info", i, message))
    declared = [p.name for p in meta.params]
    for i, name in scan.field_uses("params"):
        if name not in declared:
            message = (
                f"`params.{name}` is not declared{_suggest(name, declared)} "
                f"(add `-- @param {name} DEFAULT MIN..MAX` to the header)"
            )
            out.append(_at(scan, "error", i, message))
    return out


def _literal_type(scan: TokenScan, k: int) -> str | None:
    """Lua type of a lone literal value at ``k`` (followed by `,` `;` or `}`), else None."""
    if scan.texts[k + 1] not in (",", ";", "}"):
        return None
    if scan.texts[k] in ("true", "false"):
        return "boolean"
    return scan.kinds[k] if scan.kinds[k] in ("number", "string") else None


def _table_keys(scan: TokenScan, i: int) -> list[int]:
    """Indices of the ``NAME =`` keys of the table constructor that holds key index ``i``."""
    texts, match = scan.texts, scan.match
    k = i - 1
    while k >= 0 and texts[k] != "{":
        if texts[k] in ("(", "["):
            return []
        k = match[k] - 1 if texts[k] in (")", "]", "}") else k - 1
    if k < 0:
        return []
    keys = []
    j, close = k + 1, match[k]
    while j < close:
        if texts[j] in ("(", "[", "{"):
            j = match[j]
        elif texts[j] == "function":
            j = scan.function_end.get(j, close)
        elif texts[j + 1] == "=" and texts[j - 1] in _TABLE_ITEM_START and scan.kinds[j] == "name":
            keys.append(j)
        j += 1
    return keys


def _check_actions(scan: TokenScan) -> list[Diagnostic]:
    texts = scan.texts
    out = []
    for i in scan.where.get("action", ()):
        if texts[i + 1] != "=" or scan.kinds[i + 2] != "string" or texts[i - 1] == ":":
            continue
        action = string_value(scan.tokens[i + 2])
        if action not in contract.ACTIONS:
            names = ", ".join(contract.ACTION_NAMES)
            hint = _suggest(action, contract.ACTION_NAMES)
            message = f'unknown action "{action}"{hint} (actions: {names})'
            out.append(_at(scan, "error", i + 2, message))
            continue
        if texts[i - 1] not in _TABLE_ITEM_START:
            continue
        fields = contract.ACTIONS[action]
        allowed = ", ".join(fields)
        for k in _table_keys(scan, i):
            key = texts[k]
            if key == "action":
                continue
            if key not in fields:
                hint = _suggest(key, list(fields))
                message = f"`{key}` is not a field of {action}{hint} (allowed: {allowed})"
                out.append(_at(scan, "error", k, message))
            elif (got := _literal_type(scan, k + 2)) not in (None, fields[key]):
                message = f"`{key}` of {action} must be a {fields[key]}, not a {got}"
                out.append(_at(scan, "error", k + 2, message))
    return out


def _check_forbidden(scan: TokenScan) -> list[Diagnostic]:
    texts = scan.texts
    out = []
    local = scan.local_names()
    for name in FORBIDDEN_GLOBALS:
        if name in local:
            continue
        for i in scan.where.get(name, ()):
            if texts[i - 1] in (".", ":", "::", "goto") or (
                texts[i + 1] == "=" and texts[i - 1] in _TABLE_ITEM_START
            ):
                continue
            hint = _FORBIDDEN_HINTS.get(name, "")
            message = f"`{name}` is not available in the strategy sandbox{hint}"
            out.append(_at(scan, "error", i, message))
    for i in scan.where.get("dump", ()):
        if texts[i - 1] == "." and texts[i - 2] == "string" and texts[i - 3] not in (".", ":"):
            message = "`string.dump` is not available in the strategy sandbox"
            out.append(_at(scan, "error", i - 2, message))
    return out


_HUGE_COUNTS = {"rep": "string.rep", "move": "table.move", "concat": "table.concat"}
_PATTERN_FUNCTIONS = ("find", "match", "gmatch", "gsub")
_BACKTRACKING = re.compile(r"(?<!%)[*+-]")


def _is_huge(scan: TokenScan, first: int, last: int) -> bool:
    """An argument list with math.maxinteger / math.huge, a shift, or a number >= 2^24."""
    texts, kinds = scan.texts, scan.kinds
    for k in range(first, last):
        text = texts[k]
        if text in ("maxinteger", "huge") and texts[k - 1] == "." and texts[k - 2] == "math":
            return True
        if text == "<<":
            return True
        if kinds[k] == "number":
            try:
                if float(text) >= 2**24:
                    return True
            except ValueError:
                continue
    return False


def _check_c_call_bombs(scan: TokenScan) -> list[Diagnostic]:
    """Calls that the sandbox's C-call guards will refuse for sure (warnings: the values are
    only known when the strategy runs)."""
    texts = scan.texts
    out = []
    for name, label in _HUGE_COUNTS.items():
        for i in scan.where.get(name, ()):
            call = texts[i - 1] in (".", ":") and texts[i + 1] == "("
            if call and _is_huge(scan, i + 2, scan.match[i + 1]):
                message = (
                    f"`{label}` with a huge count always fails in the sandbox (limits: "
                    "16 MiB results, 1,000,000 elements)"
                )
                out.append(_at(scan, "warning", i, message))
    for name in _PATTERN_FUNCTIONS:
        for i in scan.where.get(name, ()):
            if texts[i - 1] not in (".", ":") or texts[i + 1] != "(":
                continue
            for k in range(i + 2, scan.match[i + 1]):
                if scan.kinds[k] == "string":
                    items = len(_BACKTRACKING.findall(string_value(scan.tokens[k])))
                    if items >= 3:
                        message = (
                            f"pattern with {items} repetition items (*, +, -): the sandbox "
                            "refuses it on all but very short subjects (worst case grows as "
                            "length^items)"
                        )
                        out.append(_at(scan, "warning", k, message))
    return out


def validate_strategy(code: str, filename: str = "strategy.lua") -> list[Diagnostic]:
    """All diagnostics for a strategy's code, sorted by line and column.

    Never runs the code and never raises for any input text. Code larger than 256 KiB gets a
    single error and no further checks."""
    encoded = code.encode("utf-8", "surrogatepass")
    if len(encoded) > MAX_CODE_BYTES:
        size = len(encoded) / 1024
        message = f"the strategy is {size:.0f} KiB; the limit is {MAX_CODE_BYTES // 1024} KiB"
        return [Diagnostic("error", 1, 1, message)]
    meta, problems = parse_metadata(code)
    scan = TokenScan(tokenize(code))
    out = [Diagnostic(p.severity, p.line, 1, p.message) for p in problems]
    syntax = _syntax_error(encoded, filename, code.split("\n"), scan)
    out += syntax
    out += _check_required_functions(scan, compiled=not syntax)
    out += _check_indicators(scan, meta)
    out += _check_nil_guards(scan)
    out += _check_declarations(scan, meta)
    out += _check_actions(scan)
    out += _check_forbidden(scan)
    out += _check_c_call_bombs(scan)
    return sorted(out, key=lambda d: (d.line, d.column))
