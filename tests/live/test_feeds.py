"""Feeds: the exchange client code against recorded ccxt responses, replay and simulated."""

from __future__ import annotations

import bisect

import numpy as np
import pytest

from engine.data.csv_io import load_csv
from engine.live.feeds import ExchangeFeed, ReplayFeed, SimulatedLiveFeed

MINUTE = 60_000


class RecordedBinance:
    """Answers ``fetch_ohlcv`` like Binance did, from the recorded ALTBTC-1m rows: rows with
    time >= since, at most ``limit`` (max 1000), up to the candle forming at ``now``."""

    def __init__(self, rows: list[list[float]], clock) -> None:
        self.rows = rows
        self.times = [int(r[0]) for r in rows]
        self.clock = clock
        self.calls: list[tuple[int | None, int]] = []

    def fetch_ohlcv(self, symbol, timeframe, since=None, limit=None):
        assert symbol == "ALT/BTC" and timeframe == "1m"
        self.calls.append((since, limit))
        now_ms = int(self.clock() * 1000)
        start = 0 if since is None else bisect.bisect_left(self.times, since)
        stop = bisect.bisect_right(self.times, now_ms)  # includes the forming candle
        limit = min(limit or 500, 1000)
        return [list(r) for r in self.rows[start:stop][:limit]]


@pytest.fixture(scope="module")
def recorded(shared_data):
    series = load_csv(shared_data / "ALTBTC-1m.csv")
    rows = np.column_stack(
        [series.timestamp, series.open, series.high, series.low, series.close, series.volume]
    ).tolist()
    return series, rows


def test_exchange_feed_pages_history_and_never_emits_the_forming_candle(recorded):
    series, rows = recorded
    now = [series.timestamp[3000] / 1000 + 30]  # 30 s into candle 3000
    client = RecordedBinance(rows, lambda: now[0])
    feed = ExchangeFeed(client, "ALT/BTC", "1m", warmup=1500, clock=lambda: now[0])
    history = feed.history()
    times = [b.timestamp for b in history]
    assert times == sorted(set(times)) and len(history) <= 1500
    assert times[-1] == series.timestamp[2999]  # the forming candle 3000 is not included
    expected = [t for t in series.timestamp.tolist() if times[0] <= t <= times[-1]]
    assert times == expected  # missing minutes stay missing: no phantom bars
    assert len(client.calls) >= 2 and all(limit <= 1000 for _, limit in client.calls)
    assert feed.next_bar() is None  # nothing new has closed yet
    now[0] = series.timestamp[3003] / 1000 + 11  # three more candles closed, poll interval over
    got = [feed.next_bar() for _ in range(4)]
    assert [b.timestamp for b in got[:3]] == series.timestamp[3000:3003].tolist()
    assert got[3] is None
    bar = got[0]
    assert (bar.open, bar.high, bar.low, bar.close) == tuple(rows[3000][1:5])


def test_exchange_feed_survives_network_errors(recorded):
    series, rows = recorded
    now = [series.timestamp[100] / 1000 + 1]
    client = RecordedBinance(rows, lambda: now[0])
    feed = ExchangeFeed(client, "ALT/BTC", "1m", warmup=50, clock=lambda: now[0])
    feed.history()

    def down(*_args, **_kwargs):
        raise ConnectionError("exchange unreachable")

    client.fetch_ohlcv = down
    now[0] += 120
    assert feed.next_bar() is None and "exchange unreachable" in feed.last_error
    del client.fetch_ohlcv  # back up: the class method answers again
    now[0] += 5
    assert feed.next_bar() is None  # still backing off
    now[0] += 60
    assert feed.next_bar().timestamp == series.timestamp[100]
    assert feed.last_error is None


