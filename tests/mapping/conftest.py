"""Tiny GeoTIFFs for the mapping tests (written by code, never stored as binaries)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

CRS = "EPSG:32648"
X0, Y0 = 500_000.0, 2_750_000.0


def write_raster(
    path, arr, res=1.0, nodata=None, descriptions=None, crs=CRS, x0=X0, y0=Y0, dtype=None
):
    """Write ``arr`` (C, h, w) or (h, w) as a GeoTIFF with upper-left corner (x0, y0)."""
    arr = np.asarray(arr)
    if arr.ndim == 2:
        arr = arr[None]
    prof = dict(
        driver="GTiff",
        width=arr.shape[2],
        height=arr.shape[1],
        count=arr.shape[0],
        dtype=dtype or arr.dtype.name,
        crs=crs,
        transform=from_origin(x0, y0, res, res),
        nodata=nodata,
        tiled=True,
        blockxsize=16,
        blockysize=16,
    )
    with rasterio.open(path, "w", **prof) as ds:
        ds.write(arr.astype(prof["dtype"]))
        if descriptions:
            for i, d in enumerate(descriptions, 1):
                ds.set_band_description(i, d)
    return str(path)


def read(path, band=1):
    with rasterio.open(path) as ds:
        return ds.read(band)


@pytest.fixture
def feature_stack(tmp_path):
    """A 3-feature stack, 60 x 45 pixels of 2 m, with smooth fields and a few NaN pixels."""
    rng = np.random.default_rng(42)
    h, w = 60, 45
    yy, xx = np.mgrid[0:h, 0:w]
    ndvi = 0.3 + 0.5 * np.sin(xx / 9.0) ** 2 + 0.05 * rng.standard_normal((h, w))
    height = 5 + 20 * (yy / h) + rng.standard_normal((h, w))
    elev = 900 + 3 * xx - 2 * yy
    arr = np.stack([ndvi, height, elev]).astype(np.float32)
    arr[0, 5, 7] = np.nan
    arr[1, 40:42, 30:33] = np.nan
    path = write_raster(
        tmp_path / "stack.tif",
        arr,
        res=2.0,
        nodata=np.nan,
        descriptions=["ndvi", "height_mean", "elevation"],
    )
    return path, arr


@pytest.fixture(scope="session")
def client():
    """A 2-worker in-process Dask cluster."""
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def recipe_scene(d):
    """Image (4 bands, a nodata patch), DEM and CHM at 1 m, 72 x 84 pixels, written to folder
    ``d``; returns the source paths by name (for feature-recipe mapping tests)."""
    rng = np.random.default_rng(11)
    h, w = 72, 84
    yy, xx = np.mgrid[0:h, 0:w]
    img = np.stack(
        [
            0.05 + 0.02 * rng.random((h, w)),
            0.08 + 0.02 * rng.random((h, w)),
            0.06 + 0.03 * rng.random((h, w)),
            0.3 + 0.2 * np.sin(xx / 5) ** 2 + 0.05 * rng.random((h, w)),
        ]
    )
    img[:, 30:32, 40:42] = -9999.0
    dem = 900 + 2.0 * xx + 0.05 * (yy - 30) ** 2 + rng.normal(0, 0.3, (h, w))
    chm = np.clip(10 + 8 * np.cos(yy / 7) + rng.normal(0, 1, (h, w)), 0, None)
    src = dict(
        image=write_raster(
            d / "image.tif",
            img.astype(np.float32),
            nodata=-9999.0,
            descriptions=["blue", "green", "red", "nir"],
        ),
        dem=write_raster(d / "dem.tif", dem.astype(np.float32)),
        chm=write_raster(d / "chm.tif", chm.astype(np.float32), descriptions=["chm"]),
    )
    return src
