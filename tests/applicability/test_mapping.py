import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.transform import from_origin
from sklearn.linear_model import LinearRegression

from geoagb.applicability import AreaOfApplicability
from geoagb.mapping import carbon_stock, predict_raster


@pytest.fixture()
def scene(tmp_path):
    rng = np.random.default_rng(0)
    h = w = 40
    ndvi = rng.uniform(0.2, 0.8, (h, w)).astype("float32")
    height = rng.uniform(5, 25, (h, w)).astype("float32")
    height[:10, :10] = 60.0  # a corner far outside the training range
    ndvi[-1, -1] = np.nan  # a nodata cell
    path = tmp_path / "stack.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=w,
        height=h,
        count=2,
        dtype="float32",
        crs="EPSG:32648",
        transform=from_origin(500_000, 2_750_040, 10, 10),
    ) as ds:
        ds.write(np.stack([ndvi, height]))
        ds.descriptions = ("ndvi", "height_mean")
    X = pd.DataFrame({"ndvi": rng.uniform(0.2, 0.8, 80), "height_mean": rng.uniform(5, 25, 80)})
    y = 200 * X["ndvi"] + 3 * X["height_mean"]
    model = LinearRegression().fit(X, y)
    aoa = AreaOfApplicability(weights="uniform").fit(X, folds=np.arange(80) % 4)
    return path, model, aoa, ndvi, height, tmp_path


def test_predict_raster_writes_di_and_aoa_bands(scene):
    path, model, aoa, ndvi, height, tmp = scene
    out = predict_raster(
        model,
        path,
        tmp / "agb.tif",
        return_std=False,
        progress=False,
        applicability=aoa,
        window_size=16,
    )
    with rasterio.open(out) as ds:
        assert ds.descriptions == ("agb", "di", "aoa")
        di, inside = ds.read(2), ds.read(3)
    cells = pd.DataFrame({"ndvi": ndvi.ravel(), "height_mean": height.ravel()})
    ref = aoa.di(cells).reshape(ndvi.shape)
    ok = np.isfinite(ref)
    assert np.isnan(di[-1, -1]) and np.isnan(inside[-1, -1])
    assert np.allclose(di[ok], ref[ok], rtol=1e-6)
    assert np.array_equal(inside[ok] == 1, (ref <= aoa.threshold_)[ok])
    assert (inside[:10, :10] == 0).all()  # the out-of-range corner
    assert inside[10:, 10:][np.isfinite(inside[10:, 10:])].mean() > 0.9


def test_carbon_stock_restricted_to_the_aoa(scene):
    path, model, aoa, ndvi, height, tmp = scene
    out = predict_raster(
        model, path, tmp / "agb.tif", return_std=False, progress=False, applicability=aoa
    )
    with rasterio.open(out) as ds:
        agb, inside = ds.read(1).astype(float), ds.read(3)
    area_ha = 10 * 10 / 1e4
    mapped = np.isfinite(agb)
    ins = mapped & (inside == 1)
    s = carbon_stock(out, aoa=True).loc["all"]
    assert s["n_cells"] == ins.sum()
    assert s["stock_MgC"] == pytest.approx(agb[ins].sum() * area_ha * 0.47)
    assert s["outside_aoa_area_ha"] == pytest.approx((mapped & ~ins).sum() * area_ha)
    assert s["outside_aoa_pct"] == pytest.approx(100 * (mapped & ~ins).sum() / mapped.sum())
    assert s["outside_aoa_stock_MgC"] == pytest.approx(agb[mapped & ~ins].sum() * area_ha * 0.47)
    full = carbon_stock(out).loc["all"]
    assert full["stock_MgC"] == pytest.approx(s["stock_MgC"] + s["outside_aoa_stock_MgC"])
    # the AOA from a separate raster on the same grid, and per region with a total row
    sep = tmp / "aoa.tif"
    with rasterio.open(out) as ds:
        prof = ds.profile | dict(count=1)
        with rasterio.open(sep, "w", **prof) as dst:
            dst.write(inside, 1)
    zones = np.zeros(agb.shape, dtype=int)
    zones[:, 20:] = 1
    z = carbon_stock(out, regions=zones, aoa=sep)
    assert z.loc["total", "stock_MgC"] == pytest.approx(s["stock_MgC"])
    assert z.loc["total", "outside_aoa_pct"] == pytest.approx(s["outside_aoa_pct"])


def test_mapping_errors(scene):
    path, model, aoa, ndvi, height, tmp = scene
    plain = predict_raster(model, path, tmp / "plain.tif", return_std=False, progress=False)
    with pytest.raises(ValueError, match="applicability=aoa"):
        carbon_stock(plain, aoa=True)
    X = pd.DataFrame({"ndvi": [0.1, 0.5, 0.9], "slope": [1.0, 5.0, 3.0]})
    other = AreaOfApplicability(weights="uniform").fit(X)
    with pytest.raises(ValueError, match="slope"):
        predict_raster(
            model, path, tmp / "bad.tif", return_std=False, progress=False, applicability=other
        )
