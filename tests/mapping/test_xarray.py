"""xarray / rioxarray / dask mapping: the lazy map equals the GeoTIFF path cell for cell."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import rasterio
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import LinearRegression

from geoagb.features import RasterFeatures
from geoagb.features._xr_features import XarrayFeatures, nearest_sample_index
from geoagb.mapping import carbon_stock, explain_raster, predict_raster
from geoagb.mapping._xarray import aligned_chunks, predict_xarray

from .conftest import X0, Y0, recipe_scene, write_raster

xr = pytest.importorskip("xarray")
rioxarray = pytest.importorskip("rioxarray")
dask = pytest.importorskip("dask")


def read_all(path):
    with rasterio.open(path) as ds:
        return ds.read(), ds.descriptions


def as_array(ds):
    return ds.to_array("band").values


# ---- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """3 features, 60 x 45 pixels of 2 m, nodata -9999 and NaN pixels; a forest fitted on them."""
    d = tmp_path_factory.mktemp("xstack")
    rng = np.random.default_rng(42)
    h, w = 60, 45
    yy, xx = np.mgrid[0:h, 0:w]
    arr = np.stack(
        [
            0.3 + 0.5 * np.sin(xx / 9.0) ** 2 + 0.05 * rng.standard_normal((h, w)),
            5 + 20 * (yy / h) + rng.standard_normal((h, w)),
            900 + 3 * xx - 2 * yy,
        ]
    ).astype(np.float32)
    arr[0, 5, 7] = -9999.0
    arr[1, 40:42, 30:33] = -9999.0
    path = write_raster(
        d / "stack.tif",
        arr,
        res=2.0,
        nodata=-9999.0,
        descriptions=["ndvi", "height_mean", "elevation"],
    )
    X = pd.DataFrame(arr.reshape(3, -1).T[::7], columns=["ndvi", "height_mean", "elevation"])
    X = X[(X != -9999.0).all(axis=1)]
    y = 100 * X["ndvi"] + 4 * X["height_mean"] + rng.normal(0, 3, len(X))
    model = RandomForestRegressor(n_estimators=10, random_state=0).fit(X, y)
    return path, model, X


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """Image (4 bands, nodata patch), DEM and CHM at 1 m, 72 x 84 pixels; a texture + terrain
    recipe (halo 2, scene-wide texture range and TWI) and a forest fitted on it."""
    d = tmp_path_factory.mktemp("xscene")
    src = recipe_scene(d)
    options = dict(
        indices=["ndvi"],
        terrain=["slope", "northness", "twi"],
        textures=dict(band="nir", window=5, levels=16, features=["mean", "contrast"]),
        extra={"height_p95": ("chm", 1, "p95")},
    )
    rf = RasterFeatures(src, **options)
    xs = X0 + 6 * (np.arange(14) + 0.5)
    ys = Y0 - 6 * (np.arange(12) + 0.5)
    gx, gy = np.meshgrid(xs, ys)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X = rf.at_points(pd.DataFrame({"x": gx.ravel(), "y": gy.ravel()}), footprint=6.0)
    ok = X.notna().all(axis=1)
    y = 50 * X["ndvi"].fillna(0) + 3 * X["height_p95"].fillna(0) + X["nir_glcm5_contrast"].fillna(0)
    model = RandomForestRegressor(n_estimators=10, random_state=0).fit(X[ok], y[ok])
    return src, rf, options, model, X


def open_sources(src, chunks):
    kw = {} if chunks is None else dict(chunks={"x": chunks, "y": chunks})
    return {k: rioxarray.open_rasterio(p, **kw) for k, p in src.items()}


# ---- (a) a plain feature stack -----------------------------------------------------------------
@pytest.mark.parametrize("resolution,chunks", [(None, 16), (4, 13), (6, None)])
def test_stack_map_equals_geotiff_path(stack, tmp_path, resolution, chunks):
    path, model, _ = stack
    ref, names = read_all(
        predict_raster(model, path, tmp_path / "ref.tif", resolution=resolution, progress=False)
    )
    kw = {} if chunks is None else dict(chunks={"x": chunks, "y": chunks})
    data = rioxarray.open_rasterio(path, **kw)
    out = predict_xarray(model, data, resolution=resolution, chunks=None if chunks else (16, 20))
    assert list(out.data_vars) == list(names) == ["agb", "agb_std"]
    assert np.isnan(ref).any()  # the nodata pixels reach the map
    np.testing.assert_allclose(as_array(out), ref, rtol=1e-6, atol=1e-6, equal_nan=True)
    assert len(out.agb.chunks[0]) > 1 and len(out.agb.chunks[1]) > 1  # several blocks
    with rasterio.open(path) as ds:
        grid_t = ds.transform @ rasterio.Affine.scale(resolution / 2 if resolution else 1)
    assert out.rio.transform().almost_equals(grid_t) and out.rio.crs == "EPSG:32648"


def test_eager_and_masked_inputs_equal_dask(stack):
    path, model, _ = stack
    lazy = as_array(predict_xarray(model, rioxarray.open_rasterio(path, chunks={"x": 16, "y": 16})))
    eager = as_array(predict_xarray(model, rioxarray.open_rasterio(path), chunks=(16, 20)))
    masked = as_array(predict_xarray(model, rioxarray.open_rasterio(path, masked=True), chunks=12))
    np.testing.assert_array_equal(eager, lazy)
    np.testing.assert_array_equal(masked, lazy)


def test_predict_raster_and_explain_raster_accept_xarray(stack, tmp_path):
    path, model, X = stack
    ref, _ = read_all(
        predict_raster(model, path, tmp_path / "ref.tif", resolution=4, progress=False)
    )
    da = rioxarray.open_rasterio(path, chunks={"x": 16, "y": 16})
    got, _ = read_all(
        predict_raster(model, da, tmp_path / "da.tif", resolution=4, progress=False, window_size=5)
    )
    np.testing.assert_array_equal(got, ref)
    ds = rioxarray.open_rasterio(path, band_as_variable=True)  # one variable per band
    got, _ = read_all(predict_raster(model, ds, tmp_path / "ds.tif", resolution=4, progress=False))
    np.testing.assert_array_equal(got, ref)

    def explainer(est, Xd):  # a linear "explanation": value_j = coef_j * x_j
        class E:
            values = np.asarray(Xd, dtype=float) * np.arange(1, Xd.shape[1] + 1)
            feature_names = list(Xd.columns)

        return E()

    lin = LinearRegression().fit(X, X["ndvi"])
    a, _ = read_all(
        explain_raster(lin, path, tmp_path / "e1.tif", progress=False, explainer=explainer)
    )
    b, _ = read_all(
        explain_raster(lin, da, tmp_path / "e2.tif", progress=False, explainer=explainer)
    )
    np.testing.assert_array_equal(a, b)


# ---- (b) a RasterFeatures recipe with a halo ------------------------------------------------------
@pytest.mark.parametrize(
    "resolution,chunks,how",
    [(6, 20, "recipe"), (None, 16, "recipe"), (None, None, "options"), (6, 13, "xf")],
)
def test_recipe_map_equals_geotiff_path(scene, tmp_path, resolution, chunks, how):
    src, rf, options, model, _ = scene
    assert rf.halo == 2
    ref, _ = read_all(
        predict_raster(model, rf, tmp_path / "ref.tif", resolution=resolution, progress=False)
    )
    data = open_sources(src, chunks)
    if how == "recipe":
        out = predict_xarray(model, data, features=rf, resolution=resolution)
    elif how == "options":
        out = predict_xarray(model, data, features=options, resolution=resolution, chunks=(16, 24))
    else:
        out = predict_xarray(model, XarrayFeatures.from_recipe(rf, data), resolution=resolution)
    assert len(out.agb.chunks[0]) > 2 and len(out.agb.chunks[1]) > 2  # interior blocks with halos
    np.testing.assert_allclose(as_array(out), ref, rtol=1e-6, atol=1e-6, equal_nan=True)


def test_xarray_features_equal_rasterfeatures(scene, tmp_path):
    src, rf, _, model, X = scene
    xf = XarrayFeatures.from_recipe(rf, open_sources(src, 20))
    assert xf.feature_names == rf.feature_names and xf.halo == rf.halo
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = xf.at_points(
            pd.DataFrame({"x": [X0 + 9.5, X0 + 40.2], "y": [Y0 - 11.5, Y0 - 70.0]}), footprint=6.0
        )
        ref = rf.at_points(
            pd.DataFrame({"x": [X0 + 9.5, X0 + 40.2], "y": [Y0 - 11.5, Y0 - 70.0]}), footprint=6.0
        )
    pd.testing.assert_frame_equal(got, ref)
    ref_map, _ = read_all(
        predict_raster(model, rf, tmp_path / "a.tif", resolution=6, progress=False)
    )
    got_map, _ = read_all(
        predict_raster(model, xf, tmp_path / "b.tif", resolution=6, window_size=5, progress=False)
    )
    np.testing.assert_array_equal(got_map, ref_map)


def test_nearest_sample_index_is_rasterio_nearest_read(tmp_path):
    arr = np.arange(130 * 170, dtype=np.float32).reshape(130, 170)
    p = write_raster(tmp_path / "s.tif", arr)
    with rasterio.open(p) as ds:
        ref = ds.read(1, out_shape=(50, 40), resampling=rasterio.enums.Resampling.nearest)
    np.testing.assert_array_equal(
        arr[np.ix_(nearest_sample_index(130, 50), nearest_sample_index(170, 40))], ref
    )


# ---- laziness, outputs, cluster -----------------------------------------------------------------
class CountingForest(RandomForestRegressor):
    calls = 0

    def predict(self, X):
        type(self).calls += 1
        return super().predict(X)


def test_nothing_is_computed_until_compute(scene):
    from dask.callbacks import Callback

    src, rf, _, model, X = scene
    counting = CountingForest(n_estimators=5, random_state=0).fit(
        X.dropna(), np.arange(len(X.dropna()))
    )
    ran = []
    with (
        dask.config.set(scheduler="threads"),
        Callback(pretask=lambda key, dsk, state: ran.append(key)),
    ):
        out = predict_xarray(counting, open_sources(src, 20), features=rf, resolution=6)
        assert ran == [] and CountingForest.calls == 0
        assert out.agb.data.npartitions > 4
        out.agb.compute()
    assert len(ran) > out.agb.data.npartitions and CountingForest.calls > 0


def test_to_raster_and_carbon_stock_of_the_lazy_map(stack, tmp_path):
    path, model, _ = stack
    ref_path = predict_raster(model, path, tmp_path / "ref.tif", resolution=4, progress=False)
    out = predict_xarray(
        model, rioxarray.open_rasterio(path, chunks={"x": 16, "y": 16}), resolution=4
    )
    out.rio.to_raster(tmp_path / "x.tif")
    got, names = read_all(tmp_path / "x.tif")
    ref, _ = read_all(ref_path)
    np.testing.assert_allclose(got, ref, rtol=1e-6, equal_nan=True)
    assert names == ("agb", "agb_std")
    a = carbon_stock(ref_path, root_shoot=0.35)
    pd.testing.assert_frame_equal(carbon_stock(out, root_shoot=0.35), a)
    as_da = out.to_array("band")  # a DataArray (band, y, x) named by its band coordinate
    pd.testing.assert_frame_equal(carbon_stock(as_da), carbon_stock(ref_path))


def test_applicability_bands_equal_geotiff_path(stack, tmp_path):
    from geoagb.applicability import AreaOfApplicability

    path, model, X = stack
    aoa = AreaOfApplicability(weights="uniform").fit(X, model=model)
    ref, names = read_all(
        predict_raster(model, path, tmp_path / "ref.tif", progress=False, applicability=aoa)
    )
    out = predict_xarray(
        model, rioxarray.open_rasterio(path, chunks={"x": 16, "y": 16}), applicability=aoa
    )
    assert tuple(out.data_vars) == names == ("agb", "agb_std", "di", "aoa")
    np.testing.assert_allclose(as_array(out), ref, rtol=1e-6, atol=1e-6, equal_nan=True)
    assert 0 < np.nansum(ref[3]) < np.isfinite(ref[3]).sum()  # cells inside and outside


def test_lazy_map_on_a_dask_cluster(scene, client, tmp_path):
    src, rf, _, model, _ = scene
    ref = as_array(
        predict_xarray(model, open_sources(src, 20), features=rf, resolution=6).compute(
            scheduler="sync"
        )
    )
    out = predict_xarray(model, open_sources(src, 20), features=rf, resolution=6)
    got = as_array(client.compute(out).result())
    np.testing.assert_array_equal(got, ref)
    xf = XarrayFeatures.from_recipe(
        rf, open_sources(src, 20)
    )  # windows on the cluster read DataArrays
    path = predict_raster(
        model, xf, tmp_path / "c.tif", resolution=6, window_size=4, client=client, progress=False
    )
    np.testing.assert_array_equal(read_all(path)[0], ref)


# ---- errors ---------------------------------------------------------------------------------------
def _bare(crs=None, names=("ndvi", "height_mean")):
    da = xr.DataArray(
        np.ones((len(names), 20, 20), np.float32),
        dims=("band", "y", "x"),
        coords={"band": list(names), "y": 1000.5 - np.arange(20.0), "x": 0.5 + np.arange(20.0)},
    )
    return da if crs is None else da.rio.write_crs(crs)


def test_missing_or_geographic_crs_is_refused(stack, tmp_path):
    _, model, _ = stack
    model2 = LinearRegression().fit(
        pd.DataFrame({"ndvi": [0, 1.0], "height_mean": [1.0, 0]}), [0, 1.0]
    )
    with pytest.raises(ValueError, match=r"no CRS \(\.rio\.crs is None\).*rio\.write_crs"):
        predict_xarray(model2, _bare(), return_std=False)
    with pytest.raises(ValueError, match=r"geographic CRS EPSG:4326.*metres.*rio\.reproject"):
        predict_xarray(model2, _bare("EPSG:4326"), return_std=False)
    with pytest.raises(ValueError, match="no CRS"):
        predict_raster(model2, _bare(), tmp_path / "x.tif", return_std=False, progress=False)
    with pytest.raises(ValueError, match="geographic"):
        XarrayFeatures({"image": _bare("EPSG:4326")}, indices=None, bands=["ndvi"])


def test_unnamed_bands_and_bad_arguments_are_refused(stack):
    _, model, _ = stack
    unnamed = _bare("EPSG:32648").assign_coords(band=[1, 2])
    with pytest.raises(ValueError, match=r"band\(s\) \[1, 2\].*no name.*assign_coords"):
        predict_xarray(model, unnamed)
    with pytest.raises(ValueError, match="chunks="):
        predict_xarray(model, _bare("EPSG:32648"), chunks=0)
    with pytest.raises(TypeError, match="features="):
        predict_xarray(model, {"image": _bare("EPSG:32648")})
    with pytest.raises(ValueError, match=r"fitted on column\(s\)"):  # the stack lacks "elevation"
        predict_xarray(model, _bare("EPSG:32648"))


def test_aligned_chunks():
    for chunks, size, f, m in [
        ((7,) * 9 + (2,), 65, 3, 2),
        ((100,), 100, 7, 3),
        ((5,) * 20, 100, 1, 6),
        ((31, 31, 31, 7), 100, 30, 2),
    ]:
        out = aligned_chunks(chunks, size, f, m)
        edges = np.cumsum(out)
        assert edges[-1] == size and min(out) >= min(size, max(f, m))
        assert all(e % f == 0 for e in edges[:-1])
    assert aligned_chunks((16, 16, 16), 48, 4, 2) == (16, 16, 16)  # aligned chunks are kept
