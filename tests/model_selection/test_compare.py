"""compare_models: identical folds for every model, pooled vs fold-mean metrics, and the
corrected resampled t-test against a hand computation."""

import numpy as np
import pytest
from scipy import stats
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import LinearRegression

from geoagb.datasets import make_plots
from geoagb.kriging import KrigingRegressor
from geoagb.model_selection import SpatialBlockKFold, compare_models, corrected_resampled_ttest


def test_corrected_resampled_ttest_by_hand():
    d = np.array([0.5, -0.1, 0.8, 0.3, 0.2, 0.4])
    r = corrected_resampled_ttest(d, n_train=75, n_test=25)
    se = np.sqrt((1 / 6 + 25 / 75) * d.var(ddof=1))
    assert r["t"] == pytest.approx(d.mean() / se)
    q = stats.t.ppf(0.975, 5)
    assert r["ci_low"] == pytest.approx(d.mean() - q * se)
    assert r["p_value"] == pytest.approx(2 * stats.t.sf(d.mean() / se, 5))
    with pytest.raises(ValueError, match="at least 2"):
        corrected_resampled_ttest([1.0], 10, 5)


@pytest.fixture(scope="module")
def cmp():
    plots = make_plots(240, random_state=2)
    X, y = plots.drop(columns="agb"), plots["agb"]
    models = {
        "mean": DummyRegressor(),
        "linear": LinearRegression(),
        "kriging alone": KrigingRegressor(n_neighbors=24, random_state=0),
    }
    return compare_models(
        models,
        X,
        y,
        SpatialBlockKFold(4, block_size=10_000),
        n_repeats=3,
        random_state=0,
        progress=False,
    ), y.to_numpy()


def test_same_folds_pooled_and_fold_mean(cmp):
    res, y = cmp
    # identical folds: the number of test plots per fold is the same for every model
    sizes = res.folds.pivot_table(index=["repeat", "fold"], columns="model", values="n_test")
    assert (sizes.nunique(axis=1) == 1).all()
    assert len(res.folds) == 3 * 4 * 3
    # pooled RMSE of a repeat is the RMSE of its out-of-fold predictions
    p = res.oof_predictions["linear"][1]
    row = res.pooled[(res.pooled["model"] == "linear") & (res.pooled["repeat"] == 1)]
    assert row["pooled_rmse"].item() == pytest.approx(np.sqrt(np.mean((y - p) ** 2)))
    s = res.summary()
    assert {"pooled_r2", "fold_mean_r2", "pooled_rmse_sd"} <= set(s.columns)


def test_paired_differences_match_fold_table(cmp):
    res, _ = cmp
    tab = res.paired("rmse")
    wide = res.folds.pivot_table(index=["repeat", "fold"], columns="model", values="rmse")
    d = wide["linear"] - wide["mean"]
    assert tab.loc["linear", "mean"] == pytest.approx(d.mean())
    assert tab.loc["linear", "ci_high"] < 0  # a linear model beats the mean clearly
    assert tab.loc["linear", "n_folds"] == 12
    assert res.plot().axes[0].get_xlabel().startswith("rmse difference to mean")
    with pytest.raises(ValueError, match="metric"):
        res.paired("bias")
