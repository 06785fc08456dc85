"""Leaf-table SHAP interaction values: against the definition and against XGBoost."""

import itertools
import json
import math
import warnings

import numpy as np
import pytest

xgb = pytest.importorskip("xgboost")

from geoagb.explain._ensemble import Unsupported, leaf_paths_from_xgboost  # noqa: E402
from geoagb.explain._interactions import leaf_table_interactions  # noqa: E402
from geoagb.explain._tree import xgboost_tree_shap  # noqa: E402


def _data(n=300, p=4, seed=0, missing=0.1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    X[rng.uniform(size=X.shape) < missing] = np.nan
    z = np.nan_to_num(X)
    y = z[:, 0] * z[:, 1] + np.sin(2 * z[:, 2]) + 0.5 * z[:, -1] + rng.normal(0, 0.2, n)
    return X, y


def _game_value(tree, x, S):
    """Path-dependent expectation of one tree with the features in S known (from the JSON)."""
    left, right = tree["left_children"], tree["right_children"]
    cover, cond = tree["sum_hessian"], tree["split_conditions"]

    def rec(node):
        if left[node] == -1:
            return cond[node]
        f = tree["split_indices"][node]
        if f in S:
            v = np.float32(x[f])
            go_left = (
                bool(tree["default_left"][node])
                if np.isnan(v)
                else bool(v < np.float32(cond[node]))
            )
            return rec(left[node] if go_left else right[node])
        lc, rc = left[node], right[node]
        return (cover[lc] * rec(lc) + cover[rc] * rec(rc)) / cover[node]

    return rec(0)


def _brute_force(booster, x):
    """Shapley values and Shapley interaction values from their definition (all 2^p coalitions)."""
    trees = json.loads(booster.save_raw("json"))["learner"]["gradient_booster"]["model"]["trees"]
    p = x.size
    v = {}
    for r in range(p + 1):
        for S in itertools.combinations(range(p), r):
            v[frozenset(S)] = sum(_game_value(t, x, set(S)) for t in trees)
    phi = np.zeros(p)
    inter = np.zeros((p, p))
    for i in range(p):
        rest = [k for k in range(p) if k != i]
        for r in range(p):
            for S in itertools.combinations(rest, r):
                w = math.factorial(r) * math.factorial(p - r - 1) / math.factorial(p)
                phi[i] += w * (v[frozenset(S) | {i}] - v[frozenset(S)])
        for j in range(p):
            if j == i:
                continue
            rest2 = [k for k in range(p) if k not in (i, j)]
            for r in range(p - 1):
                for S in itertools.combinations(rest2, r):
                    S = frozenset(S)
                    w = math.factorial(r) * math.factorial(p - r - 2) / math.factorial(p - 1)
                    inter[i, j] += 0.5 * w * (v[S | {i, j}] - v[S | {i}] - v[S | {j}] + v[S])
        inter[i, i] = phi[i] - inter[i].sum()
    return phi, inter, v[frozenset()]


def test_matches_the_definition_with_missing_values_and_repeated_features():
    X, y = _data(p=4)
    model = xgb.XGBRegressor(n_estimators=6, max_depth=4, learning_rate=0.3, random_state=0).fit(
        X, y
    )
    booster = model.get_booster()
    paths = leaf_paths_from_xgboost(booster)
    # the model re-splits features along a path: the product-game bookkeeping is exercised
    assert (paths.depth > paths.n_unique).any()
    rows = [0, 1, 2, int(np.flatnonzero(np.isnan(X).any(axis=1))[0])]
    values, inter = leaf_table_interactions(paths, X[rows], dtype=np.float64)
    for k, r in enumerate(rows):
        phi, big_phi, v0 = _brute_force(booster, X[r])
        np.testing.assert_allclose(values[k], phi, atol=1e-9)
        np.testing.assert_allclose(inter[k], big_phi, atol=1e-9)
        assert paths.expected_value() == pytest.approx(v0, abs=1e-9)


@pytest.mark.parametrize("depth", [1, 2, 3, 5, 7])
def test_matches_xgboost_pred_interactions(depth):
    X, y = _data(n=200, p=6, seed=depth)
    model = xgb.XGBRegressor(n_estimators=20, max_depth=depth, random_state=0).fit(X, y)
    booster = model.get_booster()
    d = xgb.DMatrix(X)
    ref = booster.predict(d, pred_interactions=True)
    contribs = booster.predict(d, pred_contribs=True)
    values, inter = leaf_table_interactions(leaf_paths_from_xgboost(booster), X)
    scale = np.abs(ref).max()
    np.testing.assert_allclose(inter, ref[:, :-1, :-1], atol=2e-6 * scale)
    np.testing.assert_allclose(values, contribs[:, :-1], atol=2e-6 * scale)
    np.testing.assert_allclose(values.sum(1) + contribs[:, -1], model.predict(X), atol=2e-6 * scale)


def test_batches_give_the_same_numbers():
    X, y = _data(n=101, p=5)
    model = xgb.XGBRegressor(n_estimators=15, max_depth=4, random_state=0).fit(X, y)
    paths = leaf_paths_from_xgboost(model.get_booster())
    v1, i1 = leaf_table_interactions(paths, X, dtype=np.float64)
    v2, i2 = leaf_table_interactions(
        paths, X, batch_size=7, table_bytes=1 << 10, cache_bytes=0, dtype=np.float64
    )
    np.testing.assert_allclose(v2, v1, rtol=0, atol=1e-12)
    np.testing.assert_allclose(i2, i1, rtol=0, atol=1e-12)


def test_iteration_range_follows_early_stopping():
    X, y = _data(n=300, p=5)
    model = xgb.XGBRegressor(
        n_estimators=200, max_depth=3, learning_rate=0.3, early_stopping_rounds=3, random_state=0
    ).fit(X[:200], y[:200], eval_set=[(X[200:], y[200:])], verbose=False)
    assert model.best_iteration < 199
    values, base, inter, _ = xgboost_tree_shap(model, X, None, interactions=True)
    np.testing.assert_allclose(values.sum(1) + base, model.predict(X), atol=1e-5)
    np.testing.assert_allclose(inter.sum(2), values, atol=1e-5)


def test_dart_falls_back_to_xgboost_with_a_warning():
    X, y = _data(n=80, p=4)
    model = xgb.XGBRegressor(booster="dart", n_estimators=5, max_depth=2, random_state=0).fit(X, y)
    with pytest.raises(Unsupported, match="dart"):
        leaf_paths_from_xgboost(model.get_booster())
    with pytest.warns(UserWarning, match="pred_interactions"):
        values, base, inter, method = xgboost_tree_shap(model, X, None, interactions=True)
    assert "pred_interactions" in method
    np.testing.assert_allclose(values.sum(1) + base, model.predict(X), atol=1e-5)


def test_xgboost_algorithm_option_agrees():
    X, y = _data(n=60, p=5)
    model = xgb.XGBRegressor(n_estimators=10, max_depth=3, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = xgboost_tree_shap(model, X, None, interactions=True)
        b = xgboost_tree_shap(model, X, None, interactions=True, algorithm="xgboost")
    np.testing.assert_allclose(a[2], b[2], atol=1e-5)
    np.testing.assert_allclose(a[0], b[0], atol=1e-5)
    assert a[1][0] == pytest.approx(b[1][0], abs=1e-6)


def test_a_cuda_booster_keeps_xgboost_gpu_treeshap(monkeypatch):
    """No GPU here: pretend the booster is on cuda and check the GPU path (XGBoost's own
    pred_interactions, device untouched) is the one taken."""
    from geoagb.explain import _tree

    X, y = _data(n=40, p=4)
    model = xgb.XGBRegressor(n_estimators=5, max_depth=2, random_state=0).fit(X, y)
    monkeypatch.setattr(_tree, "booster_device", lambda booster: "cuda")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback warning: this is the intended path
        values, base, inter, method = xgboost_tree_shap(model, X, None, interactions=True)
    assert method.endswith("(pred_interactions, cuda)")
    cfg = json.loads(model.get_booster().save_config())
    assert cfg["learner"]["generic_param"]["device"] == "cpu"  # the booster's device is untouched
    np.testing.assert_allclose(values.sum(1) + base, model.predict(X), atol=1e-5)