def test_exchange_feed_skips_duplicates_in_a_response(recorded):
    series, rows = recorded
    doubled = [row for r in rows[:50] for row in (r, r)]
    now = series.timestamp[49] / 1000 + 120
    feed = ExchangeFeed(
        RecordedBinance(doubled, lambda: now), "ALT/BTC", "1m", warmup=60, clock=lambda: now
    )
    times = [b.timestamp for b in feed.history()]
    since = int(now * 1000) - 61 * MINUTE  # warmup + 1 candles back from now
    expected = [t for t in series.timestamp[:50].tolist() if t >= since]
    assert times == expected and len(expected) > 10


def test_replay_feed_then_ends(recorded):
    series, _ = recorded
    feed = ReplayFeed(series.slice(0, 400), warmup=300)
    assert len(feed.history()) == 300
    replayed = [feed.next_bar() for _ in range(100)]
    assert [b.timestamp for b in replayed] == series.timestamp[300:400].tolist()
    assert feed.next_bar() is None


class Wall:
    """A settable wall clock (seconds)."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_simulated_feed_bars_close_at_wall_clock_boundaries():
    wall = Wall(1_800_000_000.0 + 25)  # 25 s into a minute
    feed = SimulatedLiveFeed("EURUSD", "1m", seed=4, warmup=100, wall=wall)
    history = feed.history()
    boundary = int(wall.now * 1000) // MINUTE * MINUTE
    assert len(history) == 100 and history[-1].timestamp == boundary - MINUTE
    assert [b.timestamp for b in history] == [boundary - (100 - i) * MINUTE for i in range(100)]
    assert feed.seconds_to_next() == pytest.approx(35.0)
    forming = [feed.forming()]
    for _ in range(34):
        wall.now += 1
        forming.append(feed.forming())
        assert feed.seconds_to_next() > 0  # the bar is still forming
    wall.now += 1  # the minute is over: the bar closes, exactly as it formed
    assert feed.seconds_to_next() == 0
    bar = feed.next_bar()
    assert bar.timestamp == boundary and bar.open == pytest.approx(history[-1].close)
    assert all(f.timestamp == boundary and f.open == bar.open for f in forming)
    assert len({f.close for f in forming}) > 20  # ticks move every second
    assert all(bar.low <= f.low <= f.close <= f.high <= bar.high for f in forming)
    assert forming[-1].close != bar.close and feed.forming().timestamp == boundary + MINUTE
    assert feed.seconds_to_next() == pytest.approx(60.0)


def test_simulated_feed_speed_is_an_explicit_opt_in():
    wall = Wall(1_800_000_000.0)
    fast = SimulatedLiveFeed("BTCUSDT", "15m", warmup=10, speed=60, wall=wall)
    assert fast.seconds_to_next() == pytest.approx(15.0)  # a 15m bar every 15 s
    wall.now += 15
    assert fast.seconds_to_next() == 0 and fast.next_bar().timestamp == 1_800_000_000_000 // (
        15 * MINUTE
    ) * (15 * MINUTE)


def test_simulated_feed_continues_after_its_last_bar():
    wall = Wall(1_800_000_000.0)
    first = SimulatedLiveFeed("ETHUSDT", "1m", warmup=50, wall=wall)
    last = first.history()[-1]
    wall.now += 10 * 60 + 5  # ten minutes later (engine down): the missed bars are history
    again = SimulatedLiveFeed("ETHUSDT", "1m", warmup=50, last=last.ohlcv(), wall=wall)
    missed = again.history()
    assert [b.timestamp for b in missed] == [last.timestamp + (i + 1) * MINUTE for i in range(10)]
    assert missed[0].open == pytest.approx(last.close)
    wall.now += 55
    assert again.next_bar().timestamp == missed[-1].timestamp + MINUTE
    # sped up, the last bar is ahead of the wall clock: it continues from there, no history
    ahead = {**last.ohlcv(), "time": last.timestamp + 500 * MINUTE}
    fast = SimulatedLiveFeed("ETHUSDT", "1m", last=ahead, speed=600, wall=wall)
    assert fast.history() == [] and fast.seconds_to_next() == pytest.approx(0.1)
    assert fast.next_bar().timestamp == ahead["time"] + MINUTE


def test_replay_setting_serves_csv_history_resampled(tmp_path, shared_data):
    import shutil
    from dataclasses import replace

    from engine.live.engine import feed_factory_for
    from engine.platform.settings import Settings

    shutil.copy(shared_data / "ALTBTC-1m.csv", tmp_path / "BTCUSDT.csv")
    settings = replace(Settings.from_env({}), feed_source="replay", replay_dir=tmp_path)
    factory = feed_factory_for(settings)
    feed = factory("BTCUSDT", "5m", None)
    assert isinstance(feed, ReplayFeed) and feed.timeframe == "5m"
    assert all(b.timestamp % (5 * MINUTE) == 0 for b in feed.history())
    assert isinstance(factory("ETHUSDT", "1m", None), SimulatedLiveFeed)  # no file: simulated
    last = feed.history()[-1].ohlcv()
    again = factory("BTCUSDT", "5m", last)  # re-created after its last bar: continues
    assert again.history() == [] and again.next_bar().timestamp == last["time"] + 5 * MINUTE


def test_a_late_engine_delays_simulated_bars_instead_of_piling_them_up():
    wall = Wall(1_800_000_000.0)
    feed = SimulatedLiveFeed("BTCUSDT", "1m", warmup=10, speed=600, wall=wall)  # 10 bars/s
    wall.now += 0.25  # a little late: the two bars that closed are due, none is dropped
    assert feed.seconds_to_next() == 0
    first = feed.next_bar()
    assert feed.seconds_to_next() == 0 and feed.next_bar().timestamp == first.timestamp + MINUTE
    wall.now += 30  # a 30 s stall (300 bars at this speed): the clock slips
    assert feed.seconds_to_next() == 0
    late = feed.next_bar()
    assert late.timestamp == first.timestamp + 2 * MINUTE  # the next bar, not a jump
    assert feed.seconds_to_next() == pytest.approx(0.1)  # then the normal pace again
    # at real speed, a bar delivered 40 s late keeps the wall-clock schedule
    wall = Wall(1_800_000_000.0)  # a minute boundary: the forming bar closes in 60 s
    slow = SimulatedLiveFeed("BTCUSDT", "1m", warmup=10, wall=wall)
    wall.now += 100
    assert slow.seconds_to_next() == 0 and slow.next_bar() is not None
    assert slow.seconds_to_next() == pytest.approx(20.0)


def test_exchange_feed_writes_closed_candles_and_warms_new_runners_from_the_store(
    recorded, tmp_path
):
    from engine.data.candle_store import CandleStore
    from engine.platform.settings import Settings
    from engine.storage.db import make_engine

    series, rows = recorded
    db = make_engine(
        Settings(data_dir=tmp_path, redis_url=None, database_url=f"sqlite:///{tmp_path}/t.db")
    )
    store = CandleStore(db)
    now = [series.timestamp[2000] / 1000 + 5]
    client = RecordedBinance(rows, lambda: now[0])
    client.id = "binanceus"
    first = ExchangeFeed(client, "ALT/BTC", "1m", warmup=500, clock=lambda: now[0], store=store)
    history = first.history()
    now[0] += 120
    live = [first.next_bar(), first.next_bar()]
    stored = store.read("binanceus", "ALTBTC", "1m")
    assert stored.timestamp.tolist() == [b.timestamp for b in history + live]
    assert stored.close.tolist() == [b.close for b in history + live]
    # a new runner's feed: the stored candles, then only the ones after them are fetched
    client.calls.clear()
    second = ExchangeFeed(client, "ALT/BTC", "1m", warmup=500, clock=lambda: now[0], store=store)
    warm = second.history()
    since = int(now[0] * 1000) - 501 * MINUTE
    expected = [t for t in stored.timestamp.tolist() if t >= since][-500:]
    assert [b.timestamp for b in warm] == expected and len(expected) > 300
    assert warm[-1].timestamp == live[-1].timestamp and warm[-1].symbol == "ALT/BTC"
    assert [since for since, _ in client.calls] == [live[-1].timestamp + MINUTE]
    db.dispose()
