"""Market history on top of the candle store: sources, resampled reads, the simulated market,
CSV import and coverage with session-aware gaps.

Sources: ``sim`` (the simulated market, generated on demand for any range from 2024-01-01 on
and cached in the store), ``csv:<name>`` (imported files) and exchange ids (``binanceus``).
Reads of a timeframe that is not stored are resampled on read from the largest stored
timeframe that divides it (1m stored gives 5m..1d); bins without a source bar give no bar.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from engine.data.bars import BarSeries, resample
from engine.data.candle_store import CandleStore, SeriesCoverage
from engine.data.csv_io import REQUIRED, load_csv
from engine.data.exchange import store_symbol
from engine.data.sessions import calendar_for, find_gaps
from engine.data.simulated import DEFAULT_START_MS, generate_history
from engine.data.symbols import get_symbol
from engine.data.timeframes import Timeframe, format_timestamp, parse_timeframe
from engine.errors import ConfigError, DataError

SIM = "sim"
SIM_START_MS = DEFAULT_START_MS
MAX_SIM_BARS = 2_000_000
DEFAULT_BARS = 1000
_SOURCE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,47}$")
CANONICAL = ("time", *REQUIRED)
_EMPTY = ("timestamp", "open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class Coverage:
    """A stored series with its gaps under the symbol's trading calendar."""

    source: str
    symbol: str
    timeframe: str
    first_ms: int
    last_ms: int
    bars: int
    gaps: int
    missing_bars: int
    calendar: str

    def to_dict(self) -> dict[str, object]:
        """JSON form (times as ms and ISO text)."""
        return {
            "source": self.source,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "first": self.first_ms,
            "last": self.last_ms,
            "first_iso": format_timestamp(self.first_ms),
            "last_iso": format_timestamp(self.last_ms),
            "bars": self.bars,
            "gaps": self.gaps,
            "missing_bars": self.missing_bars,
            "calendar": self.calendar,
        }


@dataclass(frozen=True)
class ImportResult:
    """What an import stored: the series' key, bars read, bars new to the store, span."""

    source: str
    symbol: str
    timeframe: str
    bars: int
    added: int
    first_ms: int
    last_ms: int

    def to_dict(self) -> dict[str, object]:
        """JSON form."""
        return {
            "source": self.source,
            "symbol": self.symbol,
            "timeframe": self.timeframe,
            "bars": self.bars,
            "added": self.added,
            "unchanged": self.bars - self.added,
            "first": self.first_ms,
            "last": self.last_ms,
        }


def check_source(source: str) -> str:
    """``sim``, ``csv:<name>`` or an exchange id; ConfigError otherwise."""
    name = source[4:] if source.startswith("csv:") else source
    if not _SOURCE_NAME.match(name):
        raise ConfigError(
            f"source {source!r}: use sim, csv:<name> (letters, digits, _ . -) or an exchange id"
        )
    return source


