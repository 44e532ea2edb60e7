"""Read and write bar CSV files.

Accepted input: a header row naming a time column (``time``, ``timestamp``, ``datetime``,
``date`` or ``open_time``) and ``open, high, low, close, volume``, optionally ``bid, ask``; names
are case-insensitive and other columns are ignored. Times are ISO 8601 (``YYYY-MM-DD``,
``YYYY-MM-DD HH:MM:SS``, ``...T...Z``, ``...+02:00``; naive times are UTC) or epoch numbers whose
unit follows from their size (seconds, ms, µs or ns). Every problem is a DataError naming the
file and, where there is one, the 1-based line and the column.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.bars import BarSeries, find_invalid_bar
from engine.data.timeframes import DAY_MS, format_timestamp, infer_timeframe, parse_timeframe
from engine.errors import DataError

TIME_ALIASES = ("time", "timestamp", "datetime", "date", "open_time")  # by priority
REQUIRED = ("open", "high", "low", "close", "volume")
OPTIONAL = ("bid", "ask")
ACCEPTED_HEADERS = (
    "time (or timestamp, datetime, date, open_time), open, high, low, close, volume; "
    "optional bid, ask"
)
TIME_FORMATS = "YYYY-MM-DD, YYYY-MM-DD HH:MM:SS, ISO 8601 or epoch seconds/milliseconds"

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_TOKENIZE = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
# Epoch unit by magnitude of the largest value: below 1e11 seconds, 1e14 ms, 1e17 µs, else ns.
_EPOCH_UNITS = ((1e11, 1000.0), (1e14, 1.0), (1e17, 1e-3), (np.inf, 1e-6))
_YEAR_1900_MS, _YEAR_2200_MS = -2_208_988_800_000, 7_258_118_400_000
_EXACT_LIMIT = 2.0**49  # |value * 10**d| below this: "%.{d}f" reproduces the value exactly


def load_csv(
    path: str | Path, *, symbol: str | None = None, timeframe: str | None = None
) -> BarSeries:
    """Load bars from a CSV file, sorted by time; identical duplicate rows are dropped.

    ``symbol`` defaults to the file name without extension; ``timeframe`` is inferred from the
    most common spacing ("" if none fits, e.g. monthly bars, or if some bars are closer than
    it). Raises DataError for a missing or empty file, missing columns, bad values, one time
    with different values, or inconsistent bars (high below open, ...); ConfigError for an
    unknown ``timeframe``.
    """
    path = Path(path)
    source = str(path)
    header, first_row = _peek(path, source)
    names, shown = _column_names(header, source)
    time_at = names.index("time")
    first_time = first_row[time_at] if time_at < len(first_row) else ""
    numeric_time = bool(_NUMBER.match(first_time.strip()))
    wanted = [n for n in ("time", *REQUIRED, *OPTIONAL) if n in shown]
    dtypes: dict[str, type] = {n: np.float64 for n in wanted}
    if not numeric_time:
        dtypes["time"] = object
    try:
        frame = _read(path, names, dtypes)[wanted]
    except UnicodeDecodeError as error:
        raise DataError(f"not UTF-8 text (byte {error.start})", source=source) from None
    except pd.errors.ParserError as error:
        raise _parser_error(error, source) from None
    except ValueError as error:
        numeric = [n for n in wanted if dtypes[n] is np.float64]
        raise _locate_bad_number(path, names, numeric, shown, source, error) from None
    lines = np.arange(2, len(frame) + 2)
    frame, lines = _drop_blank_rows(frame, lines, shown, source)
    if not len(frame):
        raise DataError("no data rows below the header", source=source)
    times = _times_ms(frame["time"], numeric_time, lines, shown["time"], source)
    columns = {"timestamp": times, **{n: frame[n].to_numpy() for n in REQUIRED}}
    for name in OPTIONAL:
        columns[name] = frame[name].to_numpy() if name in shown else columns["close"]
    columns, lines = _sort_and_dedupe(columns, lines, shown["time"], source)
    problem = find_invalid_bar(columns)
    if problem is not None:
        i, column, text = problem
        name = shown["time" if column == "timestamp" else column]
        raise DataError(f"column {name!r} {text}", source=source, line=int(lines[i]))
    return BarSeries.from_arrays(
        symbol=path.stem if symbol is None else symbol,
        timeframe=_timeframe(columns["timestamp"], timeframe, source),
        **columns,
    )


def write_csv(series: BarSeries, path: str | Path) -> None:
    """Write ``time,open,high,low,close,volume`` with time as ``YYYY-MM-DD HH:MM:SS`` (UTC).

    Numbers are written exactly (as few decimals as reproduce each float), so ``load_csv``
    returns the same values. Bid/ask are not written (a loaded file has bid = ask = close).
    Raises DataError if the file cannot be written.
    """
    path = Path(path)
    values = [getattr(series, n) for n in REQUIRED]
    row = "%s," + ",".join(_exact_format(v) for v in values)
    times = _time_strings(series.timestamp)
    rows = zip(times, *(v.tolist() for v in values), strict=True)
    text = "time," + ",".join(REQUIRED) + "\n" + "".join([row % r + "\n" for r in rows])
    try:
        path.write_text(text, encoding="utf-8", newline="\n")
    except OSError as error:
        raise DataError(
            f"cannot write the file: {error.strerror} — check the path", source=str(path)
        ) from None


def _peek(path: Path, source: str) -> tuple[list[str], list[str]]:
    """The header cells and the first non-blank data row."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            first = next((row for row in reader if any(cell.strip() for cell in row)), None)
    except FileNotFoundError:
        raise DataError(f"file not found: {path} — check the path") from None
    except UnicodeDecodeError as error:
        raise DataError(f"not UTF-8 text (byte {error.start})", source=source) from None
    except OSError as error:
        raise DataError(f"cannot read the file: {error.strerror}", source=source) from None
    if not any(cell.strip() for cell in header):
        raise DataError(
            f"the file is empty; expected a header with {ACCEPTED_HEADERS}", source=source
        )
    if first is None:
        raise DataError("no data rows below the header", source=source)
    return header, first


