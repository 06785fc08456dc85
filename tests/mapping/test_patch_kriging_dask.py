"""predict_raster on patch models, residual kriging (duck-typed stand-ins) and on a Dask cluster."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression

from geoagb.mapping import predict_raster
from geoagb.raster import block_mean

from .conftest import X0, Y0, read, write_raster

RES = 1.0


class WeightedPatchModel(RegressorMixin, BaseEstimator):
    """Stand-in patch model: a fixed, position-sensitive weighted sum of the patch pixels."""

    def __init__(self, bands=("red", "nir", "crown"), size=(8, 8)):
        self.bands = bands
        self.size = size

    def fit(self, X=None, y=None):
        self.bands_ = list(self.bands)
        self.patch_size_ = tuple(self.size)
        rng = np.random.default_rng(0)
        self.weights_ = rng.normal(size=(len(self.bands),) + tuple(self.size))
        self.seen_coords_ = []
        return self

    def predict(self, X, return_std=False):
        d = np.nan_to_num(X.select(self.bands_).data.astype(np.float64))
        mean = np.einsum("nchw,chw->n", d, self.weights_)
        self.seen_coords_.append(X.coords.copy())
        if return_std:
            return mean, d[:, 0].std(axis=(1, 2))
        return mean


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    d = tmp_path_factory.mktemp("scene")
    rng = np.random.default_rng(7)
    h, w = 47, 53
    img = rng.random((4, h, w)).astype(np.float32)
    img[3, 10:12, 10:13] = np.nan
    crown = (rng.random((h, w)) > 0.5).astype(np.uint8)
    return dict(
        image=write_raster(
            d / "image.tif",
            img,
            res=RES,
            nodata=np.nan,
            descriptions=["blue", "green", "red", "nir"],
        ),
        crown=write_raster(d / "crown.tif", crown, res=RES, nodata=255),
    ), np.concatenate([img, crown[None].astype(np.float32)])


def _reference(model, stack, f, bands_idx):
    """Loop over output cells, cut the patch centred on each cell from a NaN-padded array."""
    ph, pw = model.patch_size_
    C, H, W = stack.shape
    pad = max(ph, pw) + f
    padded = np.pad(stack[bands_idx], ((0, 0), (pad, pad), (pad, pad)), constant_values=np.nan)
    hout, wout = H // f, W // f
    mean = np.full((hout, wout), np.nan)
    for i in range(hout):
        for j in range(wout):
            # the patch is centred on the cell centre ((i + 0.5) f, (j + 0.5) f) in pixels,
            # rounded half up when it cannot be (f - P odd)
            r0 = int(np.floor((i + 0.5) * f - ph / 2.0 + 0.5)) + pad
            c0 = int(np.floor((j + 0.5) * f - pw / 2.0 + 0.5)) + pad
            p = padded[:, r0 : r0 + ph, c0 : c0 + pw]
            if np.isfinite(p).all(axis=0).mean() >= 0.5:
                mean[i, j] = np.einsum(
                    "chw,chw->", np.nan_to_num(p.astype(np.float64)), model.weights_
                )
    return mean


@pytest.mark.parametrize("f,size", [(6, (8, 8)), (5, (8, 6)), (6, (4, 4)), (1, (3, 3))])
def test_patch_model_equals_predict_on_centred_patches(sources, tmp_path, f, size):
    srcs, stack = sources
    model = WeightedPatchModel(size=size).fit()
    out = predict_raster(
        model, srcs, tmp_path / "p.tif", resolution=f * RES, window_size=3, progress=False
    )
    expect = _reference(model, stack, f, [2, 3, 4])
    with rasterio.open(out) as ds:
        assert ds.descriptions == ("agb", "agb_std") and ds.res == (f * RES, f * RES)
        np.testing.assert_allclose(ds.read(1), expect, rtol=1e-5, atol=1e-5, equal_nan=True)
        xs = X0 + f * RES * (np.arange(ds.width) + 0.5)
    seen = np.concatenate(model.seen_coords_[1:])  # [0] is the std probe
    assert set(np.round(seen[:, 0], 6)) <= set(np.round(xs, 6))


def test_patch_model_window_size_invariant(sources, tmp_path):
    srcs, _ = sources
    model = WeightedPatchModel(size=(9, 9)).fit()
    a = read(
        predict_raster(model, srcs, tmp_path / "a.tif", resolution=4, window_size=1, progress=False)
    )
    b = read(
        predict_raster(model, srcs, tmp_path / "b.tif", resolution=4, window_size=5, progress=False)
    )
    c = read(predict_raster(model, srcs, tmp_path / "c.tif", resolution=4, progress=False))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


def test_patch_model_missing_band_is_a_clear_error(sources, tmp_path):
    srcs, _ = sources
    model = WeightedPatchModel(bands=("nir", "height")).fit()
    with pytest.raises(ValueError, match=r"bands=\{'height': 'chm'\}"):
        predict_raster(model, srcs, tmp_path / "e.tif", resolution=5, progress=False)


class FakeResidualKriging(RegressorMixin, BaseEstimator):
    """Stand-in with the ResidualKrigingRegressor contract: a planar 'kriged' residual."""

    def __init__(self, coords=("x", "y")):
        self.coords = coords

    def fit(self, X, y):
        self.feats_ = [c for c in X.columns if c not in self.coords]
        self.estimator_ = LinearRegression().fit(X[self.feats_], y)
        self.feature_names_in_ = np.asarray(list(X.columns), dtype=object)
        return self

    def learner_features(self, X):
        return X[self.feats_]

    def predict_residual(self, X, return_std=False):
        r = 0.05 * (X[self.coords[0]].to_numpy() - X0) - 0.03 * (X[self.coords[1]].to_numpy() - Y0)
        if return_std:
            return r, 2.0 + 0.01 * np.abs(r)
        return r

    def predict(self, X, return_std=False):
        m = self.estimator_.predict(self.learner_features(X)) + self.predict_residual(X)
        return (m, self.predict_residual(X, True)[1]) if return_std else m


def test_residual_kriging_path_adds_the_kriged_surface(feature_stack, tmp_path):
    path, arr = feature_stack
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "ndvi": rng.random(50),
            "height_mean": rng.random(50) * 20,
            "x": rng.uniform(X0, X0 + 90, 50),
            "y": rng.uniform(Y0 - 120, Y0, 50),
        }
    )
    rk = FakeResidualKriging().fit(X, 3 * X.height_mean + 50 * X.ndvi)
    out = predict_raster(rk, path, tmp_path / "rk.tif", resolution=6, window_size=4, progress=False)
    with rasterio.open(out) as ds:
        assert ds.descriptions == ("agb", "agb_std", "residual")
        agb, sd, res = ds.read(1), ds.read(2), ds.read(3)
        xs = X0 + 6 * (np.arange(ds.width) + 0.5)
        ys = Y0 - 6 * (np.arange(ds.height) + 0.5)
    gx, gy = np.meshgrid(xs, ys)
    r_hand = 0.05 * (gx - X0) - 0.03 * (gy - Y0)
    m = block_mean(arr, 3, skipna=False)
    lost = np.isnan(m[:2]).any(axis=0)  # nodata in a feature the model uses (not elevation)
    assert lost.sum() > 0
    r_hand[lost] = np.nan
    np.testing.assert_allclose(res, r_hand, rtol=1e-5, atol=1e-4, equal_nan=True)
    np.testing.assert_allclose(sd, 2.0 + 0.01 * np.abs(r_hand), rtol=1e-5, equal_nan=True)
    X = pd.DataFrame({"ndvi": m[0][~lost], "height_mean": m[1][~lost]})
    expect = np.full(agb.shape, np.nan)
    expect[~lost] = rk.estimator_.predict(X) + r_hand[~lost]
    np.testing.assert_allclose(agb, expect, rtol=1e-5, equal_nan=True)


def test_dask_equals_single_process(feature_stack, client, tmp_path):
    path, arr = feature_stack
    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "ndvi": rng.random(80),
            "height_mean": rng.random(80) * 25,
            "elevation": rng.random(80) * 300 + 800,
        }
    )
    rf = RandomForestRegressor(n_estimators=8, random_state=0).fit(X, 100 * X.ndvi + X.height_mean)
    m = np.ones((30, 22), bool)
    m[::4, ::3] = False
    kw = dict(resolution=4, mask=m, window_size=4, progress=False)
    one = predict_raster(rf, path, tmp_path / "one.tif", **kw)
    many = predict_raster(rf, path, tmp_path / "many.tif", client=client, **kw)
    for b in (1, 2):
        np.testing.assert_array_equal(read(many, b), read(one, b))
    assert np.isnan(read(many)[::4, ::3]).all() and np.isfinite(read(many)).sum() > 400


def test_dask_patch_model_and_failure_cleanup(sources, client, tmp_path):
    srcs, _ = sources
    model = WeightedPatchModel(size=(6, 6)).fit()
    one = read(
        predict_raster(
            model, srcs, tmp_path / "one.tif", resolution=5, window_size=2, progress=False
        )
    )
    many = read(
        predict_raster(
            model,
            srcs,
            tmp_path / "many.tif",
            resolution=5,
            window_size=2,
            client=client,
            progress=False,
        )
    )
    np.testing.assert_array_equal(one, many)

    class Boom(WeightedPatchModel):
        def predict(self, X, return_std=False):
            if len(X) > 1:
                raise RuntimeError("worker failed")
            return super().predict(X, return_std)

    with pytest.raises(RuntimeError, match="worker failed"):
        predict_raster(
            Boom(size=(6, 6)).fit(),
            srcs,
            tmp_path / "boom.tif",
            resolution=5,
            client=client,
            window_size=2,
            progress=False,
        )
    assert not (tmp_path / "boom.tif").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_client_must_be_a_distributed_client(feature_stack, tmp_path):
    path, _ = feature_stack
    lin = LinearRegression().fit(pd.DataFrame({"ndvi": [0, 1, 2.0]}), [1, 2, 3])
    with pytest.raises(TypeError, match="dask.distributed.Client"):
        predict_raster(
            lin, path, tmp_path / "x.tif", client="tcp://nowhere", return_std=False, progress=False
        )
