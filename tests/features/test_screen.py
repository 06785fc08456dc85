import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr

from geoagb.features import feature_category, screen_features


def _bh(p):
    """Benjamini-Hochberg adjusted p-values by hand."""
    p = np.asarray(p)
    m = len(p)
    order = np.argsort(p)
    adj = p[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(adj[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1)
    return out


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    n = 120
    ndvi = rng.normal(size=n)
    X = pd.DataFrame(
        {
            "x": rng.uniform(0, 1e4, n),
            "y": rng.uniform(0, 1e4, n),
            "ndvi": ndvi,
            "savi": ndvi + 0.05 * rng.normal(size=n),  # near-duplicate of ndvi
            "slope": rng.normal(size=n),
            "nir_glcm7_mean": rng.normal(size=n),
            "label": ["a"] * n,  # non-numeric: skipped
        }
    )
    y = 3 * ndvi + 0.8 * X["slope"] + rng.normal(size=n)
    return X, y


def test_r_p_and_bh_adjustment_against_scipy_and_hand(data):
    X, y = data
    out = screen_features(X, y).set_index("feature")
    assert set(out.index) == {"ndvi", "savi", "slope", "nir_glcm7_mean"}  # coords skipped
    feats = ["ndvi", "savi", "slope", "nir_glcm7_mean"]
    ref = {f: pearsonr(X[f], y) for f in feats}
    for f in feats:
        assert out.loc[f, "r"] == pytest.approx(ref[f].statistic, rel=1e-12)
        assert out.loc[f, "p"] == pytest.approx(ref[f].pvalue, rel=1e-9)
    np.testing.assert_allclose(
        out.loc[feats, "p_adj"], _bh([ref[f].pvalue for f in feats]), rtol=1e-9
    )
    assert set(out.index[:2]) == {"ndvi", "savi"} and out.index[2] == "slope"  # by |r|
    assert out.loc["ndvi", "selected"] and not out.loc["nir_glcm7_mean", "selected"]
    assert out.loc["nir_glcm7_mean", "note"].startswith("p_adj=")
    assert (
        out.loc["ndvi", "category"] == "vegetation index"
        and out.loc["slope", "category"] == "topography"
    )


def test_collinear_pairs_keep_the_stronger(data):
    X, y = data
    out = screen_features(X, y, collinearity_threshold=0.9).set_index("feature")
    strong, weak = (
        ("ndvi", "savi")
        if abs(out.loc["ndvi", "r"]) > abs(out.loc["savi", "r"])
        else ("savi", "ndvi")
    )
    assert out.loc[strong, "selected"] and not out.loc[weak, "selected"]
    assert out.loc[weak, "note"].startswith("|r|=") and out.loc[weak, "note"].endswith(strong)
    assert out.loc["slope", "selected"]


def test_nan_rows_constant_columns_and_geodataframe(data):
    X, y = data
    X = X.copy()
    X.loc[:9, "slope"] = np.nan
    X["const"] = 1.0
    gdf = gpd.GeoDataFrame(X, geometry=gpd.points_from_xy(X["x"], X["y"]), crs="EPSG:32648")
    out = screen_features(gdf, y, method="bonferroni").set_index("feature")
    ok = X["slope"].notna()
    assert out.loc["slope", "n"] == ok.sum()
    assert out.loc["slope", "r"] == pytest.approx(pearsonr(X.loc[ok, "slope"], y[ok]).statistic)
    assert not out.loc["const", "selected"] and np.isnan(out.loc["const", "p_adj"])
    m = out["p"].notna().sum()
    assert out.loc["ndvi", "p_adj"] == pytest.approx(min(1.0, out.loc["ndvi", "p"] * m))
    with pytest.raises(ValueError, match="alpha"):
        screen_features(X, y, alpha=5)


def test_feature_categories():
    assert (
        feature_category("B5") == "spectral band" and feature_category("SR_B4") == "spectral band"
    )
    assert (
        feature_category("ratio_red_nir") == "band ratio"
        and feature_category("TR435") == "band ratio"
    )
    assert feature_category("height_p95") == "canopy structure"
    assert feature_category("crown_cover") == "canopy structure"
    assert feature_category("solar_radiation") == "topography"
    assert feature_category("pc1_glcm7_contrast") == "texture"
    assert feature_category("something") == "other"
