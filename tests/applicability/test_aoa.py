import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist, pdist
from sklearn.base import clone

from geoagb.applicability import AreaOfApplicability, dissimilarity_index
from geoagb.model_selection import SpatialBlockKFold

from ._reference import cast_new_di, cast_train_di

SQUARE = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
DBAR_SQUARE = (4 + 2 * np.sqrt(2)) / 6  # mean pairwise distance of the unit-square corners


def test_unit_square_closed_form():
    aoa = AreaOfApplicability(weights="uniform").fit(SQUARE)
    # both coordinates have the same sd, so DI = raw distance / raw mean distance
    assert aoa.training_di_ == pytest.approx(np.full(4, 1 / DBAR_SQUARE))
    assert aoa.threshold_ == pytest.approx(1 / DBAR_SQUARE)
    new = [[0.5, 0.5], [0.5, 0.0], [3.0, 3.0], [1.0, 1.0]]
    expect = np.array([np.sqrt(0.5), 0.5, 2 * np.sqrt(2), 0.0]) / DBAR_SQUARE
    assert aoa.di(new) == pytest.approx(expect)
    assert aoa.predict(new).tolist() == [True, True, False, True]
    assert aoa.mean_distance_exact_
    # LPD: training samples at DI < threshold, i.e. raw distance < 1 (strict)
    assert aoa.local_point_density([[0.5, 0.5], [0.5, 0.0], [3.0, 3.0]]).tolist() == [4, 2, 0]


def test_box_lattice_inside_and_outside():
    """Training on an 11 x 11 lattice over the unit box: every training DI is spacing / dbar, so
    the threshold is the spacing; a point t beyond the box edge has DI t / dbar."""
    g = np.linspace(0, 1, 11)
    X = np.column_stack([a.ravel() for a in np.meshgrid(g, g)])
    aoa = AreaOfApplicability(weights="uniform").fit(X)
    sd = X.std(0, ddof=1)[0]
    dbar = pdist(X / sd).mean()
    assert aoa.mean_distance_ == pytest.approx(dbar)
    assert aoa.threshold_ == pytest.approx(0.1 / sd / dbar)
    rng = np.random.default_rng(0)
    inside = rng.uniform(0, 1, (500, 2))
    assert aoa.predict(inside).all()  # <= half a lattice diagonal away
    assert aoa.di(inside).max() <= np.sqrt(2) * 0.05 / sd / dbar + 1e-12
    t = np.array([0.05, 0.099, 0.101, 0.5])
    out = np.column_stack([1 + t, np.full(4, 0.5)])
    assert aoa.di(out) == pytest.approx(t / sd / dbar)
    assert aoa.predict(out).tolist() == [True, True, False, False]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(42)
    X = rng.normal(size=(150, 4)) * [1.0, 10.0, 0.1, 3.0] + [0, 100, 5, -2]
    new = rng.normal(size=(200, 4)) * [1.5, 15.0, 0.15, 4.0] + [0, 100, 5, -2]
    return X, new


def test_matches_cast_reference_with_weights_and_folds(data):
    X, new = data
    w = np.array([1.0, 0.5, 2.0, 0.1])
    folds = np.repeat(np.arange(5), 30)
    np.random.default_rng(1).shuffle(folds)
    aoa = AreaOfApplicability(weights=w).fit(X, folds=folds)
    cvtest = [np.flatnonzero(folds == f) for f in range(5)]
    cvtrain = [np.flatnonzero(folds != f) for f in range(5)]
    ref_di, ref_dbar = cast_train_di(X, w, cvtest, cvtrain)
    assert aoa.mean_distance_ == pytest.approx(ref_dbar, rel=1e-12)
    assert aoa.training_di_ == pytest.approx(ref_di, rel=1e-10)
    q1, q3 = np.quantile(ref_di, [0.25, 0.75])
    assert aoa.threshold_ == pytest.approx(min(q3 + 1.5 * (q3 - q1), ref_di.max()))
    assert aoa.di(new) == pytest.approx(cast_new_di(X, w, new, ref_dbar), rel=1e-10)
    # the same folds given as (train, test) pairs, or as labels of another type
    aoa2 = AreaOfApplicability(weights=w).fit(X, folds=list(zip(cvtrain, cvtest)))
    assert aoa2.training_di_ == pytest.approx(aoa.training_di_)
    aoa3 = AreaOfApplicability(weights=w).fit(X, folds=[f"f{f}" for f in folds])
    assert aoa3.training_di_ == pytest.approx(aoa.training_di_)


