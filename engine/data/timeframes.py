"""Bar intervals (timeframes), durations and UTC time formatting.

All times in the engine are integers: milliseconds since the Unix epoch, UTC. A bar's timestamp
is its open time, and bars of a timeframe are aligned to the epoch (1d bars open at 00:00 UTC,
4h bars at 00:00, 04:00, ...).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import numpy as np

from engine.errors import ConfigError

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS

_UNIT_MS = {
    "m": MINUTE_MS,
    "min": MINUTE_MS,
    "mins": MINUTE_MS,
    "minute": MINUTE_MS,
    "minutes": MINUTE_MS,
    "h": HOUR_MS,
    "hr": HOUR_MS,
    "hour": HOUR_MS,
    "hours": HOUR_MS,
    "d": DAY_MS,
    "day": DAY_MS,
    "days": DAY_MS,
    "w": WEEK_MS,
    "week": WEEK_MS,
    "weeks": WEEK_MS,
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([A-Za-z]+)\s*$")


class Timeframe(StrEnum):
    """A supported bar interval; the value is the short form used everywhere ("1m", "4h")."""

    M1 = "1m"
    M5 = "5m"
    M15 = "15m"
    M30 = "30m"
    H1 = "1h"
    H4 = "4h"
    H8 = "8h"
    D1 = "1d"

    @property
    def ms(self) -> int:
        """Duration of one bar in milliseconds."""
        return int(self.value[:-1]) * _UNIT_MS[self.value[-1]]


_BY_MS = {tf.ms: tf for tf in Timeframe}
_VALID = ", ".join(tf.value for tf in Timeframe)


def parse_duration(text: str) -> int:
    """Parse a duration such as ``"90m"``, ``"12h"``, ``"7d"`` or ``"2w"`` into milliseconds.

    Units are minutes (m, min), hours (h, hr), days (d) and weeks (w), case-insensitive except
    that an upper-case ``M`` (months in some tools) is rejected as ambiguous.
    Raises ConfigError for anything else, including zero.
    """
    match = _DURATION_RE.match(text) if isinstance(text, str) else None
    if match is None:
        raise ConfigError(
            f"invalid duration {text!r}: expected a number and a unit, e.g. 90m, 12h, 7d, 2w"
        )
    count, unit = int(match.group(1)), match.group(2)
    if unit == "M":
        raise ConfigError(
            f"invalid duration {text!r}: 'M' is ambiguous (months are not supported); "
            "use m for minutes"
        )
    unit_ms = _UNIT_MS.get(unit.lower())
    if unit_ms is None:
        raise ConfigError(
            f"invalid duration {text!r}: unknown unit {unit!r}; use m, h, d or w (e.g. 7d)"
        )
    if count == 0:
        raise ConfigError(f"invalid duration {text!r}: must be greater than zero")
    return count * unit_ms


def parse_timeframe(text: str) -> Timeframe:
    """Parse a timeframe such as ``"1m"``, ``"4h"``, ``"1d"``; equivalent spellings of a
    supported interval (``"60m"``, ``"1H"``, ``"24h"``) are accepted too.

    Raises ConfigError listing the valid values.
    """
    try:
        timeframe = _BY_MS.get(parse_duration(text))
    except ConfigError:
        timeframe = None
    if timeframe is not None:
        return timeframe
    raise ConfigError(f"invalid timeframe {text!r}: use one of {_VALID}")


def infer_timeframe(timestamps_ms: np.ndarray) -> Timeframe | None:
    """The timeframe whose duration equals the most common spacing of sorted timestamps.

    Gaps (weekends, missing minutes) do not matter as long as most neighbours are one bar
    apart. Returns None for fewer than two bars or an unsupported spacing (e.g. monthly bars).
    """
    diffs = np.diff(np.asarray(timestamps_ms, dtype=np.int64))
    diffs = diffs[diffs > 0]
    if diffs.size == 0:
        return None
    values, counts = np.unique(diffs, return_counts=True)
    return _BY_MS.get(int(values[np.argmax(counts)]))


def format_timestamp(ms: int) -> str:
    """``YYYY-MM-DD HH:MM:SS`` (UTC) for a timestamp in ms, with ``.fff`` if it has ms."""
    moment = _EPOCH + timedelta(milliseconds=int(ms))
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}.{ms % 1000:03d}" if ms % 1000 else text
