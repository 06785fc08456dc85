import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import KFold, cross_validate

from geoagb import metrics as M

Y = np.array([10.0, 20.0, 30.0, 40.0])
P = np.array([12.0, 18.0, 33.0, 41.0])


def test_hand_computed_values():
    # residuals p - y: 2, -2, 3, 1 ; squares 4, 4, 9, 1 -> mean 4.5
    assert M.rmse(Y, P) == pytest.approx(np.sqrt(4.5))
    assert M.mae(Y, P) == pytest.approx(2.0)
    # SS_tot = 500, SS_res = 18
    assert M.r2(Y, P) == pytest.approx(1 - 18 / 500)
    # |sum(p - y)| / |sum(y)| = 4 / 100
    assert M.overall_bias(Y, P) == pytest.approx(0.04)
    assert M.mean_residual(Y, P) == pytest.approx(-1.0)
    assert M.sd_residual(Y, P) == pytest.approx(np.std(Y - P, ddof=1))
    # slope of p on y: cov = (-15*-14 + -5*-8 + 5*7 + 15*15)/4 = 127.5, var(y) = 125
    assert M.regression_slope(Y, P) == pytest.approx(1.02)
    assert M.relative_improvement(30.0, 24.0) == pytest.approx(0.2)


def test_against_sklearn_and_numpy():
    rng = np.random.default_rng(0)
    y = rng.gamma(3, 30, 500)
    p = y + rng.normal(0, 20, 500)
    assert M.r2(y, p) == pytest.approx(r2_score(y, p))
    assert M.rmse(y, p) == pytest.approx(np.sqrt(mean_squared_error(y, p)))
    assert M.mae(y, p) == pytest.approx(mean_absolute_error(y, p))
    assert M.pearson_r(y, p) == pytest.approx(np.corrcoef(y, p)[0, 1])
    s = M.agb_scores(y, p)
    assert set(s) == {
        "r",
        "r2",
        "rmse",
        "mae",
        "overall_bias",
        "mean_residual",
        "sd_residual",
        "slope",
    }


def test_binned_scores_by_hand():
    y = np.array([10, 40, 60, 90, 120, 250, 300.0])
    p = np.array([15, 35, 70, 80, 100, 190, 210.0])
    b = M.binned_scores(y, p)
    assert b["class"].tolist() == ["0-50", "50-100", "100-150", "150-200", ">200"]
    assert b["n"].tolist() == [2, 2, 1, 0, 2]
    assert b.loc[0, "median_pred"] == pytest.approx(25.0)
    assert b.loc[4, "median_pred"] == pytest.approx(200.0)
    assert b.loc[4, "iqr_pred"] == pytest.approx(
        np.percentile([190, 210], 75) - np.percentile([190, 210], 25)
    )
    assert np.isnan(b.loc[3, "median_pred"])


def test_scorers_in_cross_validate():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(100, 3))
    y = X @ [1.0, 2.0, -1.0] + rng.normal(0, 0.5, 100)
    cv = KFold(4, shuffle=True, random_state=0)
    out = cross_validate(LinearRegression(), X, y, cv=cv, scoring=M.SCORERS)
    ref = cross_validate(
        LinearRegression(), X, y, cv=cv, scoring=["r2", "neg_root_mean_squared_error"]
    )
    np.testing.assert_allclose(out["test_r2"], ref["test_r2"])
    np.testing.assert_allclose(out["test_neg_rmse"], ref["test_neg_root_mean_squared_error"])


def test_bad_input():
    with pytest.raises(ValueError, match="align"):
        M.rmse([1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="finite"):
        M.rmse([1, np.nan], [1, 2])
    with pytest.raises(ValueError, match="increasing"):
        M.binned_scores(Y, P, bins=[0, 50, 20])
