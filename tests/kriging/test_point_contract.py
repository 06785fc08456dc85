"""The scikit-learn contract of the point krigers and the variogram, on two columns.

``OrdinaryKriging``, ``SimpleKriging`` and ``Variogram`` take ``X`` as the (n, 2) array of
coordinates, so most of scikit-learn's ``parametrize_with_checks`` (which feed X with 1, 3, 5 or
10 columns) cannot reach them. Each test here checks the same property on 300 plots in UTM metres
(a 40 km square) carrying an AGB-like field in Mg/ha; ``tests/test_integration_matrix.py`` names
the check each one replaces (``REPLACED_CHECKS``).
"""

from __future__ import annotations

import copy
import pickle
import warnings

import numpy as np
import pytest
from scipy import sparse
from sklearn.base import clone
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from geoagb.kriging import OrdinaryKriging, SimpleKriging, Variogram

N_DATA = 300
N_TARGETS = 160
ORIGIN = np.array([420_000.0, 2_750_000.0])  # UTM zone 48N, metres
SIDE = 40_000.0


def _data():
    rng = np.random.default_rng(25)
    xy = ORIGIN + rng.uniform(0, SIDE, (N_DATA, 2))
    u, v = (xy - ORIGIN).T
    agb = 140 + 40 * np.sin(u / 2_000) * np.cos(v / 3_000) + rng.normal(0, 10, N_DATA)
    targets = np.vstack([ORIGIN + rng.uniform(0, SIDE, (N_TARGETS - 10, 2)), xy[:10]])
    return xy, agb, targets


XY, AGB, TARGETS = _data()

FACTORIES = {
    "ok": lambda: OrdinaryKriging(n_neighbors=8),
    "ok-global": lambda: OrdinaryKriging(),
    "sk": lambda: SimpleKriging(n_neighbors=8, mean=140.0),
    "variogram": lambda: Variogram(),
}
KRIGERS = ["ok", "ok-global", "sk"]
ALL = list(FACTORIES)


def _fit(est, X=XY, y=AGB):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # variogram bounds: the data, not the test
        return est.fit(X, y)


def _out(est, T=TARGETS):
    """What a fitted estimator gives: kriging mean and std at ``T`` (Mg/ha), or the fitted
    variogram (nugget, partial sill, range, empirical semivariances, model at the lags)."""
    if isinstance(est, Variogram):
        return np.r_[est.nugget_, est.psill_, est.range_, est.gamma_, est(est.lags_)]
    mean, std = est.predict(T, return_std=True)
    return np.column_stack([mean, std])


@pytest.fixture(scope="module")
def fitted():
    return {k: _fit(f()) for k, f in FACTORIES.items()}


def test_the_fits_are_real(fitted):
    """The data carry spatial structure: kriging at a datum returns it, and the variogram's
    range is a few km, well inside the 40 km square."""
    v = fitted["variogram"]
    assert 1_000 < v.effective_range_ < 30_000 and v.psill_ > v.nugget_
    for key in KRIGERS:
        mean, std = fitted[key].predict(XY[:10], return_std=True)
        np.testing.assert_allclose(mean, AGB[:10], rtol=1e-9)
        np.testing.assert_allclose(std, 0.0, atol=1e-6)


# ------------------------------------------------------------------ check_estimators_pickle
@pytest.mark.parametrize("key", ALL)
def test_pickle_round_trip(key, fitted):
    est = fitted[key]
    back = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(_out(back), _out(est))
    assert back.n_features_in_ == 2
    if key == "variogram":
        assert back.to_gstat() == est.to_gstat()


# ------------------------------------------------------------------ check_estimators_nan_inf
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["X", "y"])
@pytest.mark.parametrize("key", ALL)
def test_nan_and_inf_are_refused(key, where, bad):
    X, y = XY.copy(), AGB.copy()
    if where == "X":
        X[7, 1] = bad
        match = r"1 sample\(s\) have NaN or infinite coordinates \(first rows: \[7\]\)"
    else:
        y[7] = bad
        match = r"1 (sample|value)\(s\) (have|are) NaN or infinite (values )?\(rows \[7\]\)"
    with pytest.raises(ValueError, match=match):
        _fit(FACTORIES[key](), X, y)


@pytest.mark.parametrize("key", KRIGERS)
def test_nan_target_is_refused(key, fitted):
    T = TARGETS.copy()
    T[3, 0] = np.nan
    with pytest.raises(ValueError, match=r"NaN or infinite coordinates \(first rows: \[3\]\)"):
        fitted[key].predict(T)


