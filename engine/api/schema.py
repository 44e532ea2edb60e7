"""Pydantic base classes and shared field types for the API's request models.

Why pydantic v2: one class per input gives the validator (strict: no ``"30"`` for a number,
no ``null`` for a missing field, unknown fields refused) *and*, through
``model_json_schema``, the JSON Schema the OpenAPI document shows — one source for both.
A hand-written schema table would need its own validator and would drift.

Conventions for new routes:

* a body model subclasses :class:`Body` (strict, ``extra="forbid"``), a query model
  :class:`Query` (values arrive as text: whole numbers are parsed from ASCII digits only), a
  path model :class:`PathParams`;
* ids use the shared ``Annotated`` types below (``RunnerId``, ``StrategyName``), whose
  patterns are anchored and checked as a full match (``^...$`` in JSON Schema, and the
  validator matches the whole value, so ``"abc\\n"`` is refused);
* bounds go in ``Field(ge=..., le=..., max_length=...)`` so they appear in the document.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from engine.data.symbols import SYMBOLS
from engine.data.timeframes import Timeframe
from engine.live.keys import EVENT_TYPES

RUNNER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
STRATEGY_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
#: A collected source: ``sim`` or a ccxt exchange id (CSV sources are imported, not collected).
COLLECT_SOURCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$"
#: Redis stream ids: milliseconds and sequence, each at most 19 digits (fits in 64 bits).
STREAM_ID_PATTERN = r"^[0-9]{1,19}(-[0-9]{1,19})?$"

#: What each id pattern means, for messages ("should match pattern ..." helps nobody).
PATTERN_HELP = {
    RUNNER_ID_PATTERN: "is not a valid runner id: use 1-64 letters, digits, '_', '-' or '.', "
    "starting with a letter or digit",
    STRATEGY_NAME_PATTERN: "is not a valid strategy name: use 1-64 letters, digits, '_' or '-', "
    "starting with a letter",
    COLLECT_SOURCE_PATTERN: "is not a collectable source: use sim or an exchange id like "
    "binanceus (csv sources are imported on the Data page, not collected)",
    STREAM_ID_PATTERN: "is not a stream id: use <milliseconds>-<sequence> like 0-0 or "
    "1700000000000-0 (ASCII digits, at most 19 each)",
}

RunnerId = Annotated[str, Field(pattern=RUNNER_ID_PATTERN, examples=["btc-ema"])]
StrategyName = Annotated[str, Field(pattern=STRATEGY_NAME_PATTERN, examples=["ema_crossover"])]
StreamId = Annotated[str, Field(pattern=STREAM_ID_PATTERN, examples=["0-0"])]


def _whole_number(value: Any) -> Any:
    """Query text to int: ASCII digits only (``30``; not ``30.0``, ``٣``, `` 30``)."""
    if isinstance(value, str):
        if not re.fullmatch(r"-?[0-9]{1,18}", value):
            raise ValueError(f"should be a whole number like 30 (got {value!r})")
        return int(value)
    return value


#: A whole number in a query string (the model's ``Field`` adds the range).
QueryInt = Annotated[int, BeforeValidator(_whole_number)]

if TYPE_CHECKING:
    SymbolName = str
    TimeframeName = str
    EventType = str
else:
    SymbolName = Literal[tuple(s.symbol for s in SYMBOLS)]
    TimeframeName = Literal[tuple(t.value for t in Timeframe)]
    EventType = Literal[EVENT_TYPES]


class Body(BaseModel):
    """A JSON request body: strict types, unknown fields refused."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


class Query(BaseModel):
    """Query-string parameters: unknown names refused, strict types; whole numbers are
    declared as :data:`QueryInt` (``count=30`` is 30, ``count=3.0`` is refused)."""

    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


class PathParams(BaseModel):
    """Path parameters (always text)."""

    model_config = ConfigDict(strict=True, extra="forbid")


class NoQuery(Query):
    """No query parameters (any given is refused)."""


class EmptyBody(Body):
    """An optional body that carries nothing (``{}``)."""


def absent(*, schema: dict[str, Any] | None = None, **constraints: Any) -> Any:
    """A field that may be left out (then None) but, when given, must have its type: ``null``
    is refused and the document shows no default. Annotate it with the plain type; ``schema``
    adds JSON Schema keywords (the validator must enforce them too)."""

    def edit(found: dict[str, Any]) -> None:
        found.pop("default", None)
        found.update(schema or {})

    return Field(None, json_schema_extra=edit, **constraints)


def problems(exc: ValidationError, where: str) -> list[dict[str, Any]]:
    """One ``{"field", "message"}`` per error, the field as a dotted path under ``where``
    (``body.params.fast``), the message in plain words with the rejected value."""
    found: list[dict[str, Any]] = []
    for item in exc.errors(include_url=False):
        parts = list(item["loc"])
        if parts and parts[-1] in _UNION_TAGS:  # one member of `int | float` failed
            parts.pop()
            item = {**item, "type": "number", "msg": "should be a number"}
        entry = {"field": ".".join(str(p) for p in (where, *parts)), "message": _message(item)}
        if entry not in found:
            found.append(entry)
    return found


_UNION_TAGS = {"int", "float", "str", "bool"}


def _message(item: Any) -> str:
    kind = item["type"]
    value = item.get("input")
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field; remove it (see /api/openapi.json)"
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    text = str(item["msg"])
    if kind == "string_pattern_mismatch":
        pattern = str((item.get("ctx") or {}).get("pattern"))
        help_text = PATTERN_HELP.get(pattern, f"should match the pattern {pattern}")
        return f"{shown} {help_text}"
    if kind == "value_error":
        return text.removeprefix("Value error, ")
    if text.startswith("Input should"):
        text = "should" + text[len("Input should") :]
    elif text.startswith("String should"):
        text = "should" + text[len("String should") :]
    return f"{text} (got {shown})"
