"""Metrics agree with quantstats, empyrical, backtesting.py and plain-Python loops.

Equity curves come from the real data (GOOG daily, EURUSD hourly) and a seeded random curve.
The libraries are references only; the engine never imports them.

Library notes (quantstats 0.0.86, empyrical-reloaded 0.7):
- Sharpe, Sortino (downside deviation over *all* N returns), volatility (ddof=1) and the CAGR
  convention (years = N returns / periods) are the same in both libraries and ours.
- Both measure drawdowns on the returns they are given with a baseline of 1 before the first
  return, i.e. on the *daily* equity from the initial capital; ours is per bar. They agree on
  daily bars, and on intraday bars when ours is computed on the daily closes.
- Degenerate cases differ: with no losing day quantstats' Sortino is NaN, empyrical's inf
  (ours inf); with no drawdown empyrical's Calmar is NaN (ours inf for a gain).
- quantstats treats a series with min >= 0 and max > 1 as *prices* and converts it to returns,
  so an all-non-negative return series with one day above +100 % would be misread.
- backtesting.py's Sharpe, Sortino, volatility and annualized return use geometric means and
  its profit factor and expectancy use per-trade return % instead of P&L: different
  definitions, not compared. Its win rate, SQN, max drawdown (when equity[0] is the initial
  capital), drawdown duration and longest trade duration are the same and are compared.
"""

from __future__ import annotations

import ast
import json
import math
import statistics
from pathlib import Path

import empyrical
import numpy as np
import pandas as pd
import pytest
import quantstats as qs
from backtesting._stats import compute_stats

import engine.backtest.metrics
import engine.backtest.metrics_trades
from engine.backtest.metrics import (
    Metrics,
    compute_metrics,
    daily_returns,
    format_metrics_table,
    return_metrics,
    summarize_runs,
    trade_metrics,
)
from engine.errors import ConfigError
from engine.strategy.trades import ExitReason, Trade

DAY_MS = 86_400_000
CAPITAL = 10_000.0


