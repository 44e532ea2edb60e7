"""Data page builders: coverage lanes with gaps, candles, progress bars, session rows."""

from __future__ import annotations

from components.data_views import (
    COVERED,
    GAP,
    candle_figure,
    coverage_figure,
    coverage_rows,
    make_progress_list,
    session_rows,
)

MIN = 60_000
ROW = {
    "source": "csv:alt",
    "symbol": "ALT",
    "timeframe": "1m",
    "first": 0,
    "last": 100 * MIN,
    "bars": 97,
    "gaps": 2,
    "missing_bars": 3,
    "status": "stored",
}


def test_coverage_lanes_split_at_each_gap_and_mark_it() -> None:
    gaps = {"csv:alt|ALT|1m": [[10 * MIN, 11 * MIN, 2], [50 * MIN, 50 * MIN, 1]]}
    figure = coverage_figure([ROW], gaps, {"1m": MIN})
    stored, holes, ticks = figure["data"]
    assert stored["line"]["color"] == COVERED and holes["line"]["color"] == GAP
    # stored: 0..9, 12..49, 51..100 minutes; gaps: [10, 12) and [50, 51)
    assert stored["x"] == [0, 9 * MIN, None, 12 * MIN, 49 * MIN, None, 51 * MIN, 100 * MIN, None]
    assert holes["x"] == [10 * MIN, 12 * MIN, None, 50 * MIN, 51 * MIN, None]
    assert ticks["x"] == [10 * MIN, 50 * MIN] and ticks["customdata"] == [2, 1]
    assert figure["layout"]["yaxis"]["categoryarray"] == ["ALT 1m · csv:alt"]


def test_coverage_rows_and_empty_figure() -> None:
    (row,) = coverage_rows([ROW])
    assert row["key"] == "csv:alt|ALT|1m" and row["first"] == "1970-01-01 00:00"
    assert row["missing"] == 3 and row["status"] == "stored"
    empty = coverage_figure([], {}, {})
    assert empty["data"] == [] and empty["layout"]["annotations"]


def test_candle_figure_colors_volume_by_direction() -> None:
    bars = [
        {"time": 0, "open": 1.0, "high": 2.0, "low": 0.5, "close": 1.5, "volume": 10.0},
        {"time": MIN, "open": 1.5, "high": 1.6, "low": 1.0, "close": 1.1, "volume": 5.0},
    ]
    candles, volume = candle_figure(bars, "t")["data"]
    assert candles["close"] == [1.5, 1.1] and volume["y"] == [10.0, 5.0]
    assert volume["marker"]["color"][0] != volume["marker"]["color"][1]


def test_progress_list_and_session_rows() -> None:
    session = {
        "id": 7,
        "kind": "download",
        "symbol": "BTCUSDT",
        "timeframe": "1m",
        "source": "binanceus",
        "status": "running",
        "progress": 0.25,
        "stage": "2,500 / 10,000 bars",
        "started_at": "2026-01-01T00:00:00+00:00",
        "bars_added": 2500,
        "gaps_found": 3,
        "gaps_filled": 2,
        "unfilled": [[1, 1, 1]],
        "error": None,
    }
    (item,) = make_progress_list([session])
    progress = item.children[1]
    assert progress.value == 25.0 and progress.label == "25%" and progress.animated
    (row,) = session_rows([session])
    assert row["key"] == "7" and row["gaps"] == "3 found / 2 filled / 1 left"
    assert "No data jobs" in make_progress_list([])[0].children