def _column_names(header: list[str], source: str) -> tuple[list[str], dict[str, str]]:
    """Canonical names for every header cell (unused ones get ``_<i>``) and, for each used
    canonical name, the header text as written in the file."""
    cells = [cell.strip() for cell in header]
    lowered = [cell.lower() for cell in cells]
    names = [f"_{i}" for i in range(len(cells))]
    shown: dict[str, str] = {}
    time_alias = next((alias for alias in TIME_ALIASES if alias in lowered), None)
    for canonical in (*REQUIRED, *OPTIONAL, time_alias):
        if canonical is not None and canonical in lowered:
            i = lowered.index(canonical)
            if lowered.count(canonical) > 1:
                raise DataError(
                    f"column {canonical!r} appears twice in the header", source=source, line=1
                )
            key = "time" if canonical == time_alias else canonical
            names[i], shown[key] = key, cells[i]
    missing = [n for n in ("time", *REQUIRED) if n not in shown]
    if missing:
        raise DataError(
            f"missing column(s): {', '.join(missing)}; the header is {','.join(cells)!r}; "
            f"accepted headers: {ACCEPTED_HEADERS}",
            source=source,
            line=1,
        )
    return names, shown


def _read(path: Path, names: list[str], dtypes: dict[str, type]) -> pd.DataFrame:
    """All columns (so that a row with extra fields is an error rather than silently shifted
    values), unused ones as text; blank lines stay as all-NaN rows so row i is line i + 2."""
    return pd.read_csv(
        path,
        header=0,
        names=names,
        dtype={n: dtypes.get(n, object) for n in names},
        skip_blank_lines=False,
        encoding="utf-8-sig",
    )


def _parser_error(error: pd.errors.ParserError, source: str) -> DataError:
    match = _TOKENIZE.search(str(error))
    if match is None:
        return DataError(f"not a readable CSV file: {str(error).strip()}", source=source)
    expected, line, seen = (int(g) for g in match.groups())
    return DataError(
        f"the row has {seen} fields but the header has {expected}", source=source, line=line
    )


def _locate_bad_number(
    path: Path,
    names: list[str],
    numeric: list[str],
    shown: dict[str, str],
    source: str,
    error: ValueError,
) -> DataError:
    """The DataError for the first value that is not a number (pandas does not say where)."""
    text = _read(path, names, dict.fromkeys(numeric, object))[numeric]
    found: tuple[int, str, str] | None = None
    for name, column in text.items():
        numbers = pd.to_numeric(column, errors="coerce")
        bad = (numbers.isna() & column.notna()).to_numpy()
        if bad.any() and (found is None or bad.argmax() < found[0]):
            found = (int(bad.argmax()), str(name), str(column.iloc[bad.argmax()]))
    if found is None:
        return DataError(f"cannot read the numbers: {error}", source=source)
    row, name, value = found
    hint = f" (the first row's time is a number; use {TIME_FORMATS})" if name == "time" else ""
    return DataError(
        f"column {shown[name]!r}: {value!r} is not a number{hint}", source=source, line=row + 2
    )


def _drop_blank_rows(
    frame: pd.DataFrame, lines: np.ndarray, shown: dict[str, str], source: str
) -> tuple[pd.DataFrame, np.ndarray]:
    """Drop blank lines; DataError for the first row with an empty (or NaN) value."""
    missing = frame.isna().to_numpy()
    if not missing.any():
        return frame, lines
    blank = missing.all(axis=1)
    partial = missing.any(axis=1) & ~blank
    if partial.any():
        i = int(partial.argmax())
        name = shown[str(frame.columns[missing[i].argmax()])]
        raise DataError(
            f"column {name!r} has no value (empty or NaN)", source=source, line=int(lines[i])
        )
    kept = np.flatnonzero(~blank)
    return frame.iloc[kept], lines[kept]


