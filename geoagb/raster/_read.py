"""Reading rasters: windows padded past the edges, reads onto another grid, grid checks, cell area.

Every function opens what it reads itself (or reads a dataset its caller opened), so the objects
that call them stay picklable (Dask workers) and thread-safe (the reader thread of
:func:`geoagb.mapping.predict_raster`). Nodata always becomes NaN, through :func:`nodata_to_nan`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

__all__ = [
    "read_padded",
    "read_block",
    "read_on_grid",
    "nodata_to_nan",
    "context_block",
    "open_all",
    "find_band",
    "cell_area_ha",
    "grid_differences",
    "same_grid",
    "raster_grid",
    "has_valid_pixel",
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
        nodata_to_nan(arr, [ds.nodatavals[i - 1] for i in indexes])
        out[:, r0 - row0 : r1 - row0, c0 - col0 : c1 - col0] = arr
    return out


def nodata_to_nan(arr: np.ndarray, nodatavals: Sequence) -> np.ndarray:
    """Set the nodata pixels of each band of a float32 ``arr`` (C, h, w) to NaN, in place.

    ``nodatavals`` holds one value per band (None or NaN: nothing to do). Returns ``arr``.

    Examples
    --------
    >>> nodata_to_nan(np.array([[[0.0, 1.0]], [[0.0, 1.0]]], dtype=np.float32), [0, None])
    array([[[nan,  1.]],
    <BLANKLINE>
           [[ 0.,  1.]]], dtype=float32)
    """
    for b, nd in enumerate(nodatavals):
        if nd is not None and not np.isnan(nd):
            arr[b][arr[b] == np.float32(nd)] = np.nan
    return arr


def read_block(ds, index: int, rows: tuple[int, int], cols: tuple[int, int], nodata) -> np.ndarray:
    """Read rows [r0, r1) x cols [c0, c1) of one band (inside the raster) as float64, nodata -> NaN.

    ``ds`` is an open rasterio dataset, or anything with ``read(index, window=...)``.
    """
    r0, r1 = rows
    c0, c1 = cols
    a = ds.read(index, window=Window(c0, r0, c1 - c0, r1 - r0)).astype(np.float64)
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        a[a == nodata] = np.nan
    return a


def context_block(
    region: np.ndarray,
    region_origin: tuple[int, int],
    raster_shape: tuple[int, int],
    win: tuple[int, int, int, int],
    r: int,
    mode: str,
) -> np.ndarray:
    """The tile ``win`` = (row0, col0, h, w) plus ``r`` cells of context on every side.

    ``region`` holds raster rows/cols starting at ``region_origin`` and must cover the tile plus
    ``r`` cells wherever the raster has them; beyond the raster edge the block is padded with
    ``mode``: "nan" (NaN), "odd" (odd reflection) or "reflect" (numpy's even reflection). The
    result equals the same cells of the whole raster padded the same way.
    """
    row0, col0, h, w = win
    H, W = raster_shape
    rr, cc = region_origin
    a0, a1 = max(0, row0 - r), min(H, row0 + h + r)
    b0, b1 = max(0, col0 - r), min(W, col0 + w + r)
    block = region[a0 - rr : a1 - rr, b0 - cc : b1 - cc]
    pads = ((a0 - (row0 - r), (row0 + h + r) - a1), (b0 - (col0 - r), (col0 + w + r) - b1))
    if not any(p for pp in pads for p in pp):
        return block
    if mode == "nan":
        return np.pad(block, pads, constant_values=np.nan)
    if min(block.shape) <= max(max(pads[0]), max(pads[1])):
        raise ValueError(f"raster of {H}x{W} cells is too small for a context of {r} cells.")
    if mode == "odd":
        return np.pad(block, pads, mode="reflect", reflect_type="odd")
    return np.pad(block, pads, mode="reflect")


def open_all(infos: Mapping, keys: Sequence[str]) -> dict:
    """Open the given sources (``infos``: key -> :class:`SourceInfo`); key -> dataset (caller closes)."""
    return {k: rasterio.open(infos[k].path) for k in keys}


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


def grid_differences(a: dict, b: dict, tol: float = 1e-6, strict_crs: bool = False) -> list[str]:
    """How grid ``b`` differs from grid ``a`` (dicts with crs, transform, width, height).

    One phrase per difference (``"CRS ... vs ..."``, ``"transform ... vs ..."``, ``"size WxH vs
    WxH"``); empty when they are the same grid. Transforms are compared coefficient by
    coefficient within ``tol``; a missing CRS matches any CRS unless ``strict_crs``.

    Examples
    --------
    >>> from affine import Affine
    >>> g = dict(crs=None, transform=Affine(10, 0, 0, 0, -10, 0), width=4, height=3)
    >>> grid_differences(g, {**g, "width": 5})
    ['size 5x3 vs 4x3']
    """
    diff = []
    if strict_crs or (a["crs"] is not None and b["crs"] is not None):
        if b["crs"] != a["crs"]:
            diff.append(f"CRS {b['crs']} vs {a['crs']}")
    if not b["transform"].almost_equals(a["transform"], precision=tol):
        diff.append(f"transform {tuple(b['transform'])[:6]} vs {tuple(a['transform'])[:6]}")
    if (b["width"], b["height"]) != (a["width"], a["height"]):
        diff.append(f"size {b['width']}x{b['height']} vs {a['width']}x{a['height']}")
    return diff


def same_grid(a: dict, b: dict, tol: float = 1e-6) -> bool:
    """True when two grids (dicts as from :func:`raster_grid`) share CRS, shape and transform.

    A grid without CRS matches any CRS (see :func:`grid_differences`).
    """
    if (a["width"], a["height"]) != (b["width"], b["height"]):
        return False
    return not grid_differences(a, b, tol)


def cell_area_ha(ds_or_grid) -> float:
    """Area of one cell in hectares; the CRS must be projected in metres.

    Parameters
    ----------
    ds_or_grid : dict or object
        A grid dict (``crs``, ``transform``) or anything with ``crs`` and ``transform``
        attributes (an open rasterio dataset, an :class:`OutputGrid`).

    Examples
    --------
    >>> from affine import Affine
    >>> cell_area_ha(dict(crs=rasterio.crs.CRS.from_epsg(32648), transform=Affine(30, 0, 0, 0, -30, 0)))
    0.09

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


def has_valid_pixel(path, band: int = 1, values=None, nonzero: bool = False) -> bool:
    """True when band ``band`` of ``path`` has at least one valid pixel (early exit).

    Valid: finite and not nodata, and, with ``values``, equal to one of them, or with
    ``nonzero``, not 0 (the rules of a mask raster). Reads the raster's first few internal
    blocks (one tile each: a normal raster costs one decompressed tile), then the rest in
    strips of about 4 million pixels, and stops at the first valid pixel; only an empty raster
    is read in full (no model is run).
    """
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
