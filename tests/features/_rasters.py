"""Tiny GeoTIFFs for the feature tests, written with rasterio into a temporary folder."""

from __future__ import annotations

import numpy as np
import rasterio
from affine import Affine

CRS = "EPSG:32648"
X0, Y0 = 500_000.0, 2_750_000.0  # upper-left corner, metres


def write_tif(
    path, arr, res=1.0, nodata=None, descriptions=None, crs=CRS, x0=X0, y0=Y0, dtype=None
):
    """Write ``arr`` of shape (h, w) or (C, h, w) as a tiled GeoTIFF; returns the path as str."""
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
        transform=Affine(res, 0.0, x0, 0.0, -res, y0),
        nodata=nodata,
        tiled=True,
        blockxsize=16,
        blockysize=16,
    )
    with rasterio.open(path, "w", **prof) as ds:
        ds.write(arr.astype(prof["dtype"]))
        for i, d in enumerate(descriptions or [], 1):
            ds.set_band_description(i, d)
    return str(path)


def make_fields(h=48, w=56, seed=0):
    """Smooth synthetic fields: 4 reflectance bands, DEM (m), canopy height (m), crown mask."""
    from scipy.ndimage import gaussian_filter

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(float)
    veg = gaussian_filter(rng.normal(size=(h, w)), 2.0)
    veg = (veg - veg.min()) / np.ptp(veg)
    nir = 0.2 + 0.25 * veg + 0.01 * rng.normal(size=(h, w))
    red = 0.12 - 0.08 * veg + 0.005 * rng.normal(size=(h, w))
    green = red * 1.2 + 0.01
    blue = red * 0.8 + 0.01
    image = np.stack([blue, green, red, nir]).astype(np.float32)
    dem = (
        900
        + 0.8 * xx
        - 0.5 * yy
        + 6 * np.sin(xx / 7.0) * np.cos(yy / 9.0)
        + 3 * gaussian_filter(rng.normal(size=(h, w)), 3.0)
    ).astype(np.float32)
    chm = (25 * veg + rng.uniform(0, 2, (h, w))).astype(np.float32)
    crown = (veg > 0.45).astype(np.uint8)
    return {"image": image, "dem": dem, "chm": chm, "crown": crown}


def write_scene(folder, h=48, w=56, res=1.0, seed=0, crown_nodata_at=None):
    """Write image/chm/crown/dem GeoTIFFs on one grid; returns (sources dict, fields dict)."""
    f = make_fields(h, w, seed)
    crown = f["crown"].copy()
    if crown_nodata_at is not None:
        crown[crown_nodata_at] = 255
    f["crown_written"] = crown
    src = {
        "image": write_tif(
            folder / "image.tif",
            f["image"],
            res,
            nodata=-9999.0,
            descriptions=["blue", "green", "red", "nir"],
        ),
        "chm": write_tif(folder / "chm.tif", f["chm"], res, nodata=-9999.0),
        "crown": write_tif(folder / "crown.tif", crown, res, nodata=255, dtype="uint8"),
        "dem": write_tif(folder / "dem.tif", f["dem"], res, nodata=-9999.0),
    }
    return src, f


def pixel_centres(rows, cols, res=1.0, x0=X0, y0=Y0):
    """Map coordinates of pixel centres (rows, cols arrays)."""
    rows, cols = np.asarray(rows, float), np.asarray(cols, float)
    return np.column_stack([x0 + (cols + 0.5) * res, y0 - (rows + 0.5) * res])
