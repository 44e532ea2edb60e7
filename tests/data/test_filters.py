"""The numpy primitives equal pandas' rolling/ewm (an independent implementation) on random
walks, for windows shorter than, equal to and longer than the data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.data.filters import ewm_mean, rolling
from engine.errors import ConfigError

WALK = np.random.default_rng(0).standard_normal(10_007).cumsum() + 100


@pytest.mark.parametrize("window", [1, 2, 3, 20, 100, 10_007, 20_000])
@pytest.mark.parametrize("how", ["sum", "mean", "max", "min"])
def test_rolling_equals_pandas(window: int, how: str) -> None:
    for min_periods in sorted({1, min(window, 5), window}):
        expected = getattr(pd.Series(WALK).rolling(window, min_periods=min_periods), how)()
        got = rolling(WALK, window, how, min_periods)
        assert np.array_equal(np.isnan(got), np.isnan(expected.to_numpy()))
        if expected.notna().any():
            diff = np.nanmax(np.abs(got - expected.to_numpy()))
            assert diff <= 1e-11 * np.nanmax(np.abs(expected)), (window, how, min_periods)


@pytest.mark.parametrize("alpha", [2 / 3, 2 / 11, 1 / 14, 0.002, 1.0])
@pytest.mark.parametrize("min_periods", [1, 5])
def test_ewm_mean_equals_pandas_from_the_first_value(alpha: float, min_periods: int) -> None:
    values = WALK.copy()
    values[:7] = np.nan  # leading gaps: the average starts at the first value
    expected = pd.Series(values).ewm(alpha=alpha, adjust=False, min_periods=min_periods).mean()
    got = ewm_mean(values, alpha, min_periods)
    assert np.array_equal(np.isnan(got), np.isnan(expected.to_numpy()))
    assert np.nanmax(np.abs(got - expected.to_numpy()) / np.abs(expected)) < 1e-12


def test_bad_arguments_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown aggregation"):
        rolling(WALK, 3, "median", 1)
    with pytest.raises(ConfigError, match="min_periods"):
        rolling(WALK, 3, "sum", 4)
    with pytest.raises(ConfigError, match="NaN after the first value"):
        ewm_mean(np.array([1.0, np.nan, 2.0]), 0.5, 1)