# ------------------------------------------------- check_methods_subset_invariance / sample order
@pytest.mark.parametrize("key", KRIGERS)
def test_predictions_do_not_depend_on_the_batch(key, fitted):
    """Each target's estimate is its own: any subset gives the same rows as the full call."""
    est = fitted[key]
    full = _out(est)
    for rows in np.array_split(np.arange(N_TARGETS), 7) + [np.arange(N_TARGETS)[::5]]:
        np.testing.assert_allclose(_out(est, TARGETS[rows]), full[rows], rtol=1e-9, atol=1e-9)
    one = _out(est, TARGETS[[42]])
    np.testing.assert_allclose(one, full[[42]], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("key", KRIGERS)
def test_target_order_does_not_change_predictions(key, fitted):
    est = fitted[key]
    perm = np.random.default_rng(1).permutation(N_TARGETS)
    np.testing.assert_allclose(_out(est, TARGETS[perm]), _out(est)[perm], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("key", ALL)
def test_data_order_does_not_change_the_fit(key, fitted):
    """Same data in another row order: the same variogram up to its least-squares fit's
    convergence (about 1e-6 relative: sums over lag bins are added in another order)."""
    perm = np.random.default_rng(2).permutation(N_DATA)
    again = _fit(FACTORIES[key](), XY[perm], AGB[perm])
    np.testing.assert_allclose(_out(again), _out(fitted[key]), rtol=1e-5, atol=1e-4)


# ------------------------------------------------ check_dont_overwrite_parameters / dict_unchanged
@pytest.mark.parametrize("key", ALL)
def test_fit_adds_only_fitted_attributes(key):
    est = FACTORIES[key]()
    before = dict(est.__dict__)
    params = copy.deepcopy(est.get_params())
    _fit(est)
    public = [k for k in est.__dict__ if not k.startswith("_") and not k.endswith("_")]
    assert sorted(public) == sorted(k for k in before if not k.startswith("_"))
    assert all(est.__dict__[k] is before[k] for k in public)
    assert est.get_params() == params
    assert est.n_features_in_ == 2


def _snapshot(est):
    return {k: (v, v.copy() if isinstance(v, np.ndarray) else None) for k, v in vars(est).items()}


@pytest.mark.parametrize("key", ALL)
def test_predict_leaves_the_estimator_unchanged(key):
    est = _fit(FACTORIES[key]())
    before = _snapshot(est)
    if key == "variogram":
        h = np.linspace(0, 20_000, 50)
        est(h), est.covariance(h), est.correlation(h), est.to_gstat()
    else:
        est.predict(TARGETS, return_std=True)
        est.predict(TARGETS[:5])
        est.weights(TARGETS[:5])
    after = _snapshot(est)
    assert after.keys() == before.keys()  # SimpleKriging.predict used to set self._groups
    for k, (value, copied) in before.items():
        assert after[k][0] is value, k
        if copied is not None:
            np.testing.assert_array_equal(after[k][0], copied)


# ------------------------------------------------------------------ check_pipeline_consistency
@pytest.mark.parametrize("key", ALL)
def test_clone_and_pipeline_give_the_same_fit(key, fitted):
    est = fitted[key]
    fresh = clone(est)
    # a fitted variogram's clone is the same model, fixed: its fitted values become parameters
    expected = {**est.get_params(), **(est.fixed_params() if key == "variogram" else {})}
    assert fresh.get_params() == expected and not hasattr(fresh, "n_features_in_")
    np.testing.assert_allclose(_out(_fit(fresh)), _out(est), rtol=1e-12)
    pipe = Pipeline([("identity", FunctionTransformer()), ("est", FACTORIES[key]())])
    _fit(pipe)
    if key == "variogram":
        np.testing.assert_array_equal(_out(pipe[-1]), _out(est))
    else:
        np.testing.assert_array_equal(pipe.predict(TARGETS), est.predict(TARGETS))


# ----------------------------------------- check_estimators_dtypes, f_contiguous, dtype_object
@pytest.mark.parametrize("key", ALL)
def test_integer_fortran_and_object_coordinates(key):
    """Whole-metre integer, Fortran-ordered and object arrays are the same coordinates."""
    X = np.round(XY)
    ref = _out(_fit(FACTORIES[key](), X))
    for same in (X.astype(np.int64), X.astype(np.int32), np.asfortranarray(X), X.astype(object)):
        np.testing.assert_array_equal(_out(_fit(FACTORIES[key](), same)), ref)
    # float32 rounds northings near 2.75e6 m to 0.25 m: the same plots, barely moved
    X32, T32 = XY.astype(np.float32), TARGETS.astype(np.float32)
    near = _out(_fit(FACTORIES[key](), X32), T32)
    np.testing.assert_allclose(near, _out(_fit(FACTORIES[key]())), rtol=1e-3, atol=1e-3)


# ---------------------------------------------------------- check_positive_only_tag_during_fit
@pytest.mark.parametrize("key", ALL)
def test_negative_coordinates_give_the_translated_fit(key, fitted):
    """Coordinates relative to the centre of the area (half of them negative) are accepted,
    and kriging and the variogram depend only on distances: same fit, same predictions."""
    centre = ORIGIN + SIDE / 2
    moved = _fit(FACTORIES[key](), XY - centre)
    assert (XY - centre < 0).mean() > 0.4
    np.testing.assert_allclose(
        _out(moved, TARGETS - centre), _out(fitted[key]), rtol=1e-7, atol=1e-7
    )


# ---------------- check_fit2d_1feature, fit2d_predict1d, n_features_in_after_fitting, empty data
@pytest.mark.parametrize("key", ALL)
def test_x_that_is_not_n_by_2_is_refused(key, fitted):
    for X in (XY[:, :1], np.column_stack([XY, AGB]), XY[:, 0]):
        with pytest.raises(ValueError, match=r"X has shape \(300,( \d)?\): a plain array"):
            _fit(FACTORIES[key](), X)
    if key == "variogram":
        return
    for T in (TARGETS[:, :1], np.column_stack([TARGETS, TARGETS[:, :1]]), TARGETS[0]):
        with pytest.raises(ValueError, match=r"X has shape \((160|2),( \d)?\): a plain array"):
            fitted[key].predict(T)


@pytest.mark.parametrize("key", ALL)
def test_empty_data_is_refused(key):
    match = {"variogram": r"at least 10 distinct locations \(got 0\)"}.get(
        key, r"Kriging.fit got 0 samples \(X has shape \(0, 2\)\)"
    )
    with pytest.raises(ValueError, match=match):
        _fit(FACTORIES[key](), np.empty((0, 2)), np.empty(0))
    v = Variogram.from_params("spherical", psill=400.0, range=8_000.0)
    if key != "variogram":  # a fixed variogram needs no data, kriging still does
        with pytest.raises(ValueError, match=r"Kriging.fit got 0 samples"):
            _fit(FACTORIES[key]().set_params(variogram=v), np.empty((0, 2)), np.empty(0))


# ------------------------------------------------------------------ check_fit2d_1sample
@pytest.mark.parametrize("key", ALL)
def test_one_sample_is_refused_without_a_fixed_variogram(key):
    with pytest.raises(ValueError, match=r"at least 10 distinct locations \(got 1\)"):
        _fit(FACTORIES[key](), XY[:1], AGB[:1])


def test_one_sample_with_a_fixed_variogram_is_the_estimate_everywhere():
    """Ordinary kriging from one datum: its weight is 1, so every estimate is that datum, and
    the kriging variance is 2 gamma(h), the variogram at the target's distance, twice."""
    v = Variogram.from_params("spherical", psill=400.0, range=8_000.0, nugget=25.0)
    ok = OrdinaryKriging(v).fit(XY[:1], AGB[:1])
    mean, std = ok.predict(TARGETS[:20], return_std=True)
    np.testing.assert_allclose(mean, AGB[0], rtol=1e-12)
    h = np.hypot(*(TARGETS[:20] - XY[0]).T)
    np.testing.assert_allclose(std**2, 2 * v(h), rtol=1e-9)


# ---------------------------------- check_estimator_sparse_array / matrix / tag, check_complex_data
@pytest.mark.parametrize("key", ALL)
def test_sparse_and_complex_coordinates_are_refused(key, fitted):
    with pytest.raises(TypeError, match="got a sparse csr_array as X: sparse input is not"):
        _fit(FACTORIES[key](), sparse.csr_array(XY))
    with pytest.raises(ValueError, match="Complex data not supported"):
        _fit(FACTORIES[key](), XY + 1j)
    if key != "variogram":
        with pytest.raises(TypeError, match="predict got a sparse csr_matrix as X"):
            fitted[key].predict(sparse.csr_matrix(TARGETS))
        with pytest.raises(ValueError, match="Complex data not supported"):
            fitted[key].predict(TARGETS + 0j)
