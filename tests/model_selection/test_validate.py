import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import cross_validate

from geoagb.metrics import r2, rmse
from geoagb.model_selection import (
    SpatialBlockKFold,
    block_size_sensitivity,
    plot_folds,
    spatial_cross_validate,
    suggest_block_size,
)


class RecordColumns(RegressorMixin, BaseEstimator):
    seen = []

    def fit(self, X, y):
        RecordColumns.seen.append(list(X.columns))
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


def test_matches_manual_loop_and_sklearn(plots600):
    plots, _ = plots600
    X, y = plots.drop(columns="agb"), plots["agb"].to_numpy()
    cv = SpatialBlockKFold(5, block_size=5_000, random_state=0)
    res = spatial_cross_validate(LinearRegression(), X, y, cv, progress=False)
    feats = X.drop(columns=["x", "y", "geometry"])
    folds = res.folds
    for k, (tr, te) in enumerate(cv.split(X)):
        m = LinearRegression().fit(feats.iloc[tr], y[tr])
        row_v = folds[(folds["fold"] == k) & (folds["set"] == "validation")].iloc[0]
        row_t = folds[(folds["fold"] == k) & (folds["set"] == "train")].iloc[0]
        assert row_v["rmse"] == pytest.approx(rmse(y[te], m.predict(feats.iloc[te])))
        assert row_t["r2"] == pytest.approx(r2(y[tr], m.predict(feats.iloc[tr])))
        np.testing.assert_allclose(res.oof_predictions[te], m.predict(feats.iloc[te]))
    sk = cross_validate(LinearRegression(), feats, y, cv=cv.split(X), scoring="r2")
    np.testing.assert_allclose(res.folds.query("set == 'validation'")["r2"], sk["test_score"])
    summ = res.summary(fmt=None)
    assert summ.loc["validation", "r2_mean"] == pytest.approx(np.mean(sk["test_score"]))
    assert summ.loc["validation", "r2_sd"] == pytest.approx(np.std(sk["test_score"], ddof=1))
    assert "±" in res.summary(fmt="{:.3f} ± {:.3f}").loc["train", "rmse"]


def test_coordinates_never_reach_the_learner(plots600):
    plots, _ = plots600
    RecordColumns.seen = []
    spatial_cross_validate(
        RecordColumns(),
        plots.drop(columns="agb"),
        plots["agb"],
        SpatialBlockKFold(3, block_size=10_000, random_state=0),
        progress=False,
    )
    assert RecordColumns.seen and all(
        {"x", "y", "geometry"}.isdisjoint(c) for c in RecordColumns.seen
    )
    RecordColumns.seen = []
    spatial_cross_validate(
        RecordColumns(),
        plots.drop(columns="agb"),
        plots["agb"],
        3,
        coords_as_features=True,
        progress=False,
    )
    assert all({"x", "y"} <= set(c) for c in RecordColumns.seen)


def test_spatial_cv_scores_below_random_cv(plots600):
    """Leakage made visible: random k-fold is optimistic on autocorrelated plots."""
    plots, _ = plots600
    X, y = plots.drop(columns="agb"), plots["agb"]
    rf = RandomForestRegressor(n_estimators=60, min_samples_leaf=2, n_jobs=2, random_state=0)
    res = block_size_sensitivity(
        rf, X, y, block_sizes=(10_000,), n_splits=5, progress=False, random_state=0
    )
    tab = res.table(("r2",))
    assert tab.loc[10_000, "validation_r2_mean"] < tab.loc["random", "validation_r2_mean"] - 0.02
    assert tab.loc[10_000, "train_r2_mean"] > 0.85
    fig = res.plot()
    assert len(fig.axes[0].get_xticklabels()) == 2


