"""Settings read once from the environment, with clear errors for bad values."""

from __future__ import annotations

import pytest

from engine.errors import ConfigError
from engine.platform.resources import SOURCE_ROOT as PROJECT_ROOT
from engine.platform.settings import Settings


def test_defaults_need_nothing_running():
    s = Settings.from_env({})
    assert s.redis_url is None  # tradesim up starts an embedded Redis
    assert s.database_url == f"sqlite:///{PROJECT_ROOT / 'data' / 'tradesim.db'}"
    assert (s.host, s.port, s.feed_source) == ("127.0.0.1", 8050, "simulated")
    assert s.user_strategy_dir == PROJECT_ROOT / "lua-strategies" / "user"


def test_environment_overrides(tmp_path):
    s = Settings.from_env(
        {
            "TRADESIM_DATA_DIR": str(tmp_path),
            "REDIS_URL": "redis://h:1/2",
            "DATABASE_URL": "postgresql://db/x",
            "TRADESIM_PORT": "9001",
            "TRADESIM_SIM_SPEED": "60",
            "TRADESIM_FEED": "exchange",
            "TRADESIM_RUNNER_HOSTS": "3",
            "TRADESIM_BAR_DEADLINE_MS": "400",
        }
    )
    assert (s.runner_hosts, s.bar_deadline_ms, s.load_deadline_ms) == (3, 400, 1000)
    assert (s.data_dir, s.redis_url, s.database_url) == (
        tmp_path,
        "redis://h:1/2",
        "postgresql://db/x",
    )
    assert (s.port, s.sim_speed, s.feed_source) == (9001, 60.0, "exchange")
    assert s.log_dir == tmp_path / "logs"


@pytest.mark.parametrize(
    ("env", "needle"),
    [
        ({"TRADESIM_PORT": "http"}, "TRADESIM_PORT='http': expected a whole number"),
        ({"TRADESIM_PORT": "70000"}, "expected 1..65535"),
        ({"TRADESIM_SIM_SPEED": "0"}, "TRADESIM_SIM_SPEED=0.0"),
        ({"TRADESIM_FEED": "kraken"}, "expected one of simulated, exchange"),
        ({"TRADESIM_RUNNER_HOSTS": "-1"}, "TRADESIM_RUNNER_HOSTS=-1: expected 0..64"),
        ({"TRADESIM_BAR_DEADLINE_MS": "5"}, "TRADESIM_BAR_DEADLINE_MS=5: expected 10..60000"),
    ],
)
def test_bad_values_name_the_variable(env, needle):
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(")):
        Settings.from_env(env)


def test_paper_account_and_live_trading_settings():
    s = Settings.from_env({})
    assert (s.paper_balance, s.paper_commission, s.paper_slippage_bps) == (10_000.0, 0.001, 1.0)
    assert s.live_trading is False and s.exchange_api_key is None
    live = Settings.from_env(
        {
            "TRADESIM_PAPER_BALANCE": "2500",
            "TRADESIM_LIVE_TRADING": "1",
            "TRADESIM_EXCHANGE_API_KEY": "key-that-must-not-show",
            "TRADESIM_EXCHANGE_SECRET": "secret-that-must-not-show",
        }
    )
    assert (live.paper_balance, live.live_trading) == (2500.0, True)
    assert "must-not-show" not in repr(live)
    with pytest.raises(ConfigError, match="TRADESIM_LIVE_TRADING='yes'"):
        Settings.from_env({"TRADESIM_LIVE_TRADING": "yes"})
    with pytest.raises(ConfigError, match="TRADESIM_PAPER_COMMISSION"):
        Settings.from_env({"TRADESIM_PAPER_COMMISSION": "0.5"})
