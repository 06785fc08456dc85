"""explain(): additivity for each model family, pipelines, residual kriging and bad input."""

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA
from sklearn.ensemble import RandomForestRegressor
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from geoagb.explain import Explanation, explain
from geoagb.kriging import ResidualKrigingRegressor

xgb = pytest.importorskip("xgboost")


# -- XGBoost ----------------------------------------------------------------------------------
def test_xgboost_additivity_and_native_contribs(features, xgb_model):
    X, _ = features
    ex = explain(xgb_model, X, interactions=True)
    pred = xgb_model.predict(X)
    # float32 TreeSHAP and predictions: 1e-6 relative to the output scale
    np.testing.assert_allclose(ex.prediction, pred, atol=1e-6 * np.abs(pred).max())
    np.testing.assert_allclose(
        ex.interaction_values.sum(axis=2), ex.values, atol=1e-6 * np.abs(pred).max()
    )
    contribs = xgb_model.get_booster().predict(xgb.DMatrix(X), pred_contribs=True)
    np.testing.assert_allclose(ex.values, contribs[:, :-1], atol=1e-6 * np.abs(pred).max())
    assert ex.feature_names == list(X.columns)
    assert ex.data.index.equals(X.index)
    # without interactions: XGBoost's pred_contribs, same numbers
    ex0 = explain(xgb_model, X)
    assert ex0.interaction_values is None
    np.testing.assert_allclose(ex0.values, ex.values, atol=1e-6 * np.abs(pred).max())
    np.testing.assert_allclose(ex0.base_values, contribs[:, -1])


def test_xgboost_booster_and_array_input(features, xgb_model):
    X, _ = features
    ex = explain(xgb_model.get_booster(), X.to_numpy())
    assert ex.feature_names == list(X.columns)  # names come from the booster
    np.testing.assert_allclose(ex.prediction, xgb_model.predict(X), atol=1e-3)


def test_xgboost_keeps_a_logistic_margin():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(int)
    clf = xgb.XGBClassifier(n_estimators=20, max_depth=3).fit(X, y)
    ex = explain(clf, X, interactions=True)
    np.testing.assert_allclose(ex.prediction, clf.predict(X, output_margin=True), atol=1e-5)


# -- random forest (shap.TreeExplainer) ---------------------------------------------------------
def test_random_forest_additivity(features):
    X, y = features
    rf = RandomForestRegressor(n_estimators=8, max_depth=5, random_state=0).fit(X, y)
    ex = explain(rf, X.iloc[:40], interactions=True, batch_size=16)
    pred = rf.predict(X.iloc[:40])
    np.testing.assert_allclose(ex.prediction, pred, rtol=1e-9, atol=1e-8)
    np.testing.assert_allclose(
        ex.interaction_values.sum(axis=2), ex.values, atol=1e-5 * np.abs(pred).max()
    )
    # expected value = mean training prediction of the trees (path-dependent TreeSHAP)
    tree_means = [t.tree_.value[0, 0, 0] for t in rf.estimators_]
    assert ex.expected_value == pytest.approx(np.mean(tree_means), rel=1e-9)
    assert "TreeExplainer" in ex.method


def test_tree_background_gives_interventional_shap(features):
    X, y = features
    rf = RandomForestRegressor(n_estimators=5, max_depth=4, random_state=0).fit(X, y)
    bg = X.iloc[:30]
    ex = explain(rf, X.iloc[:20], background=bg)
    # interventional: base value is the mean prediction over the background
    assert ex.expected_value == pytest.approx(rf.predict(bg).mean(), rel=1e-6)
    # shap's interventional TreeSHAP works in float32 inside: 1e-6 relative
    np.testing.assert_allclose(ex.prediction, rf.predict(X.iloc[:20]), rtol=1e-6)
    with pytest.raises(ValueError, match="background=None"):
        explain(rf, X.iloc[:5], background=bg, interactions=True)


# -- model-agnostic -----------------------------------------------------------------------------
@pytest.mark.parametrize("n_features", [4, 12])  # Exact (p <= 10) and Permutation explainers
def test_linear_model_closed_form(n_features):
    rng = np.random.default_rng(1)
    X = pd.DataFrame(
        rng.normal(size=(120, n_features)), columns=[f"f{i}" for i in range(n_features)]
    )
    y = X.to_numpy() @ np.arange(1, n_features + 1) + 3.0
    lr = LinearRegression().fit(X, y)
    bg = X.iloc[:25]
    ex = explain(lr, X.iloc[:10], background=bg)
    # SHAP of a linear model with independent features: coef_j (x_j - mean of background x_j)
    expected = lr.coef_ * (X.iloc[:10].to_numpy() - bg.to_numpy().mean(axis=0))
    np.testing.assert_allclose(ex.values, expected, atol=1e-9)
    assert ex.expected_value == pytest.approx(lr.predict(bg).mean())


def test_svr_additivity_and_interaction_request(features):
    X, y = features
    cols = ["ndvi", "elevation", "slope", "height_mean", "crown_cover"]
    svr = make_pipeline(StandardScaler(), SVR(C=50.0)).fit(X[cols], y)
    ex = explain(svr, X[cols].iloc[:15], background=20)
    np.testing.assert_allclose(ex.prediction, svr.predict(X[cols].iloc[:15]), atol=1e-8)
    assert "Exact" in ex.method and "pipeline.predict" in ex.method
    with pytest.raises(ValueError, match=r"Exact.*2\*\*5 coalitions x 20 background rows = 640"):
        explain(svr, X[cols].iloc[:40], interactions=True, background=20)


