"""No-lookahead check: the trades of a vectorized backtest against the same bars replayed one
by one through the live path (incremental indicators, ``K.step``). A strategy (or an
indicator) that peeks at later bars trades differently in the replay; the check reports
"identical" or the first difference. The replay itself is wired in ``jobs/lookahead.py``
(it needs ``engine.live``); this module only compares.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

FIELDS = ("side", "entry_time", "exit_time", "entry_price", "exit_price", "quantity", "exit_reason")
REL_TOL = 1e-9


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=REL_TOL, abs_tol=1e-9)
    return bool(a == b)


def compare_trades(
    vectorized: Sequence[Mapping[str, Any]], replayed: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """``{"identical": bool, "trades": n, "first_difference": None | {...}}``; trades closed
    at the end of the data are left out (a live runner never reaches an end)."""
    ref = [t for t in vectorized if t.get("exit_reason") != "end_of_data"]
    got = [t for t in replayed if t.get("exit_reason") != "end_of_data"]
    for i, (a, b) in enumerate(zip(ref, got, strict=False)):
        for name in FIELDS:
            if not _same(a.get(name), b.get(name)):
                return {
                    "identical": False,
                    "trades": len(ref),
                    "first_difference": {
                        "trade": i,
                        "field": name,
                        "vectorized": a.get(name),
                        "replayed": b.get(name),
                        "entry_time": a.get("entry_time"),
                    },
                }
    if len(ref) != len(got):
        i = min(len(ref), len(got))
        longer = ref if len(ref) > len(got) else got
        return {
            "identical": False,
            "trades": len(ref),
            "first_difference": {
                "trade": i,
                "field": "count",
                "vectorized": len(ref),
                "replayed": len(got),
                "entry_time": longer[i].get("entry_time"),
            },
        }
    return {"identical": True, "trades": len(ref), "first_difference": None}