def _load(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    frame["ts"] = pd.to_datetime(frame["time"], utc=True).astype("datetime64[ms, UTC]")
    frame["ts"] = frame["ts"].astype("int64")
    return frame


@pytest.fixture(scope="module")
def goog(shared_data):
    """GOOG daily: 10 shares bought at the first close, the rest of 10,000 in cash."""
    frame = _load(shared_data / "GOOG.csv")
    close = frame["close"].to_numpy()
    return frame["ts"].to_numpy(), CAPITAL - 10 * close[0] + 10 * close, frame


@pytest.fixture(scope="module")
def eurusd(shared_data):
    """EURUSD hourly: 50,000 units held on 10,000 of capital (the daily resampling path)."""
    frame = _load(shared_data / "EURUSD.csv")
    close = frame["close"].to_numpy()
    return frame["ts"].to_numpy(), CAPITAL + 50_000 * (close - close[0])


@pytest.fixture(scope="module")
def random_curve():
    """4-hour bars over 400 days with random gaps (some whole days); the first bar loses 2 %."""
    rng = np.random.default_rng(7)
    ts = 1_600_000_000_000 + np.arange(400 * 6, dtype=np.int64) * 4 * 3_600_000
    ts = np.sort(rng.choice(ts, size=1_800, replace=False))
    equity = CAPITAL * 0.98 * np.cumprod(1 + rng.normal(0.0002, 0.01, len(ts)))
    return ts, equity


@pytest.fixture(params=["goog", "eurusd", "random_curve"])
def curve(request):
    """(timestamps_ms, equity, periods_per_year) of each curve."""
    ts, equity = request.getfixturevalue(request.param)[:2]
    return ts, equity, 252 if request.param == "goog" else 365


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _daily_closes(ts: np.ndarray, equity: np.ndarray) -> pd.Series:
    """Reference resampling with pandas: last equity of each UTC day that has bars."""
    index = pd.to_datetime(ts, unit="ms", utc=True)
    return pd.Series(equity, index=index).resample("D").last().dropna()


def _drawdown_loop(ts, equity, initial):
    """Plain loop: deepest fall from a running peak (in %) and the longest time under water.

    The initial capital is a peak one bar step (the smallest timestamp gap) before bar 0.
    """
    times = [int(ts[0]) - int(np.diff(ts).min())] + [int(t) for t in ts]
    values = [initial] + [float(v) for v in equity]
    peak, peak_time, under, deepest, longest = values[0], times[0], False, 0.0, 0
    for t, v in zip(times, values, strict=True):
        if v >= peak:
            if under:
                longest = max(longest, t - peak_time)
            peak, peak_time, under = v, t, False
        else:
            under = True
            deepest = max(deepest, (peak - v) / peak)
    if under:
        longest = max(longest, times[-1] - peak_time)
    return deepest * 100, longest / DAY_MS


# --- daily returns -------------------------------------------------------------------------


def test_daily_returns_hand_example():
    hour = 3_600_000
    day0 = 1_704_067_200_000  # 2024-01-01 00:00 UTC
    ts = np.array([day0 + 10 * hour, day0 + 20 * hour, day0 + 29 * hour, day0 + 84 * hour])
    equity = np.array([101.0, 99.0, 110.0, 99.0])
    r = daily_returns(ts, equity, initial_capital=100.0)
    # Jan 1 closes at 99 (from 100), Jan 2 at 110 (from 99), Jan 3 has no bars, Jan 4 at 99.
    assert list(r.index.strftime("%Y-%m-%d")) == ["2024-01-01", "2024-01-02", "2024-01-04"]
    np.testing.assert_allclose(r.to_numpy(), [-0.01, 110 / 99 - 1, 99 / 110 - 1], rtol=1e-15)
    # Without an initial capital the first bar is the base.
    assert daily_returns(ts, equity).iloc[0] == pytest.approx(99 / 101 - 1, rel=1e-15)


def test_daily_returns_match_pandas_resample(eurusd, random_curve):
    for ts, equity in (eurusd, random_curve):
        closes = _daily_closes(ts, equity)
        expected = pd.concat([pd.Series([CAPITAL]), pd.Series(closes.to_numpy())]).pct_change()
        r = daily_returns(ts, equity, initial_capital=CAPITAL)
        assert len(r) < len(ts)
        assert (r.index == closes.index).all()
        np.testing.assert_allclose(r.to_numpy(), expected.to_numpy()[1:], rtol=1e-12)


def test_monthly_bars_keep_their_bar_returns(shared_data):
    frame = _load(shared_data / "BTCUSD.csv")
    close = frame["close"].to_numpy()
    r = daily_returns(frame["ts"].to_numpy(), close, initial_capital=close[0])
    assert len(r) == len(close)
    np.testing.assert_allclose(r.to_numpy()[1:], close[1:] / close[:-1] - 1, rtol=1e-15)
    assert r.iloc[0] == 0.0


# --- return metrics vs the libraries ---------------------------------------------------------


def test_ratios_match_quantstats_and_empyrical(curve):
    ts, equity, periods = curve
    m = return_metrics(ts, equity, initial_capital=CAPITAL, periods_per_year=periods)
    r = daily_returns(ts, equity, initial_capital=CAPITAL)
    assert r.std() > 0 and (r < 0).any()
    assert _close(m.sharpe, qs.stats.sharpe(r, periods=periods, annualize=True))
    assert _close(m.sharpe, empyrical.sharpe_ratio(r, annualization=periods))
    assert _close(m.sortino, qs.stats.sortino(r, periods=periods, annualize=True))
    assert _close(m.sortino, empyrical.sortino_ratio(r, annualization=periods))
    assert _close(m.volatility_pct, qs.stats.volatility(r, periods=periods) * 100)
    assert _close(m.volatility_pct, empyrical.annual_volatility(r, annualization=periods) * 100)
    assert _close(m.std_returns, r.std(ddof=1))
    assert _close(m.annualized_return_pct, empyrical.annual_return(r, annualization=periods) * 100)
    assert _close(m.annualized_return_pct, qs.stats.cagr(r, periods=periods) * 100)
    assert _close(m.total_return_pct, (equity[-1] / CAPITAL - 1) * 100)


def test_ratios_match_plain_python(curve):
    ts, equity, periods = curve
    m = return_metrics(ts, equity, initial_capital=CAPITAL, periods_per_year=periods)
    r = list(daily_returns(ts, equity, initial_capital=CAPITAL))
    mean = sum(r) / len(r)
    assert _close(m.sharpe, mean / statistics.stdev(r) * math.sqrt(periods))
    downside = math.sqrt(sum(min(x, 0.0) ** 2 for x in r) / len(r))
    assert _close(m.sortino, mean / downside * math.sqrt(periods))
    annual = (equity[-1] / CAPITAL) ** (periods / len(r)) - 1
    deepest, _ = _drawdown_loop(ts, equity, CAPITAL)
    assert _close(m.calmar, annual / (deepest / 100))


def test_per_bar_drawdown_matches_plain_loop(curve):
    ts, equity, periods = curve
    m = return_metrics(ts, equity, initial_capital=CAPITAL, periods_per_year=periods)
    deepest, longest_days = _drawdown_loop(ts, equity, CAPITAL)
    assert m.max_drawdown_pct > 0 and m.max_drawdown_duration > 0
    assert _close(m.max_drawdown_pct, deepest)
    assert _close(m.max_drawdown_duration, longest_days)


def test_drawdown_and_calmar_match_libraries_on_daily_equity(curve):
    """The libraries see daily returns, so compare on the daily closes (intraday dips hidden)."""
    ts, equity, periods = curve
    closes = _daily_closes(ts, equity)
    daily_ts = closes.index.as_unit("ms").asi8
    m = return_metrics(
        daily_ts, closes.to_numpy(), initial_capital=CAPITAL, periods_per_year=periods
    )
    r = daily_returns(ts, equity, initial_capital=CAPITAL)
    assert _close(m.max_drawdown_pct, -qs.stats.max_drawdown(r) * 100)
    assert _close(m.max_drawdown_pct, -empyrical.max_drawdown(r) * 100)
    assert _close(m.calmar, qs.stats.calmar(r, periods=periods))
    assert _close(m.calmar, empyrical.calmar_ratio(r, annualization=periods))
    per_bar = return_metrics(ts, equity, initial_capital=CAPITAL, periods_per_year=periods)
    assert per_bar.max_drawdown_pct >= m.max_drawdown_pct
    assert per_bar.sharpe == m.sharpe


def test_first_bar_loss_counts_as_drawdown():
    ts = np.arange(3, dtype=np.int64) * DAY_MS
    m = return_metrics(
        ts, np.array([90.0, 95.0, 100.0]), initial_capital=100.0, periods_per_year=365
    )
    # 100 -> 90 is a 10 % fall; it starts one bar before bar 0 and recovers at bar 2: 3 days.
    assert m.max_drawdown_pct == pytest.approx(10.0)
    assert m.max_drawdown_duration == 3.0


@pytest.mark.parametrize(
    ("equity", "deepest_pct", "longest_days"),
    [
        # Peak 120 (day 1) -> trough 90: 25 %; back to exactly 120 on day 4 (3 days), then
        # 1 day under 130 at the end.
        ([100.0, 120.0, 90.0, 119.9, 120.0, 130.0, 125.0], 25.0, 3.0),
        # Peak 120 (day 1), never regained: under water to the last bar (day 5), 4 days.
        ([100.0, 120.0, 110.0, 115.0, 100.0, 119.0], 100 / 6, 4.0),
    ],
)
def test_drawdown_hand_examples(equity, deepest_pct, longest_days):
    ts = np.arange(len(equity), dtype=np.int64) * DAY_MS
    m = return_metrics(ts, np.array(equity), initial_capital=100.0, periods_per_year=252)
    assert m.max_drawdown_pct == pytest.approx(deepest_pct)
    assert m.max_drawdown_duration == longest_days
    assert m.total_return_pct == pytest.approx(equity[-1] - 100.0)


# --- trade metrics ---------------------------------------------------------------------------


def _trade(pnl: float, **overrides) -> Trade:
    fields = {
        "run_id": 0,
        "side": "long",
        "entry_time": 0,
        "exit_time": 3_600_000,
        "entry_bar": 1,
        "exit_bar": 2,
        "entry_price": 100.0,
        "exit_price": 100.0 + pnl,
        "quantity": 1.0,
        "pnl": pnl,
        "pnl_pct": pnl,
        "commission": 0.1,
        "exit_reason": "signal",
        "bars_held": 1,
        "mfe": 0.0,
        "mae": 0.0,
    }
    return Trade(**(fields | overrides))


def _random_trades(rng: np.random.Generator, n: int) -> list[Trade]:
    reasons = [r.value for r in ExitReason]
    trades = []
    for _ in range(n):
        pnl = 0.0 if rng.random() < 0.05 else float(rng.normal(5, 50))
        bars = int(rng.integers(1, 500))
        trades.append(
            _trade(
                pnl,
                pnl_pct=float(rng.normal(0.5, 3)),
                commission=float(rng.uniform(0, 2)),
                bars_held=bars,
                exit_time=bars * 60_000 + int(rng.integers(0, 60_000)),
                exit_reason=reasons[int(rng.integers(len(reasons)))],
            )
        )
    return trades


def test_trade_metrics_match_plain_python():
    trades = _random_trades(np.random.default_rng(3), 400)
    t = trade_metrics(trades, bars_in_position=1234, total_bars=5000)
    pnls = [x.pnl for x in trades]
    wins = [p for p in pnls if p > 0]
    losses = [p for p in pnls if p < 0]
    assert 0 < len(wins) + len(losses) < len(trades)  # some zero-P&L trades
    assert (t.num_trades, t.num_wins, t.num_losses) == (len(trades), len(wins), len(losses))
    assert _close(t.win_rate_pct, 100 * len(wins) / len(trades))
    assert _close(t.avg_win, statistics.fmean(wins))
    assert _close(t.avg_loss, statistics.fmean(losses)) and t.avg_loss < 0
    assert _close(t.avg_trade, statistics.fmean(pnls))
    assert _close(t.expectancy, statistics.fmean(pnls))
    assert _close(t.avg_trade_pct, statistics.fmean(x.pnl_pct for x in trades))
    assert (t.largest_win, t.largest_loss) == (max(pnls), min(pnls))
    assert _close(t.gross_profit, sum(wins)) and _close(t.gross_loss, sum(losses))
    assert _close(t.profit_factor, sum(wins) / -sum(losses))
    sqn = math.sqrt(len(pnls)) * statistics.fmean(pnls) / statistics.stdev(pnls)
    assert _close(t.sqn, sqn)
    assert _close(t.avg_hold_bars, statistics.fmean(x.bars_held for x in trades))
    assert t.max_hold_bars == max(x.bars_held for x in trades)
    hold_s = [(x.exit_time - x.entry_time) / 1000 for x in trades]
    assert _close(t.avg_hold_time_s, statistics.fmean(hold_s))
    assert t.max_hold_time_s == max(hold_s)
    assert _close(t.total_commission, sum(x.commission for x in trades))
    assert _close(t.exposure_pct, 100 * 1234 / 5000)
    assert t.end_of_data_trades == sum(x.exit_reason == "end_of_data" for x in trades) > 0


@pytest.mark.filterwarnings("ignore:DatetimeIndex.dayofweek is deprecated")
def test_trade_metrics_match_backtesting_py(goog):
    ts, equity, frame = goog
    rng = np.random.default_rng(11)
    bars = np.sort(rng.choice(len(ts), size=60, replace=False))
    close = frame["close"].to_numpy()
    trades = []
    for entry, exit_ in zip(bars[::2], bars[1::2], strict=True):
        pnl = (close[exit_] - close[entry]) * 10 - 1.0
        trades.append(
            _trade(
                float(pnl),
                entry_time=int(ts[entry]),
                exit_time=int(ts[exit_]),
                entry_bar=int(entry),
                exit_bar=int(exit_),
                pnl_pct=float(pnl / (close[entry] * 10) * 100),
                bars_held=int(exit_ - entry),
            )
        )
    ohlc = frame.set_index(pd.to_datetime(frame["ts"], unit="ms")).rename(columns=str.title)
    stats = compute_stats(
        pd.DataFrame(
            {
                "EntryBar": [t.entry_bar for t in trades],
                "ExitBar": [t.exit_bar for t in trades],
                "PnL": [t.pnl for t in trades],
                "ReturnPct": [t.pnl_pct / 100 for t in trades],
                "Duration": [pd.Timedelta(t.exit_time - t.entry_time, "ms") for t in trades],
            }
        ),
        equity,
        ohlc,
        None,
    )
    m = compute_metrics(
        ts, equity, trades, initial_capital=CAPITAL, periods_per_year=252, bars_in_position=0
    )
    t = m.trade_stats
    assert t.num_trades == stats["# Trades"] == 30
    assert _close(t.win_rate_pct, stats["Win Rate [%]"])
    assert _close(t.sqn, stats["SQN"])
    assert t.max_hold_time_s == stats["Max. Trade Duration"].total_seconds()
    assert _close(m.returns.max_drawdown_pct, stats["Max. Drawdown [%]"] * -1)
    assert m.returns.max_drawdown_duration == stats["Max. Drawdown Duration"].days
    assert _close(m.returns.total_return_pct, stats["Return [%]"])


# --- edge cases ------------------------------------------------------------------------------


def test_no_trades():
    t = trade_metrics([], bars_in_position=0, total_bars=0)
    assert t.num_trades == t.num_wins == t.max_hold_bars == t.end_of_data_trades == 0
    assert t.profit_factor == t.sqn == t.win_rate_pct == t.avg_trade == t.exposure_pct == 0.0


def test_all_winners_give_infinite_profit_factor():
    trades = [_trade(10.0), _trade(30.0, exit_reason="end_of_data")]
    ts = np.arange(4, dtype=np.int64) * DAY_MS
    m = compute_metrics(
        ts,
        np.array([100.0, 110.0, 110.0, 140.0]),
        trades,
        initial_capital=100.0,
        periods_per_year=365,
        bars_in_position=2,
    )
    t = m.trade_stats
    assert t.profit_factor == math.inf and t.avg_loss == 0.0 and t.largest_loss == 0.0
    assert (t.end_of_data_trades, t.exposure_pct) == (1, 50.0)
    # Never below a peak: no downside (Sortino inf), no drawdown (Calmar inf).
    assert m.returns.sortino == math.inf and m.returns.calmar == math.inf
    d = m.to_dict()
    assert d["profit_factor"] == d["sortino"] == d["calmar"] == "∞"
    json.dumps(d, allow_nan=False)
    lines = format_metrics_table(m.to_dict()).splitlines()
    assert next(line for line in lines if line.startswith("Profit factor")).endswith(" ∞")


def test_single_trade():
    t = trade_metrics([_trade(-7.5, bars_held=4)], bars_in_position=4, total_bars=10)
    assert (t.num_trades, t.num_losses, t.avg_loss, t.largest_loss) == (1, 1, -7.5, -7.5)
    assert t.sqn == 0.0 and t.profit_factor == 0.0 and t.largest_win == 0.0
    assert t.avg_hold_bars == 4.0 and t.exposure_pct == 40.0


def test_flat_equity():
    ts = np.arange(50, dtype=np.int64) * 3_600_000
    m = compute_metrics(
        ts,
        np.full(50, CAPITAL),
        [],
        initial_capital=CAPITAL,
        periods_per_year=365,
        bars_in_position=0,
    )
    r = m.returns
    assert r.sharpe == r.sortino == r.calmar == r.volatility_pct == r.std_returns == 0.0
    assert r.max_drawdown_pct == r.max_drawdown_duration == r.total_return_pct == 0.0
    assert r.annualized_return_pct == 0.0 and m.net_pnl == 0.0


def test_invalid_input_raises_config_error():
    ts = np.arange(3, dtype=np.int64)
    good = {"initial_capital": 1.0, "periods_per_year": 365}
    with pytest.raises(ConfigError, match="empty"):
        return_metrics(ts[:0], np.array([]), **good)
    with pytest.raises(ConfigError, match="equally long"):
        return_metrics(ts, np.ones(2), **good)
    with pytest.raises(ConfigError, match="bar 1 is nan"):
        return_metrics(ts, np.array([1.0, np.nan, 1.0]), **good)
    with pytest.raises(ConfigError, match="does not increase"):
        return_metrics(ts[::-1].copy(), np.ones(3), **good)
    with pytest.raises(ConfigError, match="initial capital"):
        return_metrics(ts, np.ones(3), initial_capital=0.0, periods_per_year=365)


# --- runs, formatting, performance -----------------------------------------------------------


def _random_runs(n: int) -> list[tuple[int, Metrics]]:
    rng = np.random.default_rng(5)
    runs = []
    for run_id in range(n):
        ts = np.arange(200, dtype=np.int64) * 3_600_000
        equity = CAPITAL * np.cumprod(1 + rng.normal(0, 0.01, 200))
        trades = _random_trades(rng, int(rng.integers(0, 3)) * 5)
        runs.append(
            (
                run_id + 10,
                compute_metrics(
                    ts,
                    equity,
                    trades,
                    initial_capital=CAPITAL,
                    periods_per_year=365,
                    bars_in_position=50,
                ),
            )
        )
    return runs


def test_summarize_runs_matches_plain_python():
    runs = _random_runs(9)
    s = summarize_runs(runs)
    rets = [m.returns.total_return_pct for _, m in runs]
    traded = [m.trade_stats.win_rate_pct for _, m in runs if m.trade_stats.num_trades]
    assert 0 < len(traded) < len(runs)
    assert s.num_runs == 9
    assert _close(s.pct_profitable, 100 * sum(r > 0 for r in rets) / 9)
    assert (s.best_run_id, s.best_run_return_pct) == (10 + rets.index(max(rets)), max(rets))
    assert (s.worst_run_id, s.worst_run_return_pct) == (10 + rets.index(min(rets)), min(rets))
    assert _close(s.mean_return_pct, statistics.fmean(rets))
    assert _close(s.median_return_pct, statistics.median(rets))
    assert _close(s.std_return_pct, statistics.stdev(rets))
    assert _close(s.mean_sharpe, statistics.fmean(m.returns.sharpe for _, m in runs))
    dds = [m.returns.max_drawdown_pct for _, m in runs]
    assert _close(s.mean_max_drawdown_pct, statistics.fmean(dds))
    assert _close(s.mean_win_rate_pct, statistics.fmean(traded))
    assert s.total_trades == sum(m.trade_stats.num_trades for _, m in runs)
    assert set(s.to_dict()) >= {"num_runs", "best_run_id", "mean_return_pct", "total_trades"}
    json.dumps(s.to_dict(), allow_nan=False)


def test_summarize_one_run_and_none():
    s = summarize_runs(_random_runs(1))
    assert s.std_return_pct == 0.0 and s.best_run_id == s.worst_run_id == 10
    with pytest.raises(ConfigError):
        summarize_runs([])


def test_to_dict_is_flat_and_complete():
    (_, m), *_ = _random_runs(1)
    d = m.to_dict()
    nested = {**vars(m.returns), **vars(m.trade_stats)}
    assert set(d) == {"initial_capital", "final_equity", "net_pnl", *nested}
    assert all(d[k] == v for k, v in nested.items())
    assert d["net_pnl"] == m.final_equity - CAPITAL


def test_format_metrics_table():
    (_, m), *_ = _random_runs(1)
    lines = format_metrics_table(m.to_dict()).splitlines()
    assert len({len(line) for line in lines}) == 1  # aligned columns
    rows = {line[:22].strip(): line[22:].strip() for line in lines}
    assert rows["Total return"] == f"{m.returns.total_return_pct:.2f} %"
    assert rows["Net P&L"] == f"{m.net_pnl:,.2f}"
    assert rows["Sharpe"] == f"{m.returns.sharpe:.3f}"


def test_engine_metrics_import_no_reference_or_web_libraries():
    banned = {"quantstats", "empyrical", "backtesting", "dash", "flask", "rq"}
    for module in (engine.backtest.metrics, engine.backtest.metrics_trades):
        tree = ast.parse(Path(module.__file__).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not {name.split(".")[0] for name in names} & banned, module.__name__
