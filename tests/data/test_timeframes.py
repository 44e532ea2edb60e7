"""Timeframes, durations and timeframe inference on the real files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.data.timeframes import (
    Timeframe,
    format_timestamp,
    infer_timeframe,
    parse_duration,
    parse_timeframe,
)
from engine.errors import ConfigError
from tests.conftest import reference_rows

MIN = 60_000


def test_members_and_durations() -> None:
    expected = {
        "1m": 1,
        "5m": 5,
        "15m": 15,
        "30m": 30,
        "1h": 60,
        "4h": 240,
        "8h": 480,
        "1d": 1440,
    }
    assert {tf.value: tf.ms // MIN for tf in Timeframe} == expected
    assert all(tf.ms % MIN == 0 for tf in Timeframe)
    assert Timeframe.H4 == "4h" and f"{Timeframe.D1}" == "1d"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1m", Timeframe.M1),
        (" 15m ", Timeframe.M15),
        ("1H", Timeframe.H1),
        ("60m", Timeframe.H1),
        ("240m", Timeframe.H4),
        ("24h", Timeframe.D1),
        ("1d", Timeframe.D1),
        (Timeframe.H8, Timeframe.H8),
    ],
)
def test_parse_timeframe(text: str, expected: Timeframe) -> None:
    assert parse_timeframe(text) is expected


@pytest.mark.parametrize("text", ["2m", "1M", "", "1w", "hourly", "0h", "-1h", "1.5h"])
def test_parse_timeframe_rejects_and_lists_valid_values(text: str) -> None:
    with pytest.raises(ConfigError, match="1m, 5m, 15m, 30m, 1h, 4h, 8h, 1d"):
        parse_timeframe(text)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [("7d", 7 * 1440), ("12h", 720), ("90m", 90), ("2w", 2 * 7 * 1440), ("3 days", 3 * 1440)],
)
def test_parse_duration(text: str, minutes: int) -> None:
    assert parse_duration(text) == minutes * MIN


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("7", "number and a unit"),
        ("d", "number and a unit"),
        ("-1d", "number and a unit"),
        ("1y", "unknown unit"),
        ("1M", "ambiguous"),
        ("0d", "greater than zero"),
    ],
)
def test_parse_duration_rejects(text: str, detail: str) -> None:
    with pytest.raises(ConfigError, match=detail):
        parse_duration(text)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("ALTBTC-1m", Timeframe.M1), ("EURUSD", Timeframe.H1), ("GOOG", Timeframe.D1)],
)
def test_infer_timeframe_despite_gaps(shared_data: Path, name: str, expected: Timeframe) -> None:
    ts = np.array([row[0] for row in reference_rows(shared_data / f"{name}.csv")])
    assert infer_timeframe(ts) is expected


def test_infer_timeframe_none_for_monthly_or_too_few(shared_data: Path) -> None:
    monthly = np.array([row[0] for row in reference_rows(shared_data / "BTCUSD.csv")])
    assert infer_timeframe(monthly) is None
    assert infer_timeframe(np.array([MIN])) is None
    assert infer_timeframe(np.array([], dtype=np.int64)) is None


def test_format_timestamp() -> None:
    assert format_timestamp(1_509_836_520_000) == "2017-11-04 23:02:00"
    assert format_timestamp(1_509_836_520_250) == "2017-11-04 23:02:00.250"
    assert format_timestamp(-86_400_000) == "1969-12-31 00:00:00"