def _grf(model_cls, eff_range, seed, n=1000, extent=20_000.0, nugget_sd=0.3):
    import gstools as gs

    from geoagb.kriging._models import effective_range

    name = {"Spherical": "spherical", "Exponential": "exponential", "Gaussian": "gaussian"}[
        model_cls.__name__
    ]
    a = eff_range / effective_range(name, 1.0)
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, extent, (n, 2))
    z = gs.SRF(model_cls(dim=2, var=1.0, len_scale=a), seed=seed + 100)((xy[:, 0], xy[:, 1]))
    return xy, z + rng.normal(0, nugget_sd, n)


def test_suggest_block_size_recovers_known_range():
    import gstools as gs

    xy, z = _grf(gs.Exponential, 2_000.0, seed=4)
    s = suggest_block_size(xy, z, random_state=0)
    assert float(s) == pytest.approx(2_000.0, rel=0.25)
    assert float(s) == pytest.approx(s.variogram.effective_range_)
    assert s.trustworthy and s.nugget_to_sill == pytest.approx(0.09 / 1.09, abs=0.08)
    assert s.plot_spacing < 600 and s.extent > 19_000
    assert s.plot() is not None


@pytest.mark.slow
@pytest.mark.parametrize("model", ["Spherical", "Exponential", "Gaussian"])
def test_suggest_block_size_within_25_percent_for_18_of_20_fields(model):
    import gstools as gs

    cls = getattr(gs, model)
    hits = 0
    for seed in range(20):
        xy, z = _grf(cls, 2_000.0, seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hits += abs(float(suggest_block_size(xy, z, random_state=seed)) / 2_000.0 - 1) <= 0.25
    assert hits >= 18


def test_suggest_block_size_from_residuals_and_warnings():
    from sklearn.linear_model import LinearRegression

    from geoagb.datasets import make_plots

    plots = make_plots(300, random_state=0)
    X, y = plots.drop(columns="agb"), plots["agb"]
    s = suggest_block_size(X, y, estimator=LinearRegression(), random_state=0)
    assert s.source.startswith("out-of-fold residuals of LinearRegression")
    # pure noise: nugget-dominated variogram is flagged, never silently trusted
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 5_000, (300, 2))
    with pytest.warns(UserWarning, match="nugget|bound|below the median plot spacing"):
        s = suggest_block_size(xy, rng.normal(size=300), random_state=0)
    assert not s.trustworthy and s.notes
    # degrees are refused before any fitting
    with pytest.raises(ValueError, match="degrees"):
        suggest_block_size(xy / 1e5 + [104.0, 30.0], rng.normal(size=300), max_lag=500.0)


def test_suggest_block_size_bad_input():
    with pytest.raises(ValueError, match="at least 30"):
        suggest_block_size(np.random.rand(10, 2) * 1e4, np.random.rand(10))
    with pytest.raises(ValueError, match="not a known variogram model"):
        suggest_block_size(np.random.rand(50, 2) * 1e4, np.random.rand(50), model="cubic")


def test_plot_folds_colours_every_sample_by_fold(plots600):
    plots, _ = plots600
    cv = SpatialBlockKFold(5, block_size=10_000, random_state=0)
    fig = plot_folds(cv, plots)
    offsets = fig.axes[0].collections[0].get_offsets()
    assert len(offsets) == len(plots)
    colours = fig.axes[0].collections[0].get_array()
    np.testing.assert_array_equal(colours, cv.fold_labels(plots))


def test_result_plot_and_oof(plots600):
    plots, _ = plots600
    res = spatial_cross_validate(
        LinearRegression(),
        plots.drop(columns="agb"),
        plots["agb"],
        SpatialBlockKFold(4, block_size=10_000, random_state=0),
        progress=False,
    )
    s = res.oof_scores()
    assert s["rmse"] == pytest.approx(rmse(plots["agb"], res.oof_predictions))
    fig = res.plot()
    assert len(fig.axes[0].collections[0].get_offsets()) == len(plots)


def test_length_mismatch():
    with pytest.raises(ValueError, match="samples but y has"):
        spatial_cross_validate(
            LinearRegression(),
            pd.DataFrame({"x": [0.0, 1], "y": [0.0, 1], "f": [1, 2]}),
            [1.0],
            2,
            progress=False,
        )
