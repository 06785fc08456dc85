"""explain_raster: SHAP bands equal SHAP values cell by cell, groups sum, additivity holds."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import rasterio

from geoagb.explain import explain
from geoagb.mapping import explain_raster, predict_raster

NAMES = ["ndvi", "height_mean", "elevation"]


def tree_shap(estimator, X):
    import shap

    e = shap.TreeExplainer(estimator)
    return SimpleNamespace(
        values=e.shap_values(X), feature_names=list(X.columns), base_values=e.expected_value
    )


@pytest.fixture(scope="module")
def model():
    xgboost = pytest.importorskip("xgboost")
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "ndvi": rng.uniform(0.2, 0.9, 300),
            "height_mean": rng.uniform(3, 28, 300),
            "elevation": rng.uniform(800, 1100, 300),
        }
    )
    y = 120 * X.ndvi + 3 * X.height_mean - 0.02 * X.elevation + rng.normal(0, 5, 300)
    return xgboost.XGBRegressor(n_estimators=30, max_depth=3, random_state=0).fit(X, y)


def test_shap_bands_match_treeshap_and_add_up(feature_stack, model, tmp_path):
    path, arr = feature_stack
    out = explain_raster(
        model, path, tmp_path / "shap.tif", window_size=16, explainer=tree_shap, progress=False
    )
    ok = np.isfinite(arr).all(axis=0)
    X = pd.DataFrame(arr.reshape(3, -1).T[ok.ravel()].astype(np.float64), columns=NAMES)
    sv = tree_shap(model, X).values
    with rasterio.open(out) as ds:
        assert ds.descriptions == tuple(NAMES)
        bands = ds.read()
        base = float(ds.tags()["geoagb_base_value"])
    for j in range(3):
        np.testing.assert_allclose(bands[j][ok], sv[:, j], rtol=1e-4, atol=1e-3)
        assert np.isnan(bands[j][~ok]).all()
    pred = predict_raster(model, path, tmp_path / "agb.tif", return_std=False, progress=False)
    with rasterio.open(pred) as ds:
        agb = ds.read(1)
    np.testing.assert_allclose(bands.sum(axis=0)[ok] + base, agb[ok], rtol=1e-4, atol=1e-2)


def test_groups_sum_members_and_collect_the_rest(feature_stack, model, tmp_path):
    path, _ = feature_stack
    full = explain_raster(
        model, path, tmp_path / "a.tif", resolution=6, explainer=tree_shap, progress=False
    )
    grp = explain_raster(
        model,
        path,
        tmp_path / "g.tif",
        resolution=6,
        explainer=tree_shap,
        progress=False,
        groups={"structure": ["height_mean", "ndvi"]},
    )
    with rasterio.open(full) as a, rasterio.open(grp) as g:
        assert g.descriptions == ("structure", "other")
        np.testing.assert_allclose(g.read(1), a.read(1) + a.read(2), rtol=1e-5, atol=1e-4)
        np.testing.assert_allclose(g.read(2), a.read(3), rtol=1e-6)
    with pytest.raises(ValueError, match="crown_cover"):
        explain_raster(
            model,
            path,
            tmp_path / "x.tif",
            explainer=tree_shap,
            progress=False,
            groups={"s": ["crown_cover"]},
        )
    assert not (tmp_path / "x.tif").exists()


def test_default_explainer_is_geoagb_explain(feature_stack, model, tmp_path):
    path, arr = feature_stack
    out = explain_raster(model, path, tmp_path / "e.tif", resolution=6, progress=False)
    from geoagb.raster import block_mean

    m = block_mean(arr, 3, skipna=False)
    ok = np.isfinite(m).all(axis=0)
    X = pd.DataFrame(m.reshape(3, -1).T[ok.ravel()].astype(np.float64), columns=NAMES)
    ex = explain(model, X)
    with rasterio.open(out) as ds:
        assert list(ds.descriptions) == list(ex.feature_names)
        for j in range(ds.count):
            np.testing.assert_allclose(
                ds.read(j + 1)[ok], np.asarray(ex.values)[:, j], rtol=1e-4, atol=1e-3
            )