# -- pipelines ----------------------------------------------------------------------------------
def test_pipeline_elementwise_steps_use_treeshap_in_input_units(features):
    X, y = features
    learner = xgb.XGBRegressor(n_estimators=30, max_depth=3, random_state=0)
    pipe = make_pipeline(StandardScaler(), learner).fit(X, y)
    ex = explain(pipe, X, interactions=True)
    ref = explain(pipe[-1], pipe[0].transform(X), interactions=True)
    np.testing.assert_allclose(ex.values, ref.values)
    np.testing.assert_allclose(ex.interaction_values, ref.interaction_values)
    pd.testing.assert_frame_equal(ex.data, X)  # explained in the input units
    np.testing.assert_allclose(ex.prediction, pipe.predict(X), atol=1e-3)
    assert "final step" in ex.method


def test_pipeline_mixing_features_is_explained_over_its_inputs():
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(100, 4)), columns=list("abcd"))
    y = X.to_numpy() @ np.array([1.0, -2.0, 0.5, 0.0])
    pipe = make_pipeline(PCA(n_components=3), LinearRegression()).fit(X, y)
    bg = X.iloc[:30]
    ex = explain(pipe, X.iloc[:8], background=bg)
    # PCA + linear regression is linear in the inputs: f(x) = w.x + c with w = components.T @ coef
    w = pipe[0].components_.T @ pipe[1].coef_
    np.testing.assert_allclose(
        ex.values, w * (X.iloc[:8].to_numpy() - bg.mean().to_numpy()), atol=1e-9
    )
    assert ex.feature_names == list("abcd")


# -- residual kriging ---------------------------------------------------------------------------
def test_kriging_stand_in_adds_the_spatial_residual(plots200, stand_in_kriging):
    X = plots200.drop(columns="agb")
    y = plots200["agb"].to_numpy()
    rk = stand_in_kriging(xgb.XGBRegressor(n_estimators=30, max_depth=3, random_state=0)).fit(X, y)
    ex = explain(rk, X, interactions=True)
    assert ex.feature_names[-1] == "spatial_residual"
    np.testing.assert_allclose(ex.values[:, -1], rk.predict_residual(X))
    np.testing.assert_allclose(ex.prediction, rk.predict(X), atol=1e-3)
    np.testing.assert_allclose(ex.interaction_values.sum(2), ex.values, atol=1e-3)
    # the spatial term interacts with nothing
    assert np.all(ex.interaction_values[:, -1, :-1] == 0) and np.all(
        ex.interaction_values[:, :-1, -1] == 0
    )
    learner = explain(rk.estimator_, rk.learner_features(X))  # float32 pred_contribs
    np.testing.assert_allclose(ex.values[:, :-1], learner.values, atol=1e-4)
    assert ex.importance(groups="auto")["spatial"] == pytest.approx(
        np.abs(rk.predict_residual(X)).mean()
    )


def test_kriging_stand_in_with_random_forest(plots200, stand_in_kriging):
    X = plots200.drop(columns="agb")
    y = plots200["agb"].to_numpy()
    rk = stand_in_kriging(RandomForestRegressor(n_estimators=5, max_depth=4, random_state=0)).fit(
        X, y
    )
    ex = explain(rk, X.iloc[:30], interactions=True)
    np.testing.assert_allclose(ex.prediction, rk.predict(X.iloc[:30]), atol=1e-8)
    np.testing.assert_allclose(ex.interaction_values.sum(2), ex.values, atol=1e-4)


def test_real_residual_kriging(plots200):
    X = plots200.drop(columns="agb")
    y = plots200["agb"]
    rk = ResidualKrigingRegressor(
        xgb.XGBRegressor(n_estimators=40, max_depth=3, random_state=0),
        n_neighbors=16,
        random_state=0,
    ).fit(X, y)
    ex = rk.explain(X, interactions=True)  # the estimator's own .explain
    assert isinstance(ex, Explanation)
    np.testing.assert_allclose(ex.prediction, rk.predict(X), atol=1e-3)
    resid = rk.predict_residual(X)
    if np.any(resid):
        assert ex.feature_names[-1] == "spatial_residual"
        np.testing.assert_allclose(ex.values[:, -1], resid, atol=1e-12)
    else:  # kriging decided no correction: no all-zero spatial_residual "feature"
        assert "spatial_residual" not in ex.feature_names and "no correction" in ex.method
        assert list(ex.feature_names) == list(
            X.columns.drop(["x", "y", "geometry"], errors="ignore")
        )
    np.testing.assert_allclose(ex.interaction_values.sum(2), ex.values, atol=1e-3)


# -- bad input ----------------------------------------------------------------------------------
def test_unfitted_models_are_refused(features, stand_in_kriging):
    X, _ = features
    for model in (xgb.XGBRegressor(), RandomForestRegressor(), SVR(), stand_in_kriging(SVR())):
        with pytest.raises(NotFittedError, match="not fitted"):
            explain(model, X)


def test_feature_names_must_match(features, xgb_model):
    X, _ = features
    with pytest.raises(ValueError, match=r"missing \['ndvi'\]"):
        explain(xgb_model, X.drop(columns="ndvi"))
    with pytest.raises(ValueError, match=r"unexpected \['x'\]"):
        explain(xgb_model, X.assign(x=1.0))
    with pytest.raises(ValueError, match="another order"):
        explain(xgb_model, X[X.columns[::-1]])
    with pytest.raises(ValueError, match="18 columns"):
        explain(xgb_model, X.to_numpy()[:, :-1])


def test_unknown_options_are_refused(features, xgb_model):
    X, _ = features
    with pytest.raises(TypeError, match="n_steps"):
        explain(xgb_model, X, n_steps=4)