class MarketData:
    """History reads and writes for every source, over one CandleStore."""

    def __init__(self, store: CandleStore) -> None:
        self.store = store

    # -- reads ------------------------------------------------------------------------------
    def read(
        self,
        symbol: str,
        timeframe: str,
        *,
        source: str | None = None,
        start_ms: int | None = None,
        end_ms: int | None = None,
        limit: int | None = None,
        now_ms: int | None = None,
    ) -> tuple[str, BarSeries]:
        """``(source, bars)`` of ``symbol`` in ``timeframe`` within ``start_ms..end_ms``.

        Without ``source``: the stored source with the most bars usable for the timeframe,
        else ``sim``. Without a range: the latest ``limit`` (default 1000) bars. ``sim``
        generates (and stores) the bars it has not cached yet.
        """
        tf = parse_timeframe(timeframe)
        name = store_symbol(symbol)
        source = check_source(source) if source else self._default_source(name, tf)
        if source == SIM:
            self._ensure_sim(name, tf, start_ms, end_ms, limit, now_ms)
        stored = self._stored_timeframe(source, name, tf)
        if stored is None:
            return source, BarSeries.from_arrays(
                symbol=name, timeframe=tf.value, **{n: [] for n in _EMPTY}
            )
        latest = start_ms is None
        if stored is tf:
            series = self.store.read(
                source,
                name,
                tf.value,
                start_ms=start_ms,
                end_ms=end_ms,
                limit=limit if limit is not None else (DEFAULT_BARS if latest else None),
                latest=latest,
            )
            return source, series
        # resample: read whole target bins, then cut to the limit
        lo = None if start_ms is None else start_ms // tf.ms * tf.ms
        hi = None if end_ms is None else end_ms // tf.ms * tf.ms + tf.ms - 1
        count = limit if limit is not None else DEFAULT_BARS
        if latest and hi is None:
            last = self.store.read(source, name, stored.value, limit=1, latest=True)
            hi = int(last.timestamp[-1]) // tf.ms * tf.ms + tf.ms - 1
        if latest:
            lo = hi - (count * tf.ms) + 1 if hi is not None else None
        fine = self.store.read(source, name, stored.value, start_ms=lo, end_ms=hi)
        series = resample(fine, tf)
        if limit is not None or latest:
            series = series.slice(-count, None) if latest else series.slice(0, count)
        return source, series

    def _default_source(self, symbol: str, tf: Timeframe) -> str:
        usable = [
            c
            for c in self.store.coverage(symbol=symbol)
            if c.source != SIM and tf.ms % Timeframe(c.timeframe).ms == 0
        ]
        return max(usable, key=lambda c: c.bars).source if usable else SIM

    def _stored_timeframe(self, source: str, symbol: str, tf: Timeframe) -> Timeframe | None:
        """``tf`` if stored, else the largest stored timeframe dividing it, else None."""
        stored = [Timeframe(c.timeframe) for c in self.store.coverage(source=source, symbol=symbol)]
        if tf in stored:
            return tf
        finer = [s for s in stored if s.ms < tf.ms and tf.ms % s.ms == 0]
        return max(finer, key=lambda s: s.ms) if finer else None

    def _ensure_sim(
        self,
        symbol: str,
        tf: Timeframe,
        start_ms: int | None,
        end_ms: int | None,
        limit: int | None,
        now_ms: int | None,
    ) -> None:
        """Generate and store the simulated bars of the range that are not cached yet."""
        get_symbol(symbol)  # the simulated market has the curated symbols only
        now = int(time.time() * 1000) if now_ms is None else now_ms
        last_closed = now // tf.ms * tf.ms - tf.ms
        hi = min(last_closed, end_ms) if end_ms is not None else last_closed
        count = limit if limit is not None else DEFAULT_BARS
        lo = start_ms if start_ms is not None else hi - (count - 1) * tf.ms
        lo = max(lo, SIM_START_MS)
        if hi < lo:
            return
        first_index = -(-(lo - SIM_START_MS) // tf.ms)
        last_index = (hi - SIM_START_MS) // tf.ms
        if start_ms is not None and limit is not None:
            last_index = min(last_index, first_index + limit - 1)
        wanted = last_index - first_index + 1
        a, b = SIM_START_MS + first_index * tf.ms, SIM_START_MS + last_index * tf.ms
        have = self.store.times(SIM, symbol, tf.value, start_ms=a, end_ms=b)
        if len(have) == wanted:
            return
        if last_index + 1 > MAX_SIM_BARS:
            raise ConfigError(
                f"the simulated market would need {last_index + 1:,} {tf.value} bars from "
                f"{format_timestamp(SIM_START_MS)} (more than {MAX_SIM_BARS:,}): pick a larger "
                "timeframe or an earlier range"
            )
        series = generate_history(symbol, tf, last_index + 1, start_ms=SIM_START_MS)
        self.store.insert(SIM, series.slice(first_index, None))

    # -- coverage ---------------------------------------------------------------------------
    def coverage(self, *, symbol: str | None = None) -> list[Coverage]:
        """Every stored series with its gap count (session-aware)."""
        entries = self.store.coverage(symbol=store_symbol(symbol) if symbol else None)
        return [self._with_gaps(c) for c in entries]

    def _with_gaps(self, c: SeriesCoverage) -> Coverage:
        times = self.store.times(c.source, c.symbol, c.timeframe)
        calendar = calendar_for(c.symbol, c.timeframe, times)
        report = find_gaps(times, c.timeframe, calendar)
        return Coverage(
            c.source,
            c.symbol,
            c.timeframe,
            c.first_ms,
            c.last_ms,
            c.bars,
            len(report.gaps),
            report.missing,
            calendar,
        )

    # -- CSV import -------------------------------------------------------------------------
    def import_csv(
        self,
        path: str | Path,
        *,
        symbol: str | None = None,
        timeframe: str | None = None,
        source: str | None = None,
    ) -> ImportResult:
        """Load a CSV file completely (every row checked; DataError with line and column for
        the first bad one, nothing stored) and store it in one transaction under
        ``source`` (default ``csv:<file stem>``). Re-importing the same file adds nothing.
        A ``timeframe`` larger than the file's resamples it first."""
        path = Path(path)
        name = store_symbol(symbol or path.stem)
        source = check_source(source or f"csv:{path.stem.lower()}")
        series = load_csv(path, symbol=name)
        if timeframe:
            target = parse_timeframe(timeframe)
            if not series.timeframe:
                series = load_csv(path, symbol=name, timeframe=target.value)
            elif series.timeframe != target.value:
                if Timeframe(series.timeframe).ms > target.ms:
                    raise ConfigError(
                        f"{path.name} holds {series.timeframe} bars: it cannot be stored as the "
                        f"smaller {target.value}; pick {series.timeframe} or larger"
                    )
                series = resample(series, target)
        if not series.timeframe:
            raise DataError(
                "the bar interval is irregular or unsupported (e.g. monthly bars); pass a "
                "timeframe (1m, 5m, 15m, 30m, 1h, 4h, 8h, 1d)",
                source=path.name,
            )
        added = self.store.insert(source, series)
        return ImportResult(
            source,
            name,
            series.timeframe,
            len(series),
            added,
            int(series.timestamp[0]),
            int(series.timestamp[-1]),
        )

    def import_text(
        self,
        text: str,
        filename: str,
        *,
        symbol: str | None = None,
        timeframe: str | None = None,
        source: str | None = None,
        columns: dict[str, str] | None = None,
    ) -> ImportResult:
        """Import CSV text (an upload). ``columns`` maps the canonical names (time, open, high,
        low, close, volume) to the file's header cells when the header is not recognized."""
        if columns:
            text = remap_header(text, columns)
        stem = safe_stem(filename)
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"{stem}.csv"
            path.write_text(text, encoding="utf-8")
            return self.import_csv(path, symbol=symbol, timeframe=timeframe, source=source)


def safe_stem(filename: str) -> str:
    """An uploaded file's name as a short, safe stem (the default source is ``csv:<stem>``):
    letters, digits, ``_ . -`` only, at most 40 characters, ``upload`` when nothing is left."""
    stem = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(filename).stem)[:40].strip("._-")
    return stem or "upload"


