"""Monte Carlo percentiles against a plain-loop reference with the same seeded draws."""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import ConfigError
from engine.optimize.montecarlo import monte_carlo

PNL = [120.0, -80.0, 45.5, -200.0, 310.0, -15.0, 60.0, -95.0, 20.0, 150.0, -60.0, 5.0]
CAPITAL = 1000.0


def reference(method: str, n: int, seed: int) -> tuple[list[float], list[float]]:
    """Final return % and max drawdown % per simulation, one trade at a time."""
    rng = np.random.default_rng(seed)
    finals, drawdowns = [], []
    for _ in range(n):
        if method == "shuffle":
            order = [PNL[i] for i in rng.permutation(len(PNL))]
        else:
            order = [PNL[i] for i in rng.integers(0, len(PNL), size=len(PNL))]
        equity = peak = CAPITAL
        worst = 0.0
        for pnl in order:
            equity += pnl
            peak = max(peak, equity)
            worst = max(worst, (peak - equity) / peak * 100)
        finals.append((equity - CAPITAL) / CAPITAL * 100)
        drawdowns.append(worst)
    return finals, drawdowns


@pytest.mark.parametrize("method", ["shuffle", "bootstrap"])
def test_percentiles_equal_a_plain_loop(method: str) -> None:
    got = monte_carlo(PNL, capital=CAPITAL, simulations=500, seed=42, method=method)
    finals, drawdowns = reference(method, 500, 42)
    for p in (5, 50, 95):
        assert got.final_return_pct[f"p{p}"] == pytest.approx(np.percentile(finals, p), abs=1e-9)
        assert got.max_drawdown_pct[f"p{p}"] == pytest.approx(np.percentile(drawdowns, p), abs=1e-9)
    assert got.probability_of_loss == pytest.approx(sum(f < 0 for f in finals) / 500)
    if method == "shuffle":  # a permutation keeps the sum: every path ends at the same equity
        assert got.final_return_pct["p5"] == pytest.approx(got.final_return_pct["p95"])
    else:
        assert got.final_return_pct["p5"] < got.final_return_pct["p95"]
    assert got.original["final_return_pct"] == pytest.approx(sum(PNL) / CAPITAL * 100)


def test_same_seed_same_numbers_and_fan_shape() -> None:
    one = monte_carlo(PNL, capital=CAPITAL, simulations=200, seed=7, method="bootstrap")
    two = monte_carlo(PNL, capital=CAPITAL, simulations=200, seed=7, method="bootstrap")
    other = monte_carlo(PNL, capital=CAPITAL, simulations=200, seed=8, method="bootstrap")
    assert one.to_dict() == two.to_dict()
    assert one.max_drawdown_pct != other.max_drawdown_pct
    fan = one.fan
    assert fan["trade"][0] == 0 and fan["trade"][-1] == len(PNL)
    assert all(fan["bands"]["p5"][i] <= fan["bands"]["p95"][i] for i in range(len(fan["trade"])))
    assert fan["original"][0] == CAPITAL


def test_bad_arguments_say_what_to_change() -> None:
    for kwargs, words in [
        ({"method": "jackknife"}, "method"),
        ({"simulations": 0}, "simulations"),
    ]:
        with pytest.raises(ConfigError, match=words):
            monte_carlo(PNL, capital=CAPITAL, **kwargs)
    with pytest.raises(ConfigError, match="at least 2 trades"):
        monte_carlo([1.0], capital=CAPITAL)