def test_cv_aware_di_is_larger_than_loo_di(data):
    X, _ = data
    loo = AreaOfApplicability(weights="uniform").fit(X)
    ref, _ = cast_train_di(X, np.ones(4))
    assert loo.training_di_ == pytest.approx(ref)
    cv = AreaOfApplicability(weights="uniform").fit(X, folds=np.arange(150) % 3)
    assert np.all(cv.training_di_ >= loo.training_di_ - 1e-12)


def test_buffered_splitter_train_sets_are_used():
    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 10_000, (120, 2))
    df = pd.DataFrame(
        {
            "x": xy[:, 0],
            "y": xy[:, 1],
            "a": rng.normal(size=120),
            "b": xy[:, 0] / 1000 + rng.normal(0, 0.3, 120),
        }
    )
    cv = SpatialBlockKFold(n_splits=4, block_size=2_500, random_state=0, buffer=1_000)
    aoa = AreaOfApplicability(weights="uniform", cv=cv).fit(df)
    assert list(aoa.feature_names_in_) == ["a", "b"]  # coordinates are not predictors
    splits = list(cv.split(df))
    ref, _ = cast_train_di(
        df[["a", "b"]].to_numpy(), np.ones(2), [t for _, t in splits], [tr for tr, _ in splits]
    )
    assert aoa.training_di_ == pytest.approx(ref)


def test_weights_scale_invariance_and_zero_weight(data):
    X, new = data
    a = AreaOfApplicability(weights=[1, 2, 3, 0]).fit(X)
    b = AreaOfApplicability(weights=[10, 20, 30, 0]).fit(X)
    c = AreaOfApplicability(weights=[1, 2, 3]).fit(X[:, :3])
    assert a.di(new) == pytest.approx(b.di(new))
    assert a.di(new) == pytest.approx(c.di(new[:, :3]))
    assert a.threshold_ == pytest.approx(c.threshold_)


def test_whisker_threshold_rule(data):
    X, _ = data
    a = AreaOfApplicability(weights="uniform", threshold="whisker").fit(X)
    from ._reference import r_boxplot_upper

    assert a.threshold_ == pytest.approx(r_boxplot_upper(a.training_di_))


def test_mean_distance_subsample_estimate():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 3))
    exact = AreaOfApplicability(weights="uniform").fit(X)
    est = AreaOfApplicability(weights="uniform", max_exact=500, random_state=0).fit(X)
    assert exact.mean_distance_exact_ and not est.mean_distance_exact_
    assert est.mean_distance_ == pytest.approx(exact.mean_distance_, rel=0.03)
    again = AreaOfApplicability(weights="uniform", max_exact=500, random_state=0).fit(X)
    assert again.mean_distance_ == est.mean_distance_


def test_lpd_matches_brute_force(data):
    X, new = data
    folds = np.arange(150) % 4
    aoa = AreaOfApplicability(weights="uniform", lpd=True).fit(X, folds=folds)
    sd = X.std(0, ddof=1)
    Z, N = (X - X.mean(0)) / sd, (new - X.mean(0)) / sd
    r = aoa.threshold_ * aoa.mean_distance_
    assert aoa.local_point_density(new).tolist() == (cdist(N, Z) < r).sum(1).tolist()
    D = cdist(Z, Z)
    ref = [int(((D[i] < r) & (folds != folds[i])).sum()) for i in range(150)]
    assert aoa.training_lpd_.tolist() == ref


def test_missing_values_in_new_data(data):
    X, new = data
    aoa = AreaOfApplicability(weights="uniform").fit(X)
    new = new[:3].copy()
    new[1, 2] = np.nan
    di = aoa.di(new)
    assert np.isnan(di[1]) and np.isfinite(di[[0, 2]]).all()
    assert not aoa.predict(new)[1]
    assert aoa.local_point_density(new)[1] == -1


def test_chunking_does_not_change_results(data):
    X, new = data
    a = AreaOfApplicability(weights="uniform", chunk_size=7, n_jobs=2).fit(X)
    b = AreaOfApplicability(weights="uniform").fit(X)
    assert a.di(new) == pytest.approx(b.di(new))