def _times_ms(
    column: pd.Series, numeric: bool, lines: np.ndarray, name: str, source: str
) -> np.ndarray:
    """Timestamps in ms from epoch numbers (unit by magnitude) or ISO 8601 text."""
    if numeric:
        values = column.to_numpy(np.float64)
        biggest = float(np.abs(values).max())
        factor = next(f for limit, f in _EPOCH_UNITS if biggest < limit)
        with np.errstate(invalid="ignore", over="ignore"):
            ms = np.round(values * factor)
        bad = ~((ms >= _YEAR_1900_MS) & (ms <= _YEAR_2200_MS))
        if bad.any():
            i = int(bad.argmax())
            raise DataError(
                f"column {name!r}: {column.iloc[i]!r} is not a time between 1900 and 2200",
                source=source,
                line=int(lines[i]),
            )
        return ms.astype(np.int64)
    try:
        parsed = pd.to_datetime(column, format="ISO8601", utc=True)
    except (ValueError, OverflowError):
        parsed = pd.to_datetime(column, format="ISO8601", utc=True, errors="coerce")
        i = int(parsed.isna().to_numpy().argmax())
        raise DataError(
            f"column {name!r}: {column.iloc[i]!r} is not a valid time; use {TIME_FORMATS}",
            source=source,
            line=int(lines[i]),
        ) from None
    return np.asarray(pd.DatetimeIndex(parsed).as_unit("ms").asi8, dtype=np.int64)


def _sort_and_dedupe(
    columns: dict[str, np.ndarray], lines: np.ndarray, time_name: str, source: str
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Sort by time; drop rows that repeat the previous row exactly; DataError if one time
    has different values."""
    ts = columns["timestamp"]
    if len(ts) > 1 and not bool(np.all(ts[1:] > ts[:-1])):
        order = np.argsort(ts, kind="stable")
        columns = {n: v[order] for n, v in columns.items()}
        lines, ts = lines[order], columns["timestamp"]
    repeats = np.flatnonzero(ts[1:] == ts[:-1])
    if not len(repeats):
        return columns, lines
    same = np.ones(len(repeats), dtype=bool)
    for values in columns.values():
        same &= values[repeats + 1] == values[repeats]
    if not same.all():
        k = int(repeats[np.argmin(same)])
        first, second = sorted((int(lines[k]), int(lines[k + 1])))
        raise DataError(
            f"column {time_name!r}: {format_timestamp(int(ts[k]))} also appears on line {first} "
            "with different values; keep one of the rows",
            source=source,
            line=second,
        )
    keep = np.ones(len(ts), dtype=bool)
    keep[repeats + 1] = False
    return {n: v[keep] for n, v in columns.items()}, lines[keep]


def _timeframe(ts: np.ndarray, requested: str | None, source: str) -> str:
    """The requested timeframe (checked against the data) or the inferred one, or ""."""
    closest = int(np.diff(ts).min()) if len(ts) > 1 else None
    if requested is not None:
        tf = parse_timeframe(requested)
        if closest is not None and closest < tf.ms:
            raise DataError(
                f"some bars are only {closest / 1000:g} s apart, less than the requested "
                f"timeframe {tf.value}; load without a timeframe and resample",
                source=source,
            )
        return tf.value
    inferred = infer_timeframe(ts)
    if inferred is None or (closest is not None and closest < inferred.ms):
        return ""
    return inferred.value


def _time_strings(ts: np.ndarray) -> list[str]:
    """``YYYY-MM-DD HH:MM:SS[.fff]`` for each timestamp, formatting each distinct day and
    time of day once."""
    days = ts // DAY_MS
    unique_days, day_index = np.unique(days, return_inverse=True)
    day_text = np.datetime_as_string(unique_days.astype("datetime64[D]")).astype(object)
    unique_tods, tod_index = np.unique(ts - days * DAY_MS, return_inverse=True)
    with_ms = bool(np.any(unique_tods % 1000))
    tod_text = np.array(
        [
            f" {t // 3_600_000:02d}:{t // 60_000 % 60:02d}:{t // 1000 % 60:02d}"
            + (f".{t % 1000:03d}" if with_ms else "")
            for t in unique_tods.tolist()
        ],
        dtype=object,
    )
    return (day_text[day_index] + tod_text[tod_index]).tolist()


def _exact_format(values: np.ndarray) -> str:
    """The shortest fixed-decimals ``%`` format that reproduces every value, else ``%r``."""
    sample = values[:1000]
    with np.errstate(over="ignore", invalid="ignore"):
        for decimals in range(16):
            scale = 10.0**decimals
            for part in (sample, values):
                scaled = np.round(part * scale)
                if not (
                    np.all(np.abs(scaled) < _EXACT_LIMIT) and np.array_equal(scaled / scale, part)
                ):
                    break
            else:
                return f"%.{decimals}f"
    return "%r"
