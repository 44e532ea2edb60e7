"""The publisher's JSON: what the standard library writes, except NaN/inf as null and numpy
numbers as numbers."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import numpy as np

from engine.live.publisher import _dumps


def test_dumps_matches_the_standard_library_and_writes_valid_json() -> None:
    value = {
        "runner_id": "r1",
        "price": 42_000.123456789,
        "bars": 2**53 + 1,
        "flags": [True, False, None],
        "nested": {"logs": ['a "quoted" line', "ünïcode", "tab\tand\nnewline"]},
        "when": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC),
        "numpy": [np.float64(1.5), np.int64(7)],
    }
    plain = {**value, "numpy": [1.5, 7]}  # numpy numbers are numbers (the stdlib: "7")
    expected = json.dumps(plain, separators=(",", ":"), default=str)
    assert json.loads(_dumps(value)) == json.loads(expected)
    assert json.loads(_dumps(value))["when"] == str(value["when"])
    assert json.loads(_dumps({"x": math.nan, "y": math.inf})) == {"x": None, "y": None}
    huge = 10**30  # beyond 64 bits: the standard library's fallback
    assert json.loads(_dumps({"n": huge})) == {"n": huge}