def test_dataframe_columns_by_name_and_shorthand(data):
    X, new = data
    cols = ["a", "b", "c", "d"]
    df, ndf = pd.DataFrame(X, columns=cols), pd.DataFrame(new, columns=cols)
    aoa = AreaOfApplicability(weights={"a": 1, "b": 1, "c": 1, "d": 1}).fit(df)
    assert aoa.di(ndf[cols[::-1]]) == pytest.approx(aoa.di(new))  # matched by name, not position
    assert dissimilarity_index(df, ndf) == pytest.approx(aoa.di(new))


def test_shap_and_permutation_weights(data):
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.inspection import permutation_importance

    from geoagb.explain import explain

    X, new = data
    df = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    y = 3 * df["a"] + 0.1 * df["b"] + np.random.default_rng(0).normal(0, 0.5, len(df))
    rf = RandomForestRegressor(n_estimators=20, max_depth=4, random_state=0).fit(df, y)
    aoa = AreaOfApplicability().fit(df, y, model=rf)  # "auto" -> mean |SHAP|
    imp = explain(rf, df).importance()
    assert aoa.weight_rule_ == "shap"
    assert aoa.weights_.to_numpy() == pytest.approx(imp.reindex(["a", "b", "c", "d"]).to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        perm = AreaOfApplicability(weights="permutation", random_state=0).fit(df, y, model=rf)
    r = permutation_importance(rf, df, y, n_repeats=5, random_state=0).importances_mean
    assert perm.weights_.to_numpy() == pytest.approx(np.maximum(r, 0))


def test_errors_say_what_to_do(data):
    X, _ = data
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="drop them"):
        AreaOfApplicability().fit(bad)
    const = X.copy()
    const[:, 2] = 1.0
    with pytest.raises(ValueError, match="no variance"):
        AreaOfApplicability().fit(const)
    with pytest.raises(ValueError, match="not both"):
        AreaOfApplicability(cv=SpatialBlockKFold()).fit(X, folds=np.arange(150) % 2)
    with pytest.raises(ValueError, match="more than one split"):
        AreaOfApplicability().fit(X, folds=[(np.arange(10, 150), np.arange(10))] * 2)
    with pytest.raises(ValueError, match="weighting rule"):
        AreaOfApplicability(weights="gain").fit(X)
    with pytest.raises(ValueError, match="all weights are 0"):
        AreaOfApplicability(weights=[0, 0, 0, 0]).fit(X)
    with pytest.warns(UserWarning, match="set to 0"):
        AreaOfApplicability(weights=[1, -1, 1, 1]).fit(X)
    with pytest.raises(ValueError, match="needs the fitted model"):
        AreaOfApplicability(weights="shap").fit(X)
    aoa = AreaOfApplicability().fit(X)
    with pytest.raises(ValueError, match="4 predictors"):
        aoa.di(X[:, :3])


def test_unheld_samples_warn_and_are_nan(data):
    X, _ = data
    with pytest.warns(UserWarning, match="held out by no split"):
        aoa = AreaOfApplicability().fit(X, folds=[(np.arange(50, 150), np.arange(50))])
    assert np.isnan(aoa.training_di_[50:]).all() and np.isfinite(aoa.training_di_[:50]).all()


def test_sklearn_clone_and_params():
    aoa = AreaOfApplicability(weights="uniform", threshold="whisker", n_jobs=2)
    c = clone(aoa)
    assert c.get_params() == aoa.get_params()
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        aoa.di([[0.0]])