def preview_csv(text: str, rows: int = 8) -> dict[str, object]:
    """The header, the first ``rows`` data rows, and the mapping of canonical columns to
    header cells that the importer recognizes (``None`` where it does not)."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, [])
    body = []
    for row in reader:
        if any(cell.strip() for cell in row):
            body.append(row)
        if len(body) >= rows:
            break
    lowered = [cell.strip().lower() for cell in header]
    aliases = {"time": ("time", "timestamp", "datetime", "date", "open_time")}
    mapping: dict[str, str | None] = {}
    for name in CANONICAL:
        found = next(
            (header[lowered.index(a)] for a in aliases.get(name, (name,)) if a in lowered), None
        )
        mapping[name] = found.strip() if found is not None else None
    return {
        "header": [cell.strip() for cell in header],
        "rows": body,
        "mapping": mapping,
        "recognized": all(v is not None for v in mapping.values()),
    }


def remap_header(text: str, columns: dict[str, str]) -> str:
    """CSV text whose header cells named in ``columns`` (canonical -> cell) are renamed to the
    canonical names; other cells keep their text. ConfigError for an unknown name or cell."""
    unknown = sorted(set(columns) - set(CANONICAL))
    if unknown:
        raise ConfigError(f"unknown column(s) {', '.join(unknown)}: map {', '.join(CANONICAL)}")
    first, newline, rest = text.lstrip("\ufeff").partition("\n")
    cells = next(csv.reader([first.rstrip("\r")]), [])
    stripped = [cell.strip() for cell in cells]
    renamed = list(stripped)
    for canonical, cell in columns.items():
        if cell not in stripped:
            raise ConfigError(
                f"column {cell!r} (for {canonical}) is not in the header {','.join(stripped)!r}"
            )
        renamed[stripped.index(cell)] = canonical
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(renamed)
    return buffer.getvalue() + newline + rest


def series_gaps(store: CandleStore, source: str, symbol: str, timeframe: str) -> list[list[int]]:
    """Gaps of a stored series as ``[first_ms, last_ms, missing_bars]``."""
    times = store.times(source, symbol, timeframe)
    report = find_gaps(times, timeframe, calendar_for(symbol, timeframe, times))
    return [[g.start_ms, g.end_ms, g.missing_bars] for g in report.gaps]
