"""predict_raster with geoagb.features: RasterFeatures (textures, terrain) and extract_patches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio
from sklearn.ensemble import RandomForestRegressor

from geoagb import features
from geoagb.kriging import ResidualKrigingRegressor
from geoagb.mapping import predict_raster

from .conftest import X0, Y0, read, recipe_scene, write_raster
from .test_patch_kriging_dask import WeightedPatchModel


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    d = tmp_path_factory.mktemp("rf")
    return recipe_scene(d)


def _recipe_model_and_reference(scene):
    """A texture + terrain recipe, a forest fitted on it, and its prediction at the 6 m cell centres."""
    rf = features.RasterFeatures(
        scene,
        indices=["ndvi"],
        terrain=["slope", "northness"],
        textures=dict(band="nir", window=5, levels=16, features=["mean", "contrast"]),
        extra={"height_p95": ("chm", 1, "p95")},
    )
    assert rf.halo >= 2
    # cell centres of the 6 m grid (6 x 6 pixels of 1 m)
    xs = X0 + 6 * (np.arange(14) + 0.5)
    ys = Y0 - 6 * (np.arange(12) + 0.5)
    gx, gy = np.meshgrid(xs, ys)
    cells = pd.DataFrame({"x": gx.ravel(), "y": gy.ravel()})
    # the nodata patches of the image (1 and 2 x 3 pixels) leave partial 6 x 6 cells (>= 50 %
    # valid), summarised over their valid pixels at the plots and in the map alike
    X = rf.at_points(cells, footprint=6.0)
    ok = X.notna().all(axis=1).to_numpy()
    share = np.asarray(X.attrs["valid_share"])
    assert ok.all() and 0 < (share < 1).sum() < 10
    y = 50 * X["ndvi"].fillna(0) + 3 * X["height_p95"].fillna(0) + X["nir_glcm5_contrast"].fillna(0)
    model = RandomForestRegressor(n_estimators=10, random_state=0).fit(X[ok], y[ok])
    expect = np.full(len(X), np.nan)
    expect[ok] = model.predict(X[ok])
    return rf, model, expect


def test_rasterfeatures_map_equals_predict_at_cell_centres(scene, tmp_path):
    rf, model, expect = _recipe_model_and_reference(scene)
    maps = [
        read(
            predict_raster(
                model,
                rf,
                tmp_path / f"m{s}.tif",
                resolution=6,
                window_size=s,
                return_std=False,
                progress=False,
            )
        )
        for s in (3, 5, None)
    ]
    np.testing.assert_allclose(maps[0].ravel(), expect, rtol=1e-5, equal_nan=True)
    np.testing.assert_array_equal(maps[0], maps[1])  # the halo makes windows seamless
    np.testing.assert_array_equal(maps[0], maps[2])


def test_rasterfeatures_on_dask_equals_single_process(scene, tmp_path, client):
    rf, model, _ = _recipe_model_and_reference(scene)
    ref = read(
        predict_raster(
            model,
            rf,
            tmp_path / "s.tif",
            resolution=6,
            window_size=4,
            return_std=False,
            progress=False,
        )
    )
    got = read(
        predict_raster(
            model,
            rf,
            tmp_path / "d.tif",
            resolution=6,
            window_size=4,
            client=client,
            return_std=False,
            progress=False,
        )
    )
    np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("f,size", [(6, 8), (5, 8), (7, 4)])
def test_patch_map_equals_predict_on_extract_patches(scene, tmp_path, f, size):
    model = WeightedPatchModel(bands=("red", "nir", "height"), size=(size, size)).fit()
    H, W = 72 // f, 84 // f
    xs = X0 + f * (np.arange(W) + 0.5)
    ys = Y0 - f * (np.arange(H) + 0.5)
    gx, gy = np.meshgrid(xs, ys)
    with pytest.warns(UserWarning):
        ps = features.extract_patches(
            scene,
            pd.DataFrame({"x": gx.ravel(), "y": gy.ravel()}),
            size_px=size,
            bands={"red": "red", "nir": "nir", "height": "chm"},
        )
    valid = (~ps.mask).mean(axis=(1, 2)) >= 0.5
    expect = np.full(len(ps), np.nan)
    expect[valid] = model.predict(ps[np.flatnonzero(valid)])
    out = predict_raster(
        model, scene, tmp_path / "p.tif", resolution=f, window_size=4, progress=False
    )
    with rasterio.open(out) as ds:
        assert ds.shape == (H, W)
        np.testing.assert_allclose(ds.read(1).ravel(), expect, rtol=1e-5, atol=1e-5, equal_nan=True)
    # explicit renaming gives the same map as the height -> chm fallback
    again = predict_raster(
        model, scene, tmp_path / "q.tif", resolution=f, bands={"height": "chm"}, progress=False
    )
    np.testing.assert_array_equal(read(again), read(out))


def test_real_residual_kriging_map_equals_its_predict(tmp_path):
    from sklearn.linear_model import LinearRegression

    from geoagb.datasets import make_plots

    plots = make_plots(150, random_state=0)
    cols = ["ndvi", "height_mean", "elevation"]
    X = pd.DataFrame(plots[cols + ["x", "y"]])
    rk = ResidualKrigingRegressor(LinearRegression(), n_neighbors=16, random_state=0).fit(
        X, plots["agb"]
    )
    # a 1 km feature stack at 50 m over part of the plots' area, each feature a smooth field
    h = w = 20
    x0, y0 = float(X.x.min()), float(X.y.max())
    rng = np.random.default_rng(0)
    arr = np.stack(
        [rng.uniform(0.3, 0.9, (h, w)), rng.uniform(5, 25, (h, w)), rng.uniform(800, 1100, (h, w))]
    )
    path = write_raster(
        tmp_path / "s.tif", arr.astype(np.float32), res=50.0, x0=x0, y0=y0, descriptions=cols
    )
    out = predict_raster(rk, path, tmp_path / "rk.tif", window_size=7, progress=False)
    xs, ys = np.meshgrid(x0 + 50 * (np.arange(w) + 0.5), y0 - 50 * (np.arange(h) + 0.5))
    cells = pd.DataFrame(arr.reshape(3, -1).T.astype(np.float32).astype(float), columns=cols)
    cells["x"], cells["y"] = xs.ravel(), ys.ravel()
    mean, std = rk.predict(cells, return_std=True)
    with rasterio.open(out) as ds:
        assert ds.descriptions == ("agb", "agb_std", "residual")
        np.testing.assert_allclose(ds.read(1).ravel(), mean, rtol=1e-5, atol=1e-3)
        np.testing.assert_allclose(ds.read(2).ravel(), std, rtol=1e-5, atol=1e-3)
        np.testing.assert_allclose(
            ds.read(3).ravel(), rk.predict_residual(cells), rtol=1e-5, atol=1e-3
        )
