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
    for k, (tr, te) in enumerate(cv.split(X)):
        m = LinearRegression().fit(feats.iloc[tr], y[tr])
        row_v = res.folds.query("fold == @k and set == 'validation'").iloc[0]
        row_t = res.folds.query("fold == @k and set == 'train'").iloc[0]
        assert row_v["rmse"] == pytest.approx(rmse(y[te], m.predict(feats.iloc[te])))
        assert row_t["r2"] == pytest.approx(r2(y[tr], m.predict(feats.iloc[tr])))
        np.testing.assert_allclose(res.oof_predictions[te], m.predict(feats.iloc[te]))
    sk = cross_validate(LinearRegression(), feats, y, cv=cv.split(X), scoring="r2")
    np.testing.assert_allclose(res.folds.query("set == 'validation'")["r2"], sk["test_score"])
    summ = res.summary(fmt=None)
    assert summ.loc["validation", "r2_mean"] == pytest.approx(np.mean(sk["test_score"]))
    assert summ.loc["validation", "r2_sd"] == pytest.approx(np.std(sk["test_score"], ddof=1))
    assert "±" in res.summary().loc["train", "rmse"]


def test_coordinates_never_reach_the_learner(plots600):
    plots, _ = plots600
    RecordColumns.seen = []
    spatial_cross_validate(RecordColumns(), plots.drop(columns="agb"), plots["agb"],
                           SpatialBlockKFold(3, block_size=10_000, random_state=0), progress=False)
    assert RecordColumns.seen and all({"x", "y", "geometry"}.isdisjoint(c) for c in RecordColumns.seen)
    RecordColumns.seen = []
    spatial_cross_validate(RecordColumns(), plots.drop(columns="agb"), plots["agb"], 3,
                           coords_as_features=True, progress=False)
    assert all({"x", "y"} <= set(c) for c in RecordColumns.seen)


def test_spatial_cv_scores_below_random_cv(plots600):
    """Leakage made visible: random k-fold is optimistic on autocorrelated plots."""
    plots, _ = plots600
    X, y = plots.drop(columns="agb"), plots["agb"]
    rf = RandomForestRegressor(n_estimators=60, min_samples_leaf=2, n_jobs=2, random_state=0)
    res = block_size_sensitivity(rf, X, y, block_sizes=(10_000,), n_splits=5, progress=False)
    tab = res.table(("r2",))
    assert tab.loc[10_000, "validation_r2_mean"] < tab.loc["random", "validation_r2_mean"] - 0.02
    assert tab.loc[10_000, "train_r2_mean"] > 0.85
    fig = res.plot()
    assert len(fig.axes[0].get_xticklabels()) == 2


def test_suggest_block_size_recovers_known_range():
    import gstools as gs

    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 100_000, (3000, 2))
    model = gs.Exponential(dim=2, var=1.0, len_scale=8_000.0)
    v = gs.SRF(model, seed=3)((xy[:, 0], xy[:, 1]))
    block, fitted = suggest_block_size(xy, v, return_model=True, max_dist=40_000)
    # practical (95 %) range of an exponential model is 3 * len_scale = 24 km
    assert block == pytest.approx(fitted.percentile_scale(0.95))
    assert 15_000 < block < 35_000


def test_suggest_block_size_bad_input():
    with pytest.raises(ValueError, match="at least 30"):
        suggest_block_size(np.random.rand(10, 2) * 1e4, np.random.rand(10))
    with pytest.raises(ValueError, match="choose one of"):
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
    res = spatial_cross_validate(LinearRegression(), plots.drop(columns="agb"), plots["agb"],
                                 SpatialBlockKFold(4, block_size=10_000, random_state=0), progress=False)
    s = res.oof_scores()
    assert s["rmse"] == pytest.approx(rmse(plots["agb"], res.oof_predictions))
    fig = res.plot()
    assert len(fig.axes[0].collections[0].get_offsets()) == len(plots)


def test_length_mismatch():
    with pytest.raises(ValueError, match="samples but y has"):
        spatial_cross_validate(LinearRegression(), pd.DataFrame({"x": [0.0, 1], "y": [0.0, 1], "f": [1, 2]}),
                               [1.0], 2, progress=False)
