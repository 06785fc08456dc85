"""compare_models counts folds and fold seeds won beside the corrected t-test."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import KFold

from geoagb.model_selection import compare_models
from geoagb.model_selection._compare import sign_test


def test_wins_losses_and_sign_test():
    rng = np.random.default_rng(0)
    n = 80
    X = pd.DataFrame({"x": rng.uniform(0, 1e4, n), "y": rng.uniform(0, 1e4, n)})
    X["f"] = rng.normal(size=n)
    y = 2.0 * X["f"].to_numpy() + rng.normal(0, 1.0, n)
    cmp = compare_models(
        {"mean": DummyRegressor(), "linear": LinearRegression()},
        X, y, KFold(4, shuffle=True), n_repeats=6, random_state=0, progress=False,
    )  # fmt: skip
    tab = cmp.paired("rmse")
    row = tab.loc["linear"]
    # hand count from the per-fold table
    wide = cmp.folds.pivot_table(index=["repeat", "fold"], columns="model", values="rmse")
    d = wide["linear"] - wide["mean"]
    assert row["folds_won"] == int((d < 0).sum()) and row["folds_lost"] == int((d > 0).sum())
    assert row["folds_won"] + row["folds_lost"] + row["folds_tied"] == 24
    assert row["repeats_won"] == 6 and row["repeats_lost"] == 0
    assert np.isclose(row["sign_p"], 2 * 0.5**6)  # exact two-sided sign test, 6 of 6
    s = cmp.summary()
    assert s.loc["linear", "repeats_won"] == 6 and s.loc["mean", "repeats_won"] == 0
    # r2: higher is better, so the same model wins
    assert cmp.paired("r2").loc["linear", "repeats_won"] == 6


def test_sign_test_values():
    assert sign_test(0, 0) == 1.0
    assert np.isclose(sign_test(10, 0), 2 / 1024)
    assert np.isclose(sign_test(3, 3), 1.0)