def test_planted_extrapolation_zones_are_excluded(capsys):
    """A synthetic map with two planted zones: one predictor far beyond its training range, and
    a combination of predictors never seen together. The AOA must exclude both."""
    n = 120
    yy, xx = np.mgrid[0:n, 0:n] / n
    f1 = np.sin(3 * xx) + 0.3 * yy
    f2 = f1 + 0.05 * np.cos(5 * yy)  # tightly tied to f1 in training
    f3 = np.cos(2 * yy) + 0.5 * xx
    zone_a = (xx - 0.25) ** 2 + (yy - 0.7) ** 2 < 0.1**2
    zone_b = (xx - 0.75) ** 2 + (yy - 0.3) ** 2 < 0.1**2
    f3 = np.where(zone_a, f3.max() + 1.0, f3)  # out of range
    f2 = np.where(zone_b, f1 - 0.55, f2)  # each in range, the f1-f2 pair unseen
    assert f2[~zone_b].min() <= f2[zone_b].min() and f2[zone_b].max() <= f2[~zone_b].max()
    F = np.stack([f1, f2, f3], -1).reshape(-1, 3)
    rng = np.random.default_rng(0)
    ok = ~(zone_a | zone_b).ravel()
    train = rng.choice(np.flatnonzero(ok), 300, replace=False)
    folds = rng.integers(0, 5, 300)
    aoa = AreaOfApplicability(weights="uniform").fit(F[train], folds=folds)
    inside = aoa.predict(F).reshape(n, n)
    rec_a, rec_b = 1 - inside[zone_a].mean(), 1 - inside[zone_b].mean()
    false_out = 1 - inside[~(zone_a | zone_b)].mean()
    with capsys.disabled():
        print(
            f"\nplanted zones: recovery {100 * rec_a:.1f} % (out of range), {100 * rec_b:.1f} % "
            f"(unseen combination); {100 * false_out:.2f} % of the rest outside the AOA"
        )
    assert rec_a == 1.0 and rec_b == 1.0
    assert false_out < 0.02


def test_duplicated_training_data_is_refused_with_the_count(data):
    """pd.concat([X, X]): each sample's nearest other sample is its copy, every training DI
    is 0 and so would be the threshold; fit refuses and names the 150 duplicate rows."""
    X, _ = data
    df = pd.DataFrame(X, columns=list("abcd"))
    twice = pd.concat([df, df], ignore_index=True)
    with pytest.raises(ValueError, match=r"threshold would be 0: 300 of 300 .*\(150 duplicate"):
        AreaOfApplicability(weights="uniform").fit(twice)
    aoa = AreaOfApplicability(weights="uniform")
    with pytest.raises(ValueError, match=r"np\.unique\(X, axis=0\)"):
        aoa.fit(np.vstack([X, X]))
    assert not hasattr(aoa, "threshold_")  # nothing half-fitted
    # folds that keep each sample with its copy: the DI is that of X alone, no warning
    groups = np.tile(np.arange(150) % 5, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kept = AreaOfApplicability(weights="uniform").fit(twice, folds=groups)
    ref_di, ref_dbar = cast_train_di(
        np.vstack([X, X]),
        np.ones(4),
        [np.flatnonzero(groups == f) for f in range(5)],
        [np.flatnonzero(groups != f) for f in range(5)],
    )
    assert kept.training_di_ == pytest.approx(ref_di, rel=1e-10)
    assert kept.threshold_ > 0


def test_some_duplicates_warn_with_counts_and_keep_cast_values(data):
    """Five rows repeated: their ten copies get training DI 0, exactly as CAST computes it,
    and fit warns with both counts."""
    X, _ = data
    X5 = np.vstack([X, X[:5]])
    with pytest.warns(UserWarning, match=r"10 of 155 training samples .*\(5 duplicate row"):
        aoa = AreaOfApplicability(weights="uniform").fit(X5)
    ref_di, _ = cast_train_di(X5, np.ones(4))
    assert aoa.training_di_ == pytest.approx(ref_di, rel=1e-10)
    assert np.count_nonzero(aoa.training_di_ == 0) == 10
    q1, q3 = np.quantile(ref_di, [0.25, 0.75])
    assert aoa.threshold_ == pytest.approx(min(q3 + 1.5 * (q3 - q1), ref_di.max()))


def test_unknown_weight_names_are_refused(data):
    X, _ = data
    df = pd.DataFrame(X, columns=list("abcd"))
    w = {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0, "elevaton": 2.0}
    with pytest.raises(ValueError, match=r"\['elevaton'\].*valid names are \['a', 'b', 'c', 'd'\]"):
        AreaOfApplicability(weights=w).fit(df)
    with pytest.raises(ValueError, match=r"\['e'\]"):
        AreaOfApplicability(weights=pd.Series(w).rename({"elevaton": "e"})).fit(df)
    # a subset of predictors (features=) with weights for the subset only is fine
    aoa = AreaOfApplicability(weights={"a": 2.0, "c": 1.0}, features=["a", "c"]).fit(df)
    assert aoa.weights_.to_dict() == {"a": 2.0, "c": 1.0}
