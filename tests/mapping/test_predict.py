"""predict_raster on tabular learners: cell-by-cell equality, windows, masks, nodata, atomic writes."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import rasterio
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression

from geoagb.mapping import predict_raster
from geoagb.raster import block_mean

from .conftest import read, write_raster

NAMES = ["ndvi", "height_mean", "elevation"]


def _training(rng, n=200):
    X = pd.DataFrame(
        {
            "ndvi": rng.uniform(0.2, 0.9, n),
            "height_mean": rng.uniform(3, 28, n),
            "elevation": rng.uniform(800, 1100, n),
        }
    )
    y = 20 + 120 * X.ndvi + 3 * X.height_mean - 0.02 * X.elevation + rng.normal(0, 5, n)
    return X, y


@pytest.fixture(scope="module")
def forest():
    X, y = _training(np.random.default_rng(0))
    return RandomForestRegressor(n_estimators=12, max_depth=6, random_state=0).fit(X, y)


def _cells(arr):
    """(F, h, w) -> DataFrame of all cells, row-major, and the validity mask."""
    F, h, w = arr.shape
    X = pd.DataFrame(arr.reshape(F, -1).T.astype(np.float64), columns=NAMES)
    return X, np.isfinite(arr).all(axis=0)


def test_equals_predict_cell_by_cell_with_forest_std(feature_stack, forest, tmp_path):
    path, arr = feature_stack
    out = predict_raster(forest, path, tmp_path / "agb.tif", window_size=16, progress=False)
    X, valid = _cells(arr)
    ok = valid.ravel()
    expect = np.full(arr.shape[1:], np.nan)
    expect.ravel()[ok] = forest.predict(X[ok])
    trees = np.stack([t.predict(X[ok].to_numpy(np.float32)) for t in forest.estimators_])
    expect_sd = np.full(arr.shape[1:], np.nan)
    expect_sd.ravel()[ok] = trees.std(axis=0)
    with rasterio.open(out) as ds:
        assert ds.descriptions == ("agb", "agb_std")
        assert ds.units == ("Mg/ha", "Mg/ha")
        assert ds.profile["tiled"] and ds.res == (2.0, 2.0)
        got, got_sd = ds.read(1), ds.read(2)
    np.testing.assert_allclose(got, expect, rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(got_sd, expect_sd, rtol=1e-5, atol=1e-4, equal_nan=True)
    assert np.isnan(got[5, 7]) and np.isnan(got[40:42, 30:33]).all()  # nodata respected
    assert np.isfinite(got).sum() == ok.sum()


def test_coarser_resolution_averages_features_per_cell(feature_stack, forest, tmp_path):
    path, arr = feature_stack
    out = predict_raster(
        forest,
        path,
        tmp_path / "agb30.tif",
        resolution=10,
        return_std=False,
        window_size=2,
        progress=False,
    )
    # 10 m cells = 5 x 5 pixels of 2 m; 45 px wide -> 9 cells, 60 px high -> 12 cells
    means = block_mean(arr, 5, skipna=False)
    np.testing.assert_allclose(
        means[:, 1, 2], arr[:, 5:10, 10:15].mean(axis=(1, 2)), rtol=1e-6
    )  # by hand
    assert np.isnan(means[0, 1, 1]) and np.isnan(means[1, 8, 6])  # cells holding a nodata pixel
    ok = np.isfinite(means).all(axis=0)
    X = pd.DataFrame(means.reshape(3, -1).T[ok.ravel()].astype(np.float64), columns=NAMES)
    expect = np.full((12, 9), np.nan)
    expect[ok] = forest.predict(X)
    with rasterio.open(out) as ds:
        assert ds.shape == (12, 9) and ds.res == (10.0, 10.0) and ds.count == 1
        assert ds.transform.c == 500_000.0 and ds.transform.f == 2_750_000.0
        np.testing.assert_allclose(ds.read(1), expect, rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("size", [5, 7, 32, None])
def test_window_size_does_not_change_the_result(feature_stack, forest, tmp_path, size):
    path, _ = feature_stack
    ref = read(predict_raster(forest, path, tmp_path / "ref.tif", window_size=64, progress=False))
    got = read(
        predict_raster(forest, path, tmp_path / f"w{size}.tif", window_size=size, progress=False)
    )
    np.testing.assert_array_equal(got, ref)


def test_prefetch_thread_gives_same_result_as_serial(feature_stack, forest, tmp_path):
    from geoagb.mapping._predict import make_task
    from geoagb.raster import plan_windows, run_windows

    path, _ = feature_stack
    task = make_task(forest, path, resolution=4)
    wins = plan_windows(task.grid.width, task.grid.height, 5)
    outs = {}
    for pre in (0, 2):
        got = np.zeros((2, task.grid.height, task.grid.width), np.float32)

        def write(win, a, got=got):
            got[
                :, win.row_off : win.row_off + win.height, win.col_off : win.col_off + win.width
            ] = a

        run_windows(task, wins, write, prefetch=pre, progress=False)
        outs[pre] = got
    np.testing.assert_array_equal(outs[0], outs[2])
    assert np.isfinite(outs[0]).mean() > 0.9


def test_landcover_mask_at_native_and_coarse_resolution(feature_stack, forest, tmp_path):
    path, arr = feature_stack
    lc = np.ones(arr.shape[1:], np.uint8)
    lc[:, :10] = 3  # bare rock on the left 10 pixels
    lc[20:30, 20:25] = 4  # water
    lc[50:53, 40:45] = 4  # 3 of 5 rows of cell (10, 8) at 10 m -> 60 % masked -> cell masked
    lc[55:57, 40:45] = 4  # 2 of 5 rows of cell (11, 8) -> 40 % masked -> cell kept
    lcp = write_raster(tmp_path / "lc.tif", lc, res=2.0, nodata=0)
    got = read(predict_raster(forest, path, tmp_path / "m.tif", mask=(lcp, [1, 2]), progress=False))
    free = read(predict_raster(forest, path, tmp_path / "f.tif", progress=False))
    keep = np.isin(lc, [1, 2])
    np.testing.assert_array_equal(np.isnan(got), np.isnan(free) | ~keep)
    np.testing.assert_array_equal(got[keep], free[keep])
    coarse = read(
        predict_raster(
            forest,
            path,
            tmp_path / "c.tif",
            resolution=10,
            mask=(lcp, [1, 2]),
            return_std=False,
            progress=False,
        )
    )
    frac = block_mean(keep.astype(float), 5)
    feats_ok = np.isfinite(block_mean(arr, 5, skipna=False)).all(axis=0)
    np.testing.assert_array_equal(np.isfinite(coarse), (frac >= 0.5) & feats_ok)
    assert np.isnan(coarse[10, 8]) and np.isfinite(coarse[11, 8])


def test_boolean_array_mask_and_nodata_value(feature_stack, forest, tmp_path):
    path, arr = feature_stack
    m = np.ones((12, 9), bool)
    m[3, 4] = False
    out = predict_raster(
        forest,
        path,
        tmp_path / "a.tif",
        resolution=10,
        mask=m,
        nodata=-9999.0,
        return_std=False,
        progress=False,
    )
    with rasterio.open(out) as ds:
        assert ds.nodata == -9999.0
        a = ds.read(1)
        feats_ok = np.isfinite(block_mean(arr, 5, skipna=False)).all(axis=0)
        np.testing.assert_array_equal(a == -9999.0, ~m | ~feats_ok)
        assert a[3, 4] == -9999.0 and not np.isnan(a).any()


def test_interrupted_write_leaves_no_file(feature_stack, forest, tmp_path):
    path, _ = feature_stack

    class Failing(LinearRegression):
        calls = 0

        def predict(self, X):
            type(self).calls += 1
            if type(self).calls == 3:
                raise RuntimeError("disk on fire")
            return super().predict(X)

    X, y = _training(np.random.default_rng(1))
    bad = Failing().fit(X, y)
    out = tmp_path / "agb.tif"
    with pytest.raises(RuntimeError, match="disk on fire"):
        predict_raster(bad, path, out, window_size=8, return_std=False, progress=False)
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["stack.tif"]
    # an existing map is left untouched by a failed rewrite
    good = predict_raster(LinearRegression().fit(X, y), path, out, return_std=False, progress=False)
    before = read(good)
    Failing.calls = 0
    with pytest.raises(RuntimeError):
        predict_raster(bad, path, out, window_size=8, return_std=False, progress=False)
    np.testing.assert_array_equal(read(out), before)


def test_single_band_files_and_dict_and_coordinates(feature_stack, tmp_path):
    path, arr = feature_stack
    files = []
    for i, n in enumerate(NAMES):
        files.append(write_raster(tmp_path / f"{n}.tif", arr[i], res=2.0, nodata=np.nan))
    rng = np.random.default_rng(3)
    X, y = _training(rng)
    X["x"] = rng.uniform(500_000, 500_090, len(X))  # a model that also uses the easting
    lin = LinearRegression().fit(X[["height_mean", "ndvi", "x"]], y)
    out = predict_raster(lin, files, tmp_path / "agb.tif", return_std=False, progress=False)
    got = read(out)
    xs = 500_000 + 2.0 * (np.arange(45) + 0.5)
    hand = (
        lin.intercept_ + lin.coef_[0] * arr[1] + lin.coef_[1] * arr[0] + lin.coef_[2] * xs[None, :]
    )
    np.testing.assert_allclose(got, hand, rtol=1e-5, equal_nan=True)
    got2 = read(
        predict_raster(
            lin, dict(zip(NAMES, files)), tmp_path / "b.tif", return_std=False, progress=False
        )
    )
    np.testing.assert_array_equal(got, got2)


def test_overviews_and_tags(tmp_path):
    arr = np.random.default_rng(0).random((2, 600, 520)).astype(np.float32)
    p = write_raster(tmp_path / "s.tif", arr, descriptions=["a", "b"])
    lin = LinearRegression().fit(pd.DataFrame({"a": [0, 1, 2.0], "b": [1, 0, 2.0]}), [1, 2, 3.0])
    out = predict_raster(lin, p, tmp_path / "o.tif", return_std=False, progress=False)
    with rasterio.open(out) as ds:
        assert ds.overviews(1) == [2, 4]
        assert ds.block_shapes[0] == (256, 256)
        assert ds.tags()["geoagb_estimator"] == "LinearRegression"
        np.testing.assert_allclose(
            ds.read(1), lin.intercept_ + arr[0] * lin.coef_[0] + arr[1] * lin.coef_[1], rtol=1e-5
        )


def test_clear_errors(feature_stack, forest, tmp_path):
    path, _ = feature_stack
    with pytest.raises(ValueError, match="whole multiple"):
        predict_raster(forest, path, tmp_path / "x.tif", resolution=3, progress=False)
    lin = LinearRegression().fit(
        pd.DataFrame({"ndvi": [0, 1, 2.0], "crown_cover": [1, 0, 2.0]}), [1, 2, 3]
    )
    with pytest.raises(ValueError, match=r"\['crown_cover'\]"):
        predict_raster(lin, path, tmp_path / "x.tif", progress=False)
    with pytest.raises(ValueError, match="overlap"):
        predict_raster(forest, path, tmp_path / "x.tif", overlap=-1, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(UserWarning, match="no uncertainty"):
            predict_raster(
                LinearRegression().fit(*_training(np.random.default_rng(0))),
                path,
                tmp_path / "x.tif",
                progress=False,
            )
    assert not (tmp_path / "x.tif").exists()
