"""Raw raster values at plots (extract_points) and plot-centred image chips (extract_patches)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..deep import PatchSet
from ..raster import (
    band_table,
    check_same_grid,
    open_all,
    plot_xy,
    read_block,
    read_sources,
    resolve_band,
)
from ._indices import band_namer
from ._raster import RasterFeatures

__all__ = ["extract_points", "extract_patches", "patch_origin"]


def _band_list(table, infos, bands):
    """[(output name, (source, index))] for the requested bands (default: every band)."""
    if bands is None:
        out, seen = [], set()
        for name, src in table.items():
            if ":" in name or src in seen:
                continue
            seen.add(src)
            out.append((name, src))
        order = {k: i for i, k in enumerate(infos)}
        return sorted(out, key=lambda t: (order[t[1][0]], t[1][1]))
    if isinstance(bands, Mapping):
        return [(str(k), resolve_band(table, v)) for k, v in bands.items()]
    return [(str(b), resolve_band(table, b)) for b in bands]


def extract_points(
    sources: Mapping[str, Any],
    plots,
    footprint: float | None = None,
    bands: Sequence[str] | Mapping[str, str] | None = None,
    sensor=None,
    coords=None,
):
    """Raw band values at plot centres, or their means over square plot footprints.

    A shortcut for ``RasterFeatures(sources, indices=(), bands=...).at_points(...)``.

    Parameters
    ----------
    sources : dict name -> path
        Co-registered GeoTIFFs (see :class:`RasterFeatures`).
    plots : GeoDataFrame, DataFrame or (n, 2) array
        Plot centres (reprojected to the rasters' CRS when they carry another CRS).
    footprint : float, optional
        Side of the square footprint, metres; default the pixel under the centre.
    bands : list of band names, or dict output name -> band name, optional
        Default: every band of every source (named as :class:`RasterFeatures` names them).
    sensor : str, optional
        Band-id preset.
    coords : pair of str, default None
        Coordinate columns of a DataFrame (``None``: ``("x", "y")``); a GeoDataFrame's
        geometry is used.

    Returns
    -------
    DataFrame aligned with ``plots``.

    Examples
    --------
    >>> import tempfile
    >>> from geoagb.datasets import make_scene
    >>> scene = make_scene(tempfile.mkdtemp(), size_m=300, n_plots=10, random_state=0)
    >>> X = extract_points(scene.sources, scene.plots, bands=["red", "nir"])
    >>> X.shape, list(X.columns)
    ((10, 2), ['red', 'nir'])
    >>> x0, y0, x1, y1 = scene.bounds                 # 1 m pixels, row 0 at the north edge
    >>> px, py = scene.plots[["x", "y"]].iloc[0]
    >>> nir = scene.read("image")[3]                  # band 4 of image.tif
    >>> bool(np.isclose(X["nir"].iloc[0], nir[int(y1 - py), int(px - x0)]))
    True
    """
    infos = read_sources(sources)
    table = band_table(infos, band_namer(sensor))
    pairs = _band_list(table, infos, bands)
    names = [n for n, _ in pairs]
    extra = {n: (src[0], src[1]) for n, src in pairs}
    rf = RasterFeatures(sources, indices=(), extra=extra, sensor=sensor)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = rf.at_points(plots, footprint=footprint, coords=coords)
    for w in caught:
        warnings.warn(w.message, w.category, stacklevel=2)
    return df[names]


def patch_origin(transform, xy: np.ndarray, size_px: int):
    """Top-left (row, col) of ``size_px`` square windows centred on the points ``xy``.

    A point on a pixel corner (even size) or a pixel centre (odd size) gets a window exactly
    centred on it; other points the nearest such window.
    """
    res = abs(transform.a)
    col_f = (xy[:, 0] - transform.c) / res
    row_f = (transform.f - xy[:, 1]) / res
    c0 = np.floor(col_f - size_px / 2 + 0.5).astype(np.int64)
    r0 = np.floor(row_f - size_px / 2 + 0.5).astype(np.int64)
    return r0, c0


def extract_patches(
    sources: Mapping[str, Any],
    plots,
    size_m: float | None = None,
    size_px: int | None = None,
    bands: Sequence[str] | Mapping[str, str] | None = None,
    sensor=None,
    coords=None,
):
    """Plot-centred image chips from co-registered rasters, as a :class:`geoagb.deep.PatchSet`.

    Parameters
    ----------
    sources : dict name -> path
        GeoTIFFs on one grid; channels follow the sources' order, then band order (e.g.
        image blue, green, red, nir, then crown, then chm).
    plots : GeoDataFrame, DataFrame or (n, 2) array
        Plot centres (reprojected to the rasters' CRS when they carry another CRS).
    size_m : float, optional
        Patch side, metres (rounded to whole pixels).
    size_px : int, optional
        Patch side, pixels (give exactly one of ``size_m`` and ``size_px``).
    bands : list of band names, or dict output name -> band name, optional
        Channels to extract (default all). A dict renames, e.g. ``{"height": "chm"}``.
    sensor : str, optional
        Band-id preset.
    coords : pair of str, default None
        Coordinate columns of a DataFrame (``None``: ``("x", "y")``); a GeoDataFrame's
        geometry is used.

    Returns
    -------
    PatchSet
        ``data`` (n, C, size, size) float32 with NaN for nodata and outside the rasters,
        ``mask`` True where any channel is NaN, ``coords`` the plot centres in the rasters'
        CRS, ``crs`` and ``resolution`` (metres). A warning counts patches with nodata.

    Examples
    --------
    >>> import tempfile
    >>> from geoagb.datasets import make_scene
    >>> scene = make_scene(tempfile.mkdtemp(), size_m=300, n_plots=10, random_state=1)
    >>> ps = extract_patches(scene.sources, scene.plots, size_m=32,
    ...                      bands={"red": "red", "nir": "nir", "crown": "crown", "height": "chm"})
    >>> ps.shape, ps.bands
    ((10, 4, 32, 32), ['red', 'nir', 'crown', 'height'])
    """
    infos = read_sources(sources)
    ref = check_same_grid(infos)
    table = band_table(infos, band_namer(sensor))
    pairs = _band_list(table, infos, bands)
    res = abs(ref.transform.a)
    if (size_m is None) == (size_px is None):
        raise ValueError("give exactly one of size_m (metres) and size_px (pixels).")
    size = int(size_px) if size_px is not None else int(round(float(size_m) / res))
    if size < 1:
        raise ValueError(
            f"patch size {size_m if size_px is None else size_px} gives {size} pixels "
            f"at {res} m; use a larger size."
        )
    xy = plot_xy(plots, ref.crs, coords)
    r0, c0 = patch_origin(ref.transform, xy, size)
    n, C = len(xy), len(pairs)
    data = np.full((n, C, size, size), np.nan, dtype=np.float32)
    H, W = ref.height, ref.width
    dsets = open_all(infos, sorted({s[0] for _, s in pairs}))
    try:
        for i in range(n):
            a0, a1 = max(0, r0[i]), min(H, r0[i] + size)
            b0, b1 = max(0, c0[i]), min(W, c0[i] + size)
            if a1 <= a0 or b1 <= b0:
                continue
            for c, (_, (key, idx)) in enumerate(pairs):
                blk = read_block(
                    dsets[key], idx, (int(a0), int(a1)), (int(b0), int(b1)), infos[key].nodata
                )
                data[i, c, a0 - r0[i] : a1 - r0[i], b0 - c0[i] : b1 - c0[i]] = blk
    finally:
        for ds in dsets.values():
            ds.close()
    mask = np.isnan(data).any(axis=1)
    n_bad = int(mask.any(axis=(1, 2)).sum())
    if n_bad:
        warnings.warn(
            f"{n_bad} of {n} patches contain nodata or leave the rasters (NaN, "
            "PatchSet.mask is True there).",
            stacklevel=2,
        )
    return PatchSet(
        data, bands=[nm for nm, _ in pairs], coords=xy, mask=mask, crs=ref.crs, resolution=res
    )
