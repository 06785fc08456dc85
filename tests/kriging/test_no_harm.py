"""Simple and filtering kriging against closed forms; bounded variogram fits; the residual
kriging decision (none on unstructured residuals, a correction on structured ones)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LinearRegression

from geoagb.kriging import (
    KrigingRegressor,
    OrdinaryKriging,
    ResidualKrigingRegressor,
    SimpleKriging,
    Variogram,
)


def _cov(v, D, nugget_at_zero=True):
    c = v.psill_ * v.correlation(D)
    return c + (v.nugget_ * (D == 0) if nugget_at_zero else 0.0)


def test_simple_and_filtering_kriging_closed_form():
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100, (30, 2))
    z = rng.normal(size=30)
    v = Variogram.from_params("exponential", psill=2.0, range=20.0, nugget=0.5)
    D = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    C = _cov(v, D)
    targets = np.vstack([xy[:3], [[50.0, 50.0]]])
    d0 = np.hypot(*(xy[None, :, :] - targets[:, None, :]).transpose(2, 0, 1))
    # simple kriging, mean 3: exact at the data (nugget in the covariance at h = 0)
    c_exact = _cov(v, d0)
    sk = SimpleKriging(v, mean=3.0).fit(xy, z + 3.0)
    np.testing.assert_allclose(
        sk.predict(targets), 3.0 + c_exact @ np.linalg.solve(C, z), atol=1e-10
    )
    np.testing.assert_allclose(sk.predict(xy[:3]), z[:3] + 3.0, atol=1e-10)
    # filtering: the nugget is measurement error, absent from the target covariances
    c_filt = _cov(v, d0, nugget_at_zero=False)
    skf = SimpleKriging(v, mean=3.0, exact=False).fit(xy, z + 3.0)
    np.testing.assert_allclose(
        skf.predict(targets), 3.0 + c_filt @ np.linalg.solve(C, z), atol=1e-7
    )
    okf = OrdinaryKriging(v, exact=False).fit(xy, z)
    assert not np.allclose(okf.predict(xy[:3]), z[:3])
    # kriging objects are scikit-learn estimators: clone keeps a fixed model
    c = clone(OrdinaryKriging(v, n_neighbors=8))
    assert c.variogram.is_fixed and c.fit(xy, z).variogram_.range_ == 20.0


def test_variogram_bounds_warn_and_fits_table():
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 1_000, (300, 2))
    z = xy[:, 0] / 100 + rng.normal(0, 0.1, 300)  # a trend: never levels off
    with pytest.warns(UserWarning, match="stopped at its bound"):
        v = Variogram("auto", random_state=0).fit(xy, z)
    assert v.effective_range_ <= 2.0 * v.bin_edges_[-1] * (1 + 1e-6)
    assert v.psill_ <= 2.0 * np.var(z, ddof=1) * (1 + 1e-6)
    assert set(v.fits_["model"]) == {"spherical", "exponential", "gaussian"}
    assert v.fits_["chosen"].sum() == 1


def test_auto_model_prefers_simpler_on_a_near_tie():
    from geoagb.kriging._variogram import _choose

    fits = [
        {"model": "spherical", "wsse": 1.05, "at_bound": ""},
        {"model": "exponential", "wsse": 1.00, "at_bound": ""},
        {"model": "gaussian", "wsse": 0.50, "at_bound": "range"},
    ]
    assert _choose(fits, 0.1)["model"] == "spherical"  # gaussian is on its bound
    assert _choose(fits, 0.0)["model"] == "exponential"


def _plots(ratio, seed, n=300):
    from geoagb.datasets import make_plots

    total = 30.0
    p = make_plots(
        n,
        residual_range=15_000,
        residual_sd=total * np.sqrt(1 - ratio),
        noise_sd=total * np.sqrt(ratio),
        inconsistent_fraction=0.0,
        random_state=seed,
    )
    return p.drop(columns="agb"), p["agb"].to_numpy()


def test_residual_kriging_decides_from_training_data():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X, y = _plots(0.0, 1)
        Xn = X.copy()
        yn = LinearRegression().fit(X[["ndvi", "elevation"]], y).predict(X[["ndvi", "elevation"]])
        yn = yn + np.random.default_rng(0).normal(0, 30, len(y))  # learner + pure noise
        noise = ResidualKrigingRegressor(LinearRegression(), random_state=0).fit(Xn, yn)
        struct = ResidualKrigingRegressor(LinearRegression(), random_state=0).fit(X, y)
    assert noise.correction_ == "none" and noise.kriger_ is None
    np.testing.assert_allclose(
        noise.predict(X), noise.estimator_.predict(noise.learner_features(X))
    )
    assert struct.correction_ in ("full", "partial") and struct.estimated_gain_ > 0.05
    s = struct.summary()
    assert s["method"] == struct.method_ and 0 < s["shrinkage"] <= 1
    assert s["plot_spacing_m"] > 0 and isinstance(struct.kriging_cv_, pd.DataFrame)
    # filtering at the training plots: predictions are not copies of y
    assert np.abs(struct.predict(X) - y).mean() > 1.0
    exact = ResidualKrigingRegressor(
        LinearRegression(), correction="full", method="ordinary", exact=True, random_state=0
    ).fit(X, y)
    # exact kriging reproduces each out-of-fold residual at its own plot
    np.testing.assert_allclose(exact.predict_residual(X), exact.oof_residuals_, atol=1e-6)
    assert not np.allclose(struct.predict_residual(X), struct.oof_residuals_, atol=1e-3)


def test_kriging_regressor_with_drift_matches_ols_plus_ok():
    X, y = _plots(0.2, 2, n=200)
    X = X.drop(columns="geometry")
    kr = KrigingRegressor(drift="elevation", n_neighbors=32, random_state=0).fit(X, y)
    trend = LinearRegression().fit(X[["elevation"]], y)
    r = y - trend.predict(X[["elevation"]])
    ok = OrdinaryKriging(kr.variogram_, n_neighbors=32).fit(X[["x", "y"]].to_numpy(), r)
    new = X.iloc[:10].copy()
    new["x"] += 321.0
    np.testing.assert_allclose(
        kr.predict(new),
        trend.predict(new[["elevation"]]) + ok.predict(new[["x", "y"]].to_numpy()),
        atol=1e-9,
    )
    with pytest.raises(ValueError, match="drift column"):
        kr.predict(new.drop(columns="elevation"))


def test_gaussian_without_nugget_and_near_duplicates_warns():
    xy = np.array([[0.0, 0.0], [0.001, 0.0], [50.0, 10.0], [80.0, 40.0], [20.0, 70.0]])
    z = np.array([-2.0, 0.0, 3.2, 1.0, 0.5])
    v = Variogram.from_params("gaussian", psill=1.0, range=100.0, nugget=0.0)
    with pytest.warns(UserWarning, match="nearly singular"):
        OrdinaryKriging(v).fit(xy, z)
    safe = Variogram.from_params("gaussian", psill=1.0, range=100.0, nugget=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = (
            OrdinaryKriging(safe)
            .fit(xy, z)
            .predict(np.random.default_rng(0).uniform(0, 80, (50, 2)))
        )
    assert np.all(np.abs(m) < 10)
