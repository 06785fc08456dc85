"""ResidualKrigingRegressor: decomposition, honest residuals, sklearn contract, bad input."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import ExtraTreesRegressor
from sklearn.linear_model import BayesianRidge, LinearRegression, Ridge
from sklearn.model_selection import GridSearchCV, KFold, cross_val_predict, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeRegressor
from sklearn.utils.estimator_checks import parametrize_with_checks

from geoagb.datasets import make_plots
from geoagb.datasets._plots import PLOT_FEATURES
from geoagb.kriging import OrdinaryKriging, ResidualKrigingRegressor
from geoagb.model_selection import SpatialBlockKFold

RK = ResidualKrigingRegressor


@pytest.fixture(scope="module")
def data():
    plots = make_plots(300, random_state=1)
    return plots.drop(columns="agb"), plots["agb"].to_numpy()


def _spatial_cv():
    return SpatialBlockKFold(n_splits=5, block_size=5_000, random_state=0)


# ---------------------------------------------------------------- decomposition
@pytest.mark.parametrize(
    "kw",
    [
        {},
        {"method": "cokriging", "secondary": "elevation"},
        {"method": "cokriging_full", "secondary": "elevation"},
    ],
)
def test_predict_is_learner_plus_kriged_residual(data, kw):
    X, y = data
    rk = RK(Ridge(alpha=1.0), n_neighbors=24, random_state=0, **kw).fit(X, y)
    new = X.iloc[::7]
    base = rk.estimator_.predict(rk.learner_features(new))
    assert np.array_equal(rk.predict(new), base + rk.predict_residual(new))
    mean, std = rk.predict(new, return_std=True)
    assert np.array_equal(mean, rk.predict(new))
    _, rstd = rk.predict_residual(new, return_std=True)
    np.testing.assert_array_equal(std, rstd)  # Ridge has no std of its own


def test_learner_features(data):
    X, y = data
    rk = RK(Ridge(), method="cokriging", secondary="elevation")
    assert list(rk.learner_features(X).columns) == PLOT_FEATURES
    rk.set_params(secondary_as_feature=False)
    assert "elevation" not in rk.learner_features(X).columns
    rk.set_params(coords_as_features=True, secondary_as_feature=True)
    assert list(rk.learner_features(X).columns) == ["x", "y"] + PLOT_FEATURES
    fitted = RK(Ridge(), random_state=0).fit(X, y)
    assert list(fitted.estimator_.feature_names_in_) == PLOT_FEATURES


def test_out_of_fold_residuals_and_kriging(data):
    X, y = data
    rk = RK(Ridge(), method="ordinary", correction="full", n_neighbors=16, random_state=3).fit(X, y)
    Xf = X[PLOT_FEATURES]
    oof = cross_val_predict(Ridge(), Xf, y, cv=KFold(5, shuffle=True, random_state=3))
    np.testing.assert_allclose(rk.oof_residuals_, y - oof, atol=1e-9)
    xy = X[["x", "y"]].to_numpy()
    new = xy[:40] + 150.0
    ok = OrdinaryKriging(rk.residual_variogram_, n_neighbors=16).fit(xy, rk.oof_residuals_)
    np.testing.assert_allclose(
        rk.predict_residual(pd.DataFrame(new, columns=["x", "y"])), ok.predict(new), atol=1e-12
    )
    # the default decides by cross-validation and adds shrinkage x the chosen kriging
    auto = RK(Ridge(), n_neighbors=16, random_state=3).fit(X, y)
    assert auto.method_ in ("simple", "ordinary", "none")
    if auto.kriger_ is not None:
        np.testing.assert_allclose(
            auto.predict_residual(pd.DataFrame(new, columns=["x", "y"])),
            auto.shrinkage_ * auto.kriger_.predict(new),
            atol=1e-12,
        )
        cvt = auto.kriging_cv_.set_index("method")
        assert cvt.loc[auto.method_, "rmse_with"] <= cvt.loc[auto.method_, "rmse_without"]


def test_in_sample_residuals(data):
    X, y = data
    rk = RK(Ridge(), residuals="insample", random_state=0).fit(X, y)
    np.testing.assert_allclose(rk.oof_residuals_, y - rk.estimator_.predict(X[PLOT_FEATURES]))


def test_spatial_splitter_as_cv(data):
    X, y = data
    cv = _spatial_cv()
    rk = RK(Ridge(), cv=cv, random_state=0).fit(X, y)
    oof = cross_val_predict(Ridge(), X[PLOT_FEATURES], y, cv=list(cv.split(X)))
    np.testing.assert_allclose(rk.oof_residuals_, y - oof, atol=1e-9)


def test_zero_variance_residuals_warn_and_leave_learner_alone(data):
    X, y = data
    with pytest.warns(UserWarning, match="zero variance"):
        rk = RK(DecisionTreeRegressor(random_state=0), residuals="insample").fit(X, y)
    assert rk.residual_variogram_ is None and rk.kriger_ is None
    np.testing.assert_array_equal(rk.predict(X), rk.estimator_.predict(X[PLOT_FEATURES]))


def test_oof_residuals_improve_spatial_cv_and_in_sample_do_not():
    plots = make_plots(400, random_state=0)
    X, y = plots.drop(columns="agb"), plots["agb"].to_numpy()
    cv = list(_spatial_cv().split(X))
    et = ExtraTreesRegressor(n_estimators=40, random_state=0, n_jobs=1)

    def rmse(est, Xin):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            p = cross_val_predict(est, Xin, y, cv=cv)
        return float(np.sqrt(np.mean((y - p) ** 2)))

    base = rmse(et, X[PLOT_FEATURES])
    oof = rmse(RK(et, random_state=0), X)
    ins = rmse(RK(et, residuals="insample", random_state=0), X)
    # a fully grown forest reproduces its training data: in-sample residuals are zero
    assert ins == pytest.approx(base, rel=1e-12)
    assert (base - oof) / base > 0.04


# ---------------------------------------------------------------- sklearn composition
def test_cross_validate_and_grid_search(data):
    X, y = data
    cv = list(KFold(4, shuffle=True, random_state=0).split(X))
    rk = RK(Ridge(), n_neighbors=16, random_state=0)
    res = cross_validate(rk, X, y, cv=cv, scoring="neg_root_mean_squared_error")
    manual = [
        -np.sqrt(np.mean((y[te] - rk.fit(X.iloc[tr], y[tr]).predict(X.iloc[te])) ** 2))
        for tr, te in cv
    ]
    np.testing.assert_allclose(res["test_score"], manual)
    gs = GridSearchCV(
        rk,
        {"n_neighbors": [8, 32], "estimator__alpha": [0.1, 10.0]},
        cv=cv,
        scoring="neg_root_mean_squared_error",
    ).fit(X, y)
    best = RK(
        Ridge(alpha=gs.best_params_["estimator__alpha"]),
        n_neighbors=gs.best_params_["n_neighbors"],
        random_state=0,
    ).fit(X, y)
    np.testing.assert_allclose(gs.predict(X.iloc[:20]), best.predict(X.iloc[:20]))


def test_pipeline_learner_and_outer_pipeline(data):
    X, y = data
    rk = RK(make_pipeline(StandardScaler(), Ridge()), random_state=0).fit(X, y)
    new = X.iloc[:25]
    assert np.array_equal(
        rk.predict(new), rk.estimator_.predict(rk.learner_features(new)) + rk.predict_residual(new)
    )
    outer = make_pipeline(RK(make_pipeline(StandardScaler(), Ridge()), random_state=0)).fit(X, y)
    np.testing.assert_array_equal(outer.predict(new), rk.predict(new))


def test_std_combines_learner_and_kriging(data):
    X, y = data
    rk = RK(BayesianRidge(), n_neighbors=16, random_state=0).fit(X, y)
    new = X.iloc[:30]
    _, std = rk.predict(new, return_std=True)
    _, ls = rk.estimator_.predict(rk.learner_features(new), return_std=True)
    _, ks = rk.predict_residual(new, return_std=True)
    np.testing.assert_allclose(std**2, ls**2 + ks**2)


def test_pickle_round_trip(data):
    X, y = data
    rk = RK(Ridge(), method="cokriging", secondary="elevation", random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(rk))
    np.testing.assert_array_equal(again.predict(X.iloc[:50]), rk.predict(X.iloc[:50]))


# ---------------------------------------------------------------- bad input
def test_bad_input(data):
    X, y = data
    with pytest.raises(ValueError, match="geographic"):
        RK(Ridge()).fit(X.to_crs(4326), y)
    lonlat = pd.DataFrame({"lon": X["x"] / 1e5, "lat": X["y"] / 1e5, "ndvi": X["ndvi"]})
    with pytest.raises(ValueError, match="longitude/latitude in degrees"):
        RK(Ridge(), coords=("lon", "lat")).fit(lonlat, y)
    Xn = pd.DataFrame(X.drop(columns="geometry"))
    Xn.loc[Xn.index[3], "x"] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite coordinates"):
        RK(Ridge()).fit(Xn, y)
    yn = y.copy()
    yn[2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        RK(Ridge()).fit(X, yn)
    with pytest.raises(TypeError, match="coords=\\(0, 1\\)"):
        RK(Ridge()).fit(X[["x", "y", "ndvi"]].to_numpy(), y)
    with pytest.raises(ValueError, match="needs secondary=<column of X>"):
        RK(Ridge(), method="cokriging").fit(X, y)
    with pytest.raises(ValueError, match="only used by co-kriging"):
        RK(Ridge(), secondary="elevation").fit(X, y)
    with pytest.raises(ValueError, match="method='kriging'; choose one of"):
        RK(Ridge(), method="kriging").fit(X, y)
    with pytest.raises(ValueError, match="residuals='train'; choose one of"):
        RK(Ridge(), residuals="train").fit(X, y)
    with pytest.raises(ValueError, match="at least 10 distinct locations \\(got 8\\)"):
        RK(Ridge(), cv=2).fit(X.iloc[:8], y[:8])
    rk = RK(Ridge(), method="cokriging", secondary="elevation", random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="secondary variable\\(s\\) \\['elevation'\\] missing"):
        rk.predict(X.drop(columns="elevation"))
    with pytest.raises(ValueError, match="missing \\(NaN\\) at 1 target"):
        Xe = X.iloc[:5].copy()
        Xe.loc[Xe.index[0], "elevation"] = np.nan
        rk.predict(Xe)


# ---------------------------------------------------------------- scikit-learn checks
EXPECTED_FAILED = {
    "check_estimators_dtypes": "casts X to integers, leaving 9 distinct locations among 20 "
    "samples: fewer than a variogram needs (10), which is an error",
}


@parametrize_with_checks(
    [
        RK(
            LinearRegression(),
            coords=(0, 1),
            coords_as_features=True,
            n_neighbors=16,
            random_state=0,
        )
    ],
    expected_failed_checks=lambda est: EXPECTED_FAILED,
)
def test_sklearn_compatible(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # duplicate-location notices on toy data
        check(estimator)
