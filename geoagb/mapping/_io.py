"""Small raster I/O helpers shared by the mapping modules (rasterio underneath).

Every function opens what it reads itself, so the objects that call them stay picklable (Dask
workers) and thread-safe (the reader thread of :func:`geoagb.mapping.predict_raster`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

__all__ = [
    "read_padded",
    "read_on_grid",
    "find_band",
    "cell_area_ha",
    "same_grid",
    "raster_grid",
]


def read_padded(path, window: Window, indexes: Sequence[int], fill: float = np.nan) -> np.ndarray:
    """Read ``indexes`` (1-based) of ``path`` over ``window``, padding outside the raster.

    Parameters
    ----------
    path : str or Path
        GeoTIFF (any GDAL raster).
    window : rasterio.windows.Window
        Integer window in the raster's pixel grid; it may extend past the raster edges.
    indexes : sequence of int
        Bands to read (1-based, rasterio convention).
    fill : float, default NaN
        Value for pixels outside the raster; nodata pixels inside the raster are set to NaN.

    Returns
    -------
    ndarray of shape (len(indexes), window.height, window.width), float32
    """
    col0, row0 = int(window.col_off), int(window.row_off)
    h, w = int(window.height), int(window.width)
    out = np.full((len(indexes), h, w), fill, dtype=np.float32)
    with rasterio.open(path) as ds:
        r0, r1 = max(row0, 0), min(row0 + h, ds.height)
        c0, c1 = max(col0, 0), min(col0 + w, ds.width)
        if r1 <= r0 or c1 <= c0:
            return out
        inner = Window(c0, r0, c1 - c0, r1 - r0)
        arr = ds.read(list(indexes), window=inner, out_dtype=np.float32)
        _nodata_to_nan(arr, [ds.nodatavals[i - 1] for i in indexes])
        out[:, r0 - row0 : r1 - row0, c0 - col0 : c1 - col0] = arr
    return out


def _nodata_to_nan(arr: np.ndarray, nodatavals) -> None:
    for b, nd in enumerate(nodatavals):
        if nd is not None and not np.isnan(nd):
            arr[b][arr[b] == np.float32(nd)] = np.nan


def read_on_grid(
    path, transform, shape, crs, band: int = 1, resampling: Resampling = Resampling.nearest
) -> np.ndarray:
    """Read one band of ``path`` resampled onto a target grid (rasterio's WarpedVRT).

    Used to put a mask, a zone raster, a DEM or a second map onto the grid of a map window.
    The target grid is ``shape`` = (height, width) cells with affine ``transform`` in ``crs``.
    Nodata becomes NaN; the result is float64.
    """
    h, w = int(shape[0]), int(shape[1])
    with rasterio.open(path) as src:
        offset = _integer_offset(src, transform, crs)
        if offset is not None:
            # same CRS and pixel size, grid shifted by whole pixels: a plain windowed read
            arr = read_padded(path, Window(offset[0], offset[1], w, h), [band])[0].astype(
                np.float64
            )
            return arr
        else:
            with WarpedVRT(
                src,
                crs=crs or src.crs,
                transform=transform,
                width=w,
                height=h,
                resampling=resampling,
                src_nodata=src.nodatavals[band - 1],
                nodata=src.nodatavals[band - 1],
            ) as vrt:
                arr = vrt.read(band, out_dtype=np.float64)
                nd = vrt.nodatavals[band - 1]
                # cells the source does not cover come back as nodata when it is set, else 0
                if nd is None:
                    cover = vrt.read_masks(band) > 0
                    arr[~cover] = np.nan
    if nd is not None and not np.isnan(nd):
        arr[arr == nd] = np.nan
    return arr


def _integer_offset(src, transform, crs, tol: float = 1e-6):
    """(col, row) of the target grid origin in ``src``'s pixels if the grids align, else None."""
    st = src.transform
    if crs is not None and src.crs is not None and src.crs != crs:
        return None
    if st.b or st.d or transform.b or transform.d:
        return None
    if abs(st.a - transform.a) > tol * abs(st.a) or abs(st.e - transform.e) > tol * abs(st.e):
        return None
    col = (transform.c - st.c) / st.a
    row = (transform.f - st.f) / st.e
    if abs(col - round(col)) > tol or abs(row - round(row)) > tol:
        return None
    return int(round(col)), int(round(row))


def find_band(ds, name: str, default: int | None = None) -> int | None:
    """1-based index of the band whose description is ``name`` (case-insensitive), else ``default``."""
    for i, d in enumerate(ds.descriptions, 1):
        if d is not None and d.lower() == name.lower():
            return i
    return default


def raster_grid(path) -> dict:
    """Grid of a raster file as a dict(crs, transform, width, height, resolution)."""
    with rasterio.open(path) as ds:
        return dict(
            crs=ds.crs,
            transform=ds.transform,
            width=ds.width,
            height=ds.height,
            resolution=(abs(ds.transform.a), abs(ds.transform.e)),
        )


def same_grid(a: dict, b: dict, tol: float = 1e-6) -> bool:
    """True when two grids (dicts as from :func:`raster_grid`) share CRS, shape and transform."""
    if (a["width"], a["height"]) != (b["width"], b["height"]):
        return False
    if a["crs"] is not None and b["crs"] is not None and a["crs"] != b["crs"]:
        return False
    return a["transform"].almost_equals(b["transform"], precision=tol)


def cell_area_ha(ds_or_grid) -> float:
    """Area of one cell in hectares; the CRS must be projected in metres.

    Raises
    ------
    ValueError
        Geographic CRS (cell area varies with latitude) or a CRS without metre units.
    """
    crs = ds_or_grid["crs"] if isinstance(ds_or_grid, dict) else ds_or_grid.crs
    tr = ds_or_grid["transform"] if isinstance(ds_or_grid, dict) else ds_or_grid.transform
    if crs is None:
        raise ValueError(
            "the raster has no CRS, so its cell area is unknown; write the map with a projected "
            "CRS in metres (e.g. UTM) or set one with rasterio (dst.crs = 'EPSG:32648')."
        )
    if crs.is_geographic:
        raise ValueError(
            f"the raster CRS {crs.to_string()} is geographic: cells have no constant area in "
            "hectares; reproject the map to an equal-area or UTM CRS first (rasterio.warp.reproject"
            " or `gdalwarp -t_srs EPSG:32648 in.tif out.tif`)."
        )
    units = (crs.linear_units or "").lower()
    if units not in ("metre", "meter", "m", "metres", "meters", ""):
        raise ValueError(
            f"the raster CRS {crs.to_string()} has linear units {crs.linear_units!r}; carbon "
            "accounting needs metres. Reproject the map to a metric CRS (e.g. UTM)."
        )
    return abs(tr.a * tr.e - tr.b * tr.d) / 10_000.0


def temp_path_for(out_path: Path) -> Path:
    """A unique part-file path next to ``out_path`` (see :func:`geoagb._io.part_path`)."""
    from .._io import part_path

    return part_path(out_path)


def has_valid_pixel(path, band: int = 1, values=None, nonzero: bool = False) -> bool:
    """True when band ``band`` of ``path`` has at least one valid pixel (early exit).

    Valid: finite and not nodata, and, with ``values``, equal to one of them, or with
    ``nonzero``, not 0 (the rules of a mask raster). Reads the raster's first few internal
    blocks (one tile each: a normal raster costs one decompressed tile), then the rest in
    strips of about 4 million pixels, and stops at the first valid pixel; only an empty raster
    is read in full (no model is run).
    """
    import itertools

    with rasterio.open(path) as ds:
        nd = ds.nodatavals[band - 1]

        def valid(a) -> bool:
            ok = np.isfinite(a) if a.dtype.kind == "f" else np.ones(a.shape, dtype=bool)
            if nd is not None and not np.isnan(nd):
                ok &= a != nd
            if values is not None:
                ok &= np.isin(a, np.asarray(values, dtype=float))
            elif nonzero:
                ok &= a != 0
            return bool(ok.any())

        for _, win in itertools.islice(ds.block_windows(band), 16):
            if valid(ds.read(band, window=win)):
                return True
        rows = max(1, (1 << 22) // max(1, ds.width))
        for r in range(0, ds.height, rows):
            if valid(ds.read(band, window=Window(0, r, ds.width, min(rows, ds.height - r)))):
                return True
    return False
