"""The simulated feed (history and live stream) and the curated symbols it draws from."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engine.data.bars import BarSeries
from engine.data.csv_io import load_csv
from engine.data.simulated import DEFAULT_START_MS, SimulatedFeed, ar1_filter, generate_history
from engine.data.symbols import SYMBOLS, get_symbol, periods_per_year, symbols_by_category
from engine.data.timeframes import Timeframe
from engine.errors import ConfigError

MIN = 60_000
COLUMNS = ("timestamp", "open", "high", "low", "close", "volume", "bid", "ask")


def test_same_seed_same_series_and_anything_else_differs() -> None:
    base = generate_history("BTCUSDT", "1m", 5000, seed=7)
    assert generate_history("btc/usdt", Timeframe.M1, 5000, seed=7) == base
    returns = np.diff(np.log(base.close))
    for other in (
        generate_history("BTCUSDT", "1m", 5000, seed=8),
        generate_history("ETHUSDT", "1m", 5000, seed=7),
        generate_history("BTCUSDT", "5m", 5000, seed=7),
    ):
        other_returns = np.diff(np.log(other.close))
        assert abs(np.corrcoef(returns, other_returns)[0, 1]) < 0.1


@pytest.mark.parametrize(
    ("symbol", "timeframe"),
    [("BTCUSDT", "1m"), ("DOGEUSDT", "1h"), ("EURUSD", "15m"), ("USDJPY", "4h"), ("TSLA", "1d")],
)
def test_bars_are_consistent(symbol: str, timeframe: str) -> None:
    spec = get_symbol(symbol)
    series = generate_history(symbol, timeframe, 20_000, seed=3)
    step = Timeframe(timeframe).ms
    assert (series.symbol, series.timeframe, len(series)) == (spec.symbol, timeframe, 20_000)
    assert series.timestamp[0] == DEFAULT_START_MS
    assert np.all(np.diff(series.timestamp) == step)
    assert np.all(series.high >= np.maximum(series.open, series.close))
    assert np.all(series.low <= np.minimum(series.open, series.close))
    assert np.all(series.low > 0) and np.all(series.volume >= 0)
    assert np.all(series.bid <= series.close) and np.all(series.close <= series.ask)
    assert np.all(series.bid < series.ask)
    for name in ("open", "high", "low", "close", "bid", "ask"):
        values = getattr(series, name)
        assert np.array_equal(np.round(values, spec.price_decimals), values), name
    assert series.open[0] == pytest.approx(spec.start_price, rel=0.05)
    spread = (series.ask - series.bid) / series.close * 10_000
    assert np.median(spread) == pytest.approx(spec.spread_bps, rel=0.25, abs=0.2)
    assert np.median(series.volume) == pytest.approx(spec.volume_1m * step / MIN, rel=0.5)
    gapless = np.array_equal(series.open[1:], series.close[:-1])
    assert gapless is (timeframe != "1d")  # only daily stock bars open away from the close


@pytest.mark.parametrize(
    ("symbol", "timeframe", "bars_per_year"),
    [
        ("BTCUSDT", "1m", 525_600),
        ("DOGEUSDT", "1m", 525_600),
        ("EURUSD", "1m", 252 * 1440),
        ("AAPL", "1d", 252),
    ],
)
def test_annualized_volatility_matches_spec(
    symbol: str, timeframe: str, bars_per_year: int
) -> None:
    bars = 20_000 if timeframe == "1d" else 525_600  # 80 years of daily bars, a year of minutes
    series = generate_history(symbol, timeframe, bars, seed=11)
    returns = np.diff(np.log(series.close))
    realized = returns.std() * np.sqrt(bars_per_year)
    assert realized == pytest.approx(get_symbol(symbol).annual_volatility, rel=0.25)


def test_returns_have_fat_tails_and_volatility_clustering() -> None:
    series = generate_history("ETHUSDT", "1h", 50_000, seed=5)
    returns = np.diff(np.log(series.close))
    z = (returns - returns.mean()) / returns.std()
    assert np.mean(z**4) > 4.5  # a normal distribution has kurtosis 3
    size = np.abs(z)
    assert np.corrcoef(size[1:], size[:-1])[0, 1] > 0.1  # big moves follow big moves
    assert np.corrcoef(size, np.log(series.volume[1:]))[0, 1] > 0.2


def test_start_and_end_are_aligned_to_the_grid() -> None:
    start = DEFAULT_START_MS + 7 * 3_600_000 + 123
    series = generate_history("AAPL", "4h", 10, start_ms=start)
    assert series.timestamp[0] == DEFAULT_START_MS + 4 * 3_600_000
    ending = generate_history("AAPL", "4h", 10, end_ms=start)
    assert (
        ending.timestamp[-1] + Timeframe.H4.ms <= start < ending.timestamp[-1] + 2 * Timeframe.H4.ms
    )
    assert np.array_equal(ending.close, series.close)  # prices depend on seed/symbol/timeframe
    with pytest.raises(ConfigError, match="not both"):
        generate_history("AAPL", "4h", 10, start_ms=start, end_ms=start)


@pytest.mark.parametrize(
    ("args", "detail"),
    [
        (("NOPE", "1m", 10), "unknown symbol 'NOPE': use one of BTCUSDT"),
        (("AAPL", "3m", 10), "invalid timeframe"),
        (("AAPL", "1m", -1), "bars must be >= 0"),
    ],
)
def test_generate_history_rejects_bad_arguments(args: tuple[str, str, int], detail: str) -> None:
    with pytest.raises(ConfigError, match=detail):
        generate_history(*args)
    assert len(generate_history("AAPL", "1m", 0)) == 0


def test_stream_continues_the_history_exactly() -> None:
    history, streamed = 5000, 9000  # crosses chunk boundaries
    feed = SimulatedFeed("SOLUSDT", "5m", seed=2, start_ms=DEFAULT_START_MS, history=history)
    assert feed.symbol == "SOLUSDT"
    reference = generate_history("SOLUSDT", "5m", history + streamed, seed=2)
    assert feed.history_series() == reference.slice(0, history)
    bars = [feed.next_bar() for _ in range(streamed)]
    assert BarSeries.from_bars(bars) == reference.slice(history, None)
    assert bars[0].open == reference.close[history - 1]


def test_stream_without_history() -> None:
    feed = SimulatedFeed("EURUSD", "1m")
    assert len(feed.history_series()) == 0
    first = feed.next_bar()
    assert first.timestamp == DEFAULT_START_MS and first.symbol == "EURUSD"
    for _ in range(50_000):
        bar = feed.next_bar()
    assert bar.timestamp == DEFAULT_START_MS + 50_000 * MIN
    with pytest.raises(ConfigError):
        SimulatedFeed("EURUSD", "1m", history=-1)


def test_curated_symbols() -> None:
    groups = symbols_by_category()
    assert {k: [s.symbol for s in v] for k, v in groups.items()} == {
        "Crypto majors": ["BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "XRPUSDT"],
        "Crypto altcoins": ["ADAUSDT", "DOGEUSDT", "AVAXUSDT", "DOTUSDT", "MATICUSDT"],
        "Stocks": ["AAPL", "MSFT", "GOOGL", "AMZN", "TSLA"],
        "Forex": ["EURUSD", "GBPUSD", "USDJPY"],
    }
    assert len(SYMBOLS) == 18
    for spec in SYMBOLS:
        assert spec.trading_24_7 is (spec.asset_class == "crypto")
        assert spec.start_price > 0 and 0 < spec.annual_volatility <= 1.0
        assert round(spec.start_price, spec.price_decimals) == spec.start_price
    assert get_symbol("BTC/USDT").display == "BTC/USDT"
    assert get_symbol("eur/usd").display == "EUR/USD"
    assert get_symbol(" aapl ").category == "Stocks"
    with pytest.raises(ConfigError, match="use one of BTCUSDT, ETHUSDT"):
        get_symbol("BTCUSD")


def test_periods_per_year(shared_data: Path) -> None:
    assert periods_per_year("BTCUSDT") == 365
    assert periods_per_year("AAPL") == 252
    assert periods_per_year("EURUSD", load_csv(shared_data / "EURUSD.csv").timestamp) == 252
    altcoin = load_csv(shared_data / "ALTBTC-1m.csv")
    assert periods_per_year(altcoin.symbol, altcoin.timestamp) == 365
    goog = load_csv(shared_data / "GOOG.csv")
    assert periods_per_year(goog.symbol, goog.timestamp) == 252
    assert periods_per_year(None) == 252


@pytest.mark.parametrize("phi", [0.3, 0.818, 0.99986, 0.999999])
def test_ar1_filter_equals_the_plain_recursion(phi):
    """The closed-form blocks (no scipy) equal ``h[t] = phi*h[t-1] + x[t]`` done in a loop."""
    shocks = np.random.default_rng(3).standard_normal(5000) * 0.1
    expected, level = [], 0.7
    for x in shocks:
        level = phi * level + x
        expected.append(level)
    assert np.allclose(ar1_filter(shocks, phi, 0.7), expected, rtol=1e-12, atol=1e-12)
