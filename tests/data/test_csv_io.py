"""CSV loading and writing against the real files in ../shared/data and broken fixtures."""

from __future__ import annotations

import csv
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

from engine.data.bars import BarSeries, resample
from engine.data.csv_io import load_csv, write_csv
from engine.data.simulated import generate_history
from engine.data.timeframes import Timeframe
from engine.errors import ConfigError, DataError
from tests.conftest import Row, reference_rows

BROKEN = Path(__file__).resolve().parents[1] / "fixtures" / "csv"
FIELDS = ("open", "high", "low", "close", "volume")


def assert_matches_rows(series: BarSeries, rows: list[Row]) -> None:
    assert len(series) == len(rows)
    assert series.timestamp.tolist() == [r[0] for r in rows]
    for k, name in enumerate(FIELDS, start=1):
        assert getattr(series, name).tolist() == [r[k] for r in rows], name


@pytest.mark.parametrize(
    ("name", "timeframe"),
    [("GOOG", "1d"), ("EURUSD", "1h"), ("BTCUSD", ""), ("ALTBTC-1m", "1m")],
)
def test_loads_shared_files_exactly(shared_data: Path, name: str, timeframe: str) -> None:
    path = shared_data / f"{name}.csv"
    series = load_csv(path)
    assert series.symbol == name
    assert series.timeframe == timeframe
    assert_matches_rows(series, reference_rows(path))
    assert np.array_equal(series.bid, series.close) and np.array_equal(series.ask, series.close)
    assert load_csv(path, symbol="X", timeframe=timeframe or None).symbol == "X"


def _iso(ms: int, offset_hours: int = 0, zulu: bool = False) -> str:
    zone = timezone(timedelta(hours=offset_hours))
    text = datetime.fromtimestamp(ms / 1000, tz=zone).isoformat()
    return text.replace("+00:00", "Z") if zulu else text


