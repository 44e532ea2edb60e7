"""A small Lua 5.4 tokenizer, and an index of token structure, for :mod:`engine.strategy.validator`.

It is not a parser: :func:`tokenize` turns source text into tokens with 1-based line and
column numbers and skips whitespace and comments, so that checks can scan token sequences
without being fooled by ``--`` inside strings, ``indicators.ema`` inside a comment, or brackets
inside long strings. :class:`TokenScan` adds what most checks need, computed in one pass:
matching brackets, function extents and definitions, and where each token text occurs.
Malformed input never raises: an unterminated string or long bracket runs to the end of its
line or of the file, and a character Lua would reject becomes an ``"error"`` token (the Lua
compiler reports the real syntax error).
"""

from __future__ import annotations

import re
from typing import NamedTuple

KEYWORDS: frozenset[str] = frozenset(
    {
        *("and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto"),
        *("if", "in", "local", "nil", "not", "or", "repeat", "return", "then", "true"),
        *("until", "while"),
    }
)

#: Binary and unary operators that fail on a nil operand (comparisons included, ``==`` not).
ARITHMETIC: frozenset[str] = frozenset(
    ("+", "-", "*", "/", "//", "%", "^", "..", "<", ">", "<=", ">=", "&", "|", "~", "<<", ">>")
)

