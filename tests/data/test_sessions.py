"""Gap detection against the expected grid of each market's trading sessions."""

from __future__ import annotations

import numpy as np

from engine.data.bars import detect_gaps
from engine.data.csv_io import load_csv
from engine.data.sessions import calendar_for, expected_times, find_gaps
from engine.data.timeframes import DAY_MS

SATURDAY, SUNDAY = 5, 6


def weekday(ms: int) -> int:
    return int((ms // DAY_MS + 3) % 7)  # 1970-01-01 was a Thursday; Monday = 0


def test_altbtc_has_538_gaps_like_the_plain_detector(shared_data) -> None:
    series = load_csv(shared_data / "ALTBTC-1m.csv")
    assert calendar_for(series.symbol, "1m", series.timestamp) == "24/7"
    report = find_gaps(series.timestamp, "1m", "24/7")
    assert len(report.gaps) == 538
    assert report.gaps == detect_gaps(series)  # the independent diff-based detector
    assert report.expected == report.present + report.missing


def test_goog_daily_has_no_weekend_gaps(shared_data) -> None:
    series = load_csv(shared_data / "GOOG.csv")
    assert calendar_for("GOOG", "1d", series.timestamp) == "weekdays"
    report = find_gaps(series.timestamp, "1d", "weekdays")
    assert len(detect_gaps(series)) == 463  # what `data info` reported before
    missing = [g.start_ms + k * DAY_MS for g in report.gaps for k in range(g.missing_bars)]
    assert missing and all(weekday(t) < SATURDAY for t in missing)
    # what is left are exchange holidays: ~9 per year over 8.5 years, each one or two days
    assert 60 <= len(report.gaps) <= 90 and max(g.missing_bars for g in report.gaps) <= 2


def test_eurusd_hourly_has_no_weekend_gaps(shared_data) -> None:
    series = load_csv(shared_data / "EURUSD.csv")
    assert calendar_for("EURUSD", "1h", series.timestamp) == "fx"
    report = find_gaps(series.timestamp, "1h", "fx")
    weekend = set(
        expected_times(int(series.timestamp[0]), int(series.timestamp[-1]), "1h", "24/7").tolist()
    ) - set(
        expected_times(int(series.timestamp[0]), int(series.timestamp[-1]), "1h", "fx").tolist()
    )
    missing = {g.start_ms + k * 3_600_000 for g in report.gaps for k in range(g.missing_bars)}
    assert not missing & weekend
    plain = detect_gaps(series, ignore_weekends=True)  # the bars module's FX-weekend rule
    assert report.gaps == plain


def test_calendar_from_data_for_unknown_symbols() -> None:
    monday = 4 * DAY_MS + 7 * 7 * DAY_MS
    weekdays = np.array([monday + d * DAY_MS for d in range(5)])
    assert calendar_for("XYZ", "1d", weekdays) == "weekdays"
    assert calendar_for("XYZ", "1d", np.r_[weekdays, monday + 5 * DAY_MS]) == "24/7"
    nights = monday + np.arange(0, 24) * 3_600_000
    assert calendar_for("XYZ", "1h", nights) == "fx"


def test_us_equity_intraday_grid_follows_new_york_hours() -> None:
    # 2024-07-01 (a Monday, New York on EDT = UTC-4): 09:30-16:00 local = 13:30-20:00 UTC
    start = 1_719_792_000_000
    grid = expected_times(start, start + DAY_MS - 1, "30m", "weekdays")
    hours = sorted({(int(t) % DAY_MS) / 3_600_000 for t in grid})
    assert hours[0] == 13.5 and hours[-1] == 19.5 and len(grid) == 13
    # 2024-01-08 (EST = UTC-5): 14:30-21:00 UTC
    winter = 1_704_672_000_000
    grid = expected_times(winter, winter + DAY_MS - 1, "1h", "weekdays")
    assert [(int(t) % DAY_MS) // 3_600_000 for t in grid] == [14, 15, 16, 17, 18, 19, 20]
