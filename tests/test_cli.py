"""``tradesim`` command line: outputs, JSON/CSV files, exit codes and one-line errors."""

from __future__ import annotations

import csv
import json

import pytest

from engine.cli import main
from engine.data.csv_io import load_csv
from tests.conftest import EXAMPLES, LUA_FIXTURES

EMA = str(EXAMPLES / "ema_crossover.lua")


def test_backtest_writes_summary_json_and_trades_csv(shared_data, tmp_path, capsys):
    out_json, out_csv = tmp_path / "r.json", tmp_path / "t.csv"
    code = main(
        [
            "backtest",
            EMA,
            "--data",
            str(shared_data / "GOOG.csv"),
            "--param",
            "fast=8",
            "--commission",
            "0.001",
            "--json",
            str(out_json),
            "--trades-csv",
            str(out_csv),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    data = json.loads(out_json.read_text())
    assert data["params"] == {"fast": 8, "slow": 20, "stop_pct": 0}
    assert data["bars"] == 2148 and data["symbol"] == "GOOG" and data["timeframe"] == "1d"
    assert set(data["timing"]) == {
        "load_s",
        "setup_s",
        "indicators_s",
        "simulate_s",
        "metrics_s",
        "total_s",
    }
    assert data["config"]["commission_rate"] == 0.001
    assert f"{len(data['trades'])} trades" in printed and "Sharpe" in printed
    with out_csv.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(data["trades"]) > 0
    assert float(rows[0]["pnl"]) == pytest.approx(data["trades"][0]["pnl"])


def test_backtest_resamples_and_runs_randomized(shared_data, tmp_path):
    out = tmp_path / "r.json"
    code = main(
        [
            "backtest",
            EMA,
            "--data",
            str(shared_data / "ALTBTC-1m.csv"),
            "--timeframe",
            "5m",
            "--runs",
            "4",
            "--duration",
            "1d",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    data = json.loads(out.read_text())
    assert data["timeframe"] == "5m" and data["num_runs"] == 4
    assert all(run["bars"] == 288 for run in data["runs"])
    assert {t["run_id"] for t in data["trades"]} <= {0, 1, 2, 3}
    assert 0 <= data["metrics"]["pct_profitable"] <= 100


def test_data_generate_round_trips(tmp_path, capsys):
    out = tmp_path / "eth.csv"
    assert (
        main(
            [
                "data",
                "generate",
                "--symbol",
                "ETHUSDT",
                "--timeframe",
                "15m",
                "--bars",
                "500",
                "--seed",
                "4",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    series = load_csv(out)
    assert len(series) == 500 and series.timeframe == "15m"
    assert "wrote 500 15m bars of ETHUSDT" in capsys.readouterr().out


def test_strategy_validate_exit_codes(capsys):
    assert main(["strategy", "validate", EMA]) == 0
    assert main(["strategy", "validate", str(LUA_FIXTURES / "hostile/os_execute.lua")]) == 1
    assert "os_execute.lua:3:3: error:" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["backtest", "missing.lua"], "missing.lua: file not found"),
        (["backtest", EMA, "--data", "missing.csv"], "file not found: missing.csv"),
        (["backtest", EMA, "--bars", "50", "--param", "fast=500"], "above the maximum 50"),
        (["backtest", EMA, "--bars", "50", "--param", "speed=5"], "unknown param 'speed'"),
        (["backtest", EMA, "--bars", "50", "--param", "fast"], "use NAME=VALUE"),
        (["backtest", EMA, "--bars", "50", "--capital", "-5"], "capital must be a positive"),
        (["backtest", EMA, "--bars", "50", "--runs", "3"], "need a duration"),
        (["backtest", EMA, "--bars", "50", "--json", "/no/such/dir/x.json"], "folder does not"),
        (
            ["backtest", str(LUA_FIXTURES / "hostile/infinite_loop.lua"), "--bars", "50"],
            "infinite_loop.lua:3: instruction budget exceeded",
        ),
        (["data", "generate", "--symbol", "XYZ", "--out", "x.csv"], "unknown symbol 'XYZ'"),
        (["strategy", "validate", "missing.lua"], "file not found"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(args, needle, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_data_import_is_idempotent_and_info_knows_sessions(
    shared_data, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("TRADESIM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    args = ["data", "import", str(shared_data / "EURUSD.csv"), "--symbol", "EUR/USD"]
    assert main(args) == 0
    assert "imported 5,000 1h bars of EURUSD as csv:eurusd: 5,000 new" in capsys.readouterr().out
    assert main([*args, "--timeframe", "4h"]) == 0  # resampled into its own series
    assert main(args) == 0
    assert "0 new, 5,000 already stored" in capsys.readouterr().out.splitlines()[-1]
    from engine.data.bars import resample
    from engine.data.candle_store import CandleStore
    from engine.platform.settings import Settings
    from engine.storage.db import make_engine

    db = make_engine(Settings.from_env())
    stored = CandleStore(db).read("csv:eurusd", "EURUSD", "4h")
    db.dispose()
    assert stored == resample(load_csv(shared_data / "EURUSD.csv", symbol="EURUSD"), "4h")
    assert main(["data", "info", str(shared_data / "GOOG.csv")]) == 0
    assert "gaps: 77 (79 missing bars; weekdays sessions)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["data", "import", "missing.csv", "--symbol", "X"], "file not found"),
        (["data", "download", "--symbol", "BTC/USDT", "--since", "soon"], "--since 'soon'"),
        (
            ["data", "download", "--exchange", "nope", "--symbol", "BTC/USDT", "--since", "0"],
            "unknown exchange 'nope'",
        ),
    ],
)
def test_bad_data_input_is_one_line_and_exit_2(args, needle, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TRADESIM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert needle in err[-1] and "Traceback" not in "".join(err)


def test_help_and_parser_import_no_heavy_modules():
    import subprocess
    import sys

    code = (
        "import sys, engine.cli; engine.cli.build_parser().format_help(); "
        "print(sorted(m for m in ('sqlalchemy', 'ccxt', 'pandas', 'numpy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