_TOKEN = re.compile(
    r"""
      (?P<space>[ \t\r\n\f\v]+)
    | (?P<comment>--(?:\[(?P<ceq>=*)\[.*?(?:\](?P=ceq)\]|\Z)|[^\n]*))
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<number>0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?
                |(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    | (?P<longstring>\[(?P<seq>=*)\[.*?(?:\](?P=seq)\]|\Z))
    | (?P<string>"(?:[^"\\\n]+|\\z\s*|\\.)*"?|'(?:[^'\\\n]+|\\z\s*|\\.)*'?)
    | (?P<op>\.\.\.|\.\.|==|~=|<=|>=|<<|>>|//|::|[-+*/%^\#&~|<>=(){}\[\];:,.])
    | (?P<error>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_NEWLINE = re.compile(r"\n")
_LONG_OPEN = re.compile(r"\[=*\[\n?")


class Token(NamedTuple):
    """One token: ``kind`` is name, keyword, number, string, op or error.

    ``text`` is the token exactly as written (strings keep their quotes or long brackets);
    ``line`` and ``column`` are 1-based, the column counted in characters.
    """

    kind: str
    text: str
    line: int
    column: int


def tokenize(code: str) -> list[Token]:
    """Split Lua source into tokens, skipping whitespace and comments."""
    newlines = [m.start() for m in _NEWLINE.finditer(code)]
    count = len(newlines)
    passed = 0  # newlines before the current token
    tokens: list[Token] = []
    append = tokens.append
    for match in _TOKEN.finditer(code):
        kind = match.lastgroup
        if kind == "space" or kind == "comment" or kind is None:
            continue
        start = match.start()
        while passed < count and newlines[passed] < start:
            passed += 1
        column = start - (newlines[passed - 1] if passed else -1)
        text = match.group()
        if kind == "name":
            if text in KEYWORDS:
                kind = "keyword"
        elif kind == "longstring":
            kind = "string"
        append(Token(kind, text, passed + 1, column))
    return tokens


def string_value(token: Token) -> str:
    """The contents of a string token, with escape sequences left as written."""
    text = token.text
    if text[0] in "\"'":
        return text[1:-1] if len(text) > 1 and text[-1] == text[0] else text[1:]
    opening = _LONG_OPEN.match(text)
    start = opening.end() if opening else 0
    close = "]" + "=" * (text.index("[", 1) - 1) + "]"
    return text[start : -len(close)] if text.endswith(close) else text[start:]


class TokenScan:
    """Tokens plus the structure the checks share: bracket pairs, function extents, and the
    positions of every token text. Two sentinel tokens at the end (and ``texts[-1]``) make
    look-ahead and look-behind safe without bounds checks."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        n = self.n = len(tokens)
        self.texts = [t.text for t in tokens] + ["", ""]
        self.kinds = [t.kind for t in tokens] + ["eof", "eof"]
        self.where: dict[str, list[int]] = {}
        self.match = list(range(n + 2))  # bracket index -> its partner (unclosed: last token)
        self.function_end: dict[int, int] = {}  # `function` keyword index -> its `end`
        # function definitions by name -> token index: global ones outside any function,
        # global ones inside another function, and local ones
        self.globals: dict[str, int] = {}
        self.nested: dict[str, int] = {}
        self.locals: dict[str, int] = {}
        self.owner: list[int] = []  # token index -> innermost enclosing `function` (-1: none)
        brackets: list[int] = []
        blocks: list[int] = []
        open_functions = [-1]
        texts, kinds, where = self.texts, self.kinds, self.where
        pairs = {")": "(", "]": "[", "}": "{"}
        for i in range(n):
            text = texts[i]
            where.setdefault(text, []).append(i)
            self.owner.append(open_functions[-1])
            if kinds[i] == "op":
                if text in "([{":
                    brackets.append(i)
                elif text in pairs and brackets and texts[brackets[-1]] == pairs[text]:
                    opened = brackets.pop()
                    self.match[opened], self.match[i] = i, opened
            elif kinds[i] == "keyword":
                if text == "function":
                    self._note_definition(i, len(open_functions) == 1)
                    open_functions.append(i)
                if text in ("function", "if", "do", "repeat"):
                    blocks.append(i)
                elif text in ("end", "until") and blocks:
                    opened = blocks.pop()
                    if texts[opened] == "function":
                        self.function_end[opened] = i
                        open_functions.pop()
            elif texts[i + 1] == "=" and texts[i + 2] == "function":
                self._note_definition(i, len(open_functions) == 1)
        for i in brackets:
            self.match[i] = n - 1
        for i in blocks:
            if texts[i] == "function":
                self.function_end[i] = n - 1

    def _note_definition(self, i: int, top_level: bool) -> None:
        """Record a ``function NAME(`` or ``NAME = function`` definition."""
        texts = self.texts
        if texts[i] == "function":
            if self.kinds[i + 1] != "name" or texts[i + 2] != "(":
                return
            name = texts[i + 1]
        elif self.kinds[i] != "name" or texts[i - 1] in (".", ":", ","):
            return
        else:
            name = texts[i]
        before = texts[i - 1]
        if before == "local":
            self.locals.setdefault(name, i)
        else:
            (self.globals if top_level else self.nested).setdefault(name, i)

    def function_around(self, i: int) -> tuple[int, int]:
        """Token range of the innermost function containing token ``i`` (else the file)."""
        start = self.owner[i]
        return (0, self.n) if start < 0 else (start, self.function_end[start])

    def field_uses(self, table: str) -> list[tuple[int, str]]:
        """``(token index, field)`` for each ``table.FIELD`` or ``table["FIELD"]``."""
        texts, kinds = self.texts, self.kinds
        uses = []
        for i in self.where.get(table, ()):
            if kinds[i] != "name" or texts[i - 1] in (".", ":"):
                continue
            if texts[i + 1] == "." and kinds[i + 2] == "name":
                uses.append((i + 2, texts[i + 2]))
            elif texts[i + 1] == "[" and kinds[i + 2] == "string" and texts[i + 3] == "]":
                uses.append((i + 2, string_value(self.tokens[i + 2])))
        return uses

    def expression_end(self, k: int) -> int:
        """Index of the token that ends the expression starting at ``k`` (a `,` between items,
        or whatever starts the next statement)."""
        texts, kinds = self.texts, self.kinds
        operand = False
        while k < self.n:
            text, kind = texts[k], kinds[k]
            if kind == "op" and text in "([{":
                k, operand = self.match[k] + 1, True
                continue
            if text == "function":
                k, operand = self.function_end.get(k, self.n) + 1, True
                continue
            if kind in ("name", "number", "string") or text in ("nil", "true", "false", "..."):
                if operand and kind != "string":  # two operands in a row: a new statement
                    return k
                operand = True
            elif text in ARITHMETIC or text in ("and", "or", "not", "==", "~=", "#", ".", ":"):
                operand = False
            else:
                return k
            k += 1
        return k

    def local_names(self) -> set[str]:
        """Names declared as locals, function parameters or loop variables anywhere."""
        texts, kinds = self.texts, self.kinds
        names: set[str] = set()
        starts = [k + 1 for k in self.where.get("local", ()) if texts[k + 1] != "function"]
        starts += [k + 1 for k in self.where.get("for", ())]
        for k in self.where.get("function", ()):
            k += 1
            while kinds[k] == "name" or texts[k] in (".", ":"):
                if texts[k - 1] == "local":
                    names.add(texts[k])
                k += 1
            if texts[k] == "(":
                starts.append(k + 1)
        for k in starts:
            while kinds[k] == "name":
                names.add(texts[k])
                k += 4 if texts[k + 1] == "<" else 1  # skip an attribute: x <const>
                if texts[k] != ",":
                    break
                k += 1
        return names