TIME_VARIANTS = {
    "epoch_ms": ("timestamp", lambda ms: str(ms)),
    "epoch_s": ("timestamp", lambda ms: str(ms // 1000)),
    "epoch_s_float": ("open_time", lambda ms: f"{ms / 1000:.1f}"),
    "iso_z": ("Date", lambda ms: _iso(ms, zulu=True)),
    "iso_offset": ("DateTime", lambda ms: _iso(ms, offset_hours=2)),
    "iso_negative_offset": ("TIME", lambda ms: _iso(ms, offset_hours=-5)),
}


@pytest.mark.parametrize("variant", sorted(TIME_VARIANTS))
def test_time_formats_and_header_names(shared_data: Path, tmp_path: Path, variant: str) -> None:
    rows = reference_rows(shared_data / "ALTBTC-1m.csv")
    column, render = TIME_VARIANTS[variant]
    path = tmp_path / "ALT.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([column, "Open", "HIGH", "low", "Close", "Volume", "trades"])
        for ms, *values in rows:
            writer.writerow([render(ms), *map(repr, values), 7])
    series = load_csv(path)
    assert (series.symbol, series.timeframe) == ("ALT", "1m")
    assert_matches_rows(series, rows)


def test_bid_ask_columns_are_read(tmp_path: Path) -> None:
    path = tmp_path / "quotes.csv"
    path.write_text(
        "time,open,high,low,close,volume,bid,ask\n"
        "2024-01-01 00:00:00,10,11,9,10.5,100,10.4,10.6\n"
        "2024-01-01 00:01:00,10.5,11,10,10.8,50,10.7,10.9\n"
    )
    series = load_csv(path)
    assert series.bid.tolist() == [10.4, 10.7]
    assert series.ask.tolist() == [10.6, 10.9]
    assert series.bar(1).mid_price == pytest.approx(10.8)


def test_unsorted_rows_are_sorted_and_identical_duplicates_dropped(
    shared_data: Path, tmp_path: Path
) -> None:
    source = shared_data / "GOOG.csv"
    header, *lines = source.read_text().splitlines()
    shuffled = lines[::-1] + lines[10:20]  # reversed, with ten exact duplicate rows
    path = tmp_path / "GOOG.csv"
    path.write_text("\n".join([header, *shuffled]) + "\n\n")
    assert load_csv(path) == load_csv(source)


BROKEN_CASES = [
    ("non_numeric.csv", 4, "close", "'abc'"),
    ("high_below_low.csv", 3, "high", "0.00159"),
    ("empty_value.csv", 5, "volume", "no value"),
    ("bad_time.csv", 3, "time", "2017-11-31 23:03:00"),
    ("blank_line_bad_time.csv", 5, "time", "'nope'"),
    ("negative_volume.csv", 4, "volume", "-10.5"),
    ("zero_price.csv", 3, "open", "0.0"),
    ("duplicate_conflict.csv", 5, "time", "line 3"),
    ("missing_column.csv", 1, "volume", "accepted headers"),
]


@pytest.mark.parametrize(("name", "line", "column", "detail"), BROKEN_CASES)
def test_broken_file_names_line_and_column(name: str, line: int, column: str, detail: str) -> None:
    path = BROKEN / name
    with pytest.raises(DataError) as caught:
        load_csv(path)
    message = str(caught.value)
    assert caught.value.line == line
    assert message.startswith(f"{path}:{line}: ")
    assert column in message and detail in message


def test_row_with_extra_fields_is_an_error_not_a_shift() -> None:
    with pytest.raises(DataError, match=r"extra_field\.csv:3: the row has 7 fields but the header"):
        load_csv(BROKEN / "extra_field.csv")


@pytest.mark.parametrize(
    ("name", "detail"), [("empty.csv", "the file is empty"), ("header_only.csv", "no data rows")]
)
def test_empty_files(name: str, detail: str) -> None:
    with pytest.raises(DataError, match=detail):
        load_csv(BROKEN / name)


def test_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"file not found: .*nope\.csv — check the path"):
        load_csv(tmp_path / "nope.csv")


def test_requested_timeframe_is_checked(shared_data: Path) -> None:
    path = shared_data / "ALTBTC-1m.csv"
    with pytest.raises(DataError, match="less than the requested timeframe 1h"):
        load_csv(path, timeframe="1h")
    with pytest.raises(ConfigError, match="use one of"):
        load_csv(path, timeframe="2h")


@pytest.mark.parametrize("name", ["ALTBTC-1m", "GOOG", "EURUSD", "BTCUSD"])
def test_write_round_trips_shared_files(shared_data: Path, tmp_path: Path, name: str) -> None:
    original = load_csv(shared_data / f"{name}.csv")
    path = tmp_path / f"{name}.csv"
    write_csv(original, path)
    assert path.read_text().splitlines()[0] == "time,open,high,low,close,volume"
    assert load_csv(path) == original


def test_write_round_trips_awkward_floats(tmp_path: Path) -> None:
    series = generate_history("DOGEUSDT", "1m", 3000, seed=4)
    hourly = resample(series, Timeframe.H1)  # summed volumes need all 17 digits
    ms = np.arange(3, dtype=np.int64) * 1500 + 1_700_000_000_000
    odd = BarSeries.from_arrays(
        symbol="ODD",
        timeframe="",
        timestamp=ms,
        open=[0.1 + 0.2, 1e-9, 123456789.123],
        high=[0.4, 2e-9, 123456789.125],
        low=[0.1, 1e-9, 1.0],
        close=[1 / 3, 1.5e-9, 2.0],
        volume=[0.0, 1e300, 5e-324],
    )
    for original in (series, hourly, odd):
        path = tmp_path / f"{original.symbol}.csv"
        write_csv(original, path)
        loaded = load_csv(path, symbol=original.symbol)
        for name in ("timestamp", *FIELDS):
            assert np.array_equal(getattr(loaded, name), getattr(original, name)), name
    assert (tmp_path / "ODD.csv").read_text().splitlines()[2].startswith("2023-11-14 22:13:21.500,")


def test_write_to_missing_folder_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="check the path"):
        write_csv(generate_history("AAPL", "1d", 3), tmp_path / "no" / "x.csv")
