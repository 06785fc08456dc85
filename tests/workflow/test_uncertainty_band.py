"""Every bundle model maps an uncertainty band by default (geoagb.workflow._uncertainty)."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin
from rasterio.windows import Window
from sklearn.base import clone
from sklearn.linear_model import LinearRegression

from geoagb.datasets import make_scene
from geoagb.explain import explain
from geoagb.mapping._predict import make_task
from geoagb.workflow import MODELS, fit_bundle, load_bundle
from geoagb.workflow._report import _uncertainty_note
from geoagb.workflow._uncertainty import (
    SQRT_HALF_PI,
    band_method,
    bundle_error_band,
    error_band_coverage,
    error_neighbours,
    tag_uncertainty_band,
)

RECIPE = {"bands": ["red", "nir"], "indices": ["ndvi"], "terrain": ["elevation", "slope"]}


@pytest.fixture(scope="module")
def scene_maps(tmp_path_factory):
    """One small scene; every --model fitted (30 trees, one fold seed) and mapped by default."""
    d = tmp_path_factory.mktemp("band")
    scene = make_scene(d / "scene", size_m=500.0, n_plots=60, random_state=0)
    rasters = Path(scene.sources["image"]).parent
    plots = scene.plots[["plot_id", "agb", scene.plots.geometry.name]]
    plots.to_file(d / "plots.gpkg", driver="GPKG", layer="plots")
    out = {}
    for model in MODELS:
        b = fit_bundle(
            d / "plots.gpkg",
            rasters,
            d / f"{model}.geoagb",
            model=model,
            footprint=scene.plot_size_m,
            n_estimators=30,
            n_repeats=1,
            random_state=0,
            echo=lambda *a: None,
            **RECIPE,
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            path = b.predict_map(rasters, d / f"{model}.tif")
        out[model] = (b, path, [str(w.message) for w in caught])
    return rasters, out


def test_every_model_writes_a_std_band(scene_maps):
    _, maps = scene_maps
    for model, (bundle, path, caught) in maps.items():
        with rasterio.open(path) as ds:
            assert ds.descriptions[:2] == ("agb", "agb_std"), (model, ds.descriptions)
            s = ds.read(2)
            tags = ds.tags(2)
            assert ds.tags()["geoagb_estimator"] == type(bundle.model).__name__
        s = s[np.isfinite(s)]
        assert s.size and (s > 0).all(), model
        if model == "xgboost":  # no native spread: the local error model, calibrated
            assert tags["geoagb_std_method"].startswith("sd of the out-of-fold residual, local")
            assert 0.5 <= float(tags["geoagb_std_coverage95"]) <= 1.0
        else:
            assert tags["geoagb_std_method"] == band_method(
                bundle.model, bundle.manifest.get("kriging")
            )
        if s.max() - s.min() <= 1e-6 * s.max():  # constant: only with its note and a warning
            assert "constant" in tags["geoagb_std_note"], model
            assert any("constant standard deviation" in m for m in caught), model
        else:
            assert "geoagb_std_note" not in tags, model


def test_sigma_is_sqrt_half_pi_times_mean_abs_residual_of_k_nearest_plots(scene_maps):
    rasters, maps = scene_maps
    bundle, path, _ = maps["xgboost"]
    wrapped, tags = bundle_error_band(bundle)
    p = bundle.plots
    r = np.abs(p["agb"] - p["oof_spatial"]).to_numpy()
    F = p[bundle.feature_names].to_numpy(float)
    mu, sd = F.mean(0), F.std(0)
    k = error_neighbours(len(r))
    assert k == 10 and f"{k} plots" in tags["geoagb_std_method"]
    # the cells of the map's top-left 4 x 4 window, by the same feature recipe
    task = make_task(
        wrapped, bundle.features(rasters), resolution=bundle.manifest["map_resolution_m"]
    )
    valid, X = task.read(Window(0, 0, 4, 4))
    assert valid.sum() >= 4
    Z = (X[bundle.feature_names].to_numpy(float) - mu) / sd
    d2 = ((Z[:, None, :] - (F - mu) / sd) ** 2).sum(-1)
    hand = math.sqrt(math.pi / 2) * np.sort(r[np.argsort(d2, axis=1)[:, :k]], axis=1).mean(1)
    with rasterio.open(path) as ds:
        band = ds.read(2, window=Window(0, 0, 4, 4))[valid]
    np.testing.assert_allclose(band, hand, rtol=1e-5)
    assert SQRT_HALF_PI == pytest.approx(1.2533141373155)


def test_band_survives_the_bundle_round_trip(scene_maps, tmp_path):
    rasters, maps = scene_maps
    bundle, path, _ = maps["xgboost"]
    again = load_bundle(bundle.path).predict_map(rasters, tmp_path / "again.tif")
    with rasterio.open(path) as a, rasterio.open(again) as b:
        np.testing.assert_array_equal(a.read(2), b.read(2))
        assert a.tags(2) == b.tags(2)


def test_coverage_by_hand():
    # two folds of 12 plots on one feature; residuals |r| = 1 in fold 0, 2 in fold 1: the
    # other fold's error model says sigma = sqrt(pi/2) * 2 for fold 0 (all inside 1.96 sigma)
    # and sqrt(pi/2) * 1 for fold 1 (2 <= 1.96 * 1.2533 = 2.456: inside too)
    X = pd.DataFrame({"f": np.arange(24.0)})
    r = np.r_[np.ones(12), -2 * np.ones(12)]
    folds = np.r_[np.zeros(12), np.ones(12)]
    assert error_band_coverage(X, r, folds) == 1.0
    r[12:] = -2.5  # 2.5 > 2.456: fold 1 outside
    assert error_band_coverage(X, r, folds) == 0.5


def _constant_std_map(path, value=156.28):
    prof = dict(
        driver="GTiff", width=8, height=8, count=2, dtype="float32", crs="EPSG:32648",
        transform=from_origin(500000, 2750000, 30, 30), nodata=np.nan,
    )  # fmt: skip
    with rasterio.open(path, "w", **prof) as ds:
        ds.write(np.stack([np.full((8, 8), 100.0), np.full((8, 8), value)]).astype("float32"))
        ds.descriptions = ("agb", "agb_std")
    return path


def test_constant_band_gets_a_note_and_a_warning(tmp_path):
    path = _constant_std_map(tmp_path / "m.tif")
    method = band_method(_NoCorrection(LinearRegression()), {"method": "none"})
    assert "decided no correction" in method
    with pytest.warns(UserWarning, match=r"\(156.3 everywhere\).*decided no correction"):
        note = tag_uncertainty_band(path, method)
    with rasterio.open(path) as ds:
        assert ds.tags(2)["geoagb_std_note"] == note
        assert ds.tags(2)["geoagb_std_method"] == method
    assert note.startswith("constant standard deviation (156.3 everywhere)")
    assert _uncertainty_note(path) == (method, note)  # the report's caption and figure note
    varied = _constant_std_map(tmp_path / "v.tif")
    with rasterio.open(varied, "r+") as ds:
        ds.write(np.arange(64, dtype="float32").reshape(8, 8), 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tag_uncertainty_band(varied, method) is None


class _NoCorrection:
    """Residual kriging that decided no correction: the kriged residual is 0 everywhere."""

    def __init__(self, estimator):
        self.estimator = estimator

    def fit(self, X, y):
        self.estimator_ = clone(self.estimator).fit(self.learner_features(X), y)
        self.feature_names_in_ = np.asarray(X.columns)
        return self

    def learner_features(self, X):
        return X.drop(columns=["x", "y"], errors="ignore")

    def predict_residual(self, X, return_std=False):
        r = np.zeros(len(X))
        return (r, np.full(len(X), 156.28)) if return_std else r

    def predict(self, X, return_std=False):
        return self.estimator_.predict(self.learner_features(X)) + self.predict_residual(X)


def test_shap_leaves_out_a_zero_spatial_residual():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {"x": rng.uniform(0, 1e3, 40), "y": rng.uniform(0, 1e3, 40), "a": rng.normal(size=40)}
    )
    y = 3.0 * X["a"].to_numpy() + 10.0
    ex = explain(_NoCorrection(LinearRegression()).fit(X, y), X)
    assert list(ex.feature_names) == ["a"]
    assert "no correction" in ex.method
    np.testing.assert_allclose(ex.prediction, y, atol=1e-8)
