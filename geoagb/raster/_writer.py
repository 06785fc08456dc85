"""Atomic, tiled GeoTIFF output: write to a temporary file, rename it on success.

Bad input never corrupts output: if anything fails (or the user interrupts) while a map is being
written, the temporary file is removed and a file already at ``out_path`` is left untouched.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import rasterio
from rasterio.enums import Resampling

from .._io import atomic_path
from ._windows import TILE, OutputGrid

__all__ = [
    "GEOTIFF_SUFFIXES",
    "atomic_geotiff",
    "check_geotiff_path",
    "geotiff_profile",
    "overview_factors",
    "relabel_geotiff",
]

#: Suffixes of the files the writer makes (it writes GeoTIFF only).
GEOTIFF_SUFFIXES = (".tif", ".tiff")


def _label_bands(dst, band_names, units=None, tags=None) -> None:
    """Band descriptions (``band_names``), units and dataset tags of an open raster ``dst``."""
    for i, name in enumerate(band_names, 1):
        dst.set_band_description(i, name)
        if units is not None:
            dst.set_band_unit(i, units[i - 1])
    if tags:
        dst.update_tags(**{k: str(v) for k, v in tags.items()})


def check_geotiff_path(path, what: str = "out_path") -> Path:
    """Refuse an output path whose suffix says another format than the GeoTIFF written there.

    Parameters
    ----------
    path : str or Path
        File to be written.
    what : str
        How the caller names the argument in messages (``"out_path"``, ``"OUT"``).

    Returns
    -------
    Path

    Examples
    --------
    >>> check_geotiff_path("agb.TIF").name
    'agb.TIF'
    >>> check_geotiff_path("agb.png")
    Traceback (most recent call last):
    ...
    ValueError: out_path='agb.png' ends in '.png', but maps are written as GeoTIFF: use ...
    """
    p = Path(str(path))
    if p.suffix.lower() not in GEOTIFF_SUFFIXES:
        example = p.with_suffix(".tif").name if p.suffix else p.name + ".tif"
        raise ValueError(
            f"{what}={str(path)!r} ends in {p.suffix or '(no suffix)'!r}, but maps are written as "
            f"GeoTIFF: use {' or '.join(GEOTIFF_SUFFIXES)}, e.g. {example!r} (a PNG quick-look: "
            "geoagb.mapping.plot_agb_map)."
        )
    return p


def tile_size(grid: OutputGrid, window_size: int | None = None) -> int:
    """GeoTIFF tile side: 256 (the COG default); for small rasters the raster rounded up to 16;
    and, when mapping windows are narrower than 256 cells and a multiple of 16, the window
    side, so that every window writes whole tiles (each tile compressed once, none kept in
    GDAL's cache waiting for its other part).
    """
    side = int(min(TILE, max(16, 16 * int(np.ceil(max(grid.width, grid.height) / 16)))))
    if window_size is not None and window_size < side and window_size % 16 == 0:
        side = int(window_size)
    return side


def geotiff_profile(
    grid: OutputGrid,
    count: int,
    nodata: float = np.nan,
    dtype: str = "float32",
    window_size: int | None = None,
) -> dict:
    """Creation options of a tiled, deflate-compressed, COG-friendly float GeoTIFF on ``grid``."""
    block = tile_size(grid, window_size)
    return dict(
        driver="GTiff",
        dtype=dtype,
        count=int(count),
        width=grid.width,
        height=grid.height,
        crs=grid.crs,
        transform=grid.transform,
        nodata=nodata,
        tiled=True,
        blockxsize=block,
        blockysize=block,
        compress="deflate",
        predictor=3 if np.dtype(dtype).kind == "f" else 2,
        interleave="band",
        BIGTIFF="IF_SAFER",
    )


def overview_factors(width: int, height: int, min_size: int = TILE) -> list[int]:
    """Overview decimation factors (2, 4, 8, ...) until the overview fits in one tile."""
    out, f = [], 2
    while max(width, height) / f >= min_size / 2 and max(width, height) > min_size:
        out.append(f)
        f *= 2
    return out


@contextmanager
def atomic_geotiff(
    out_path,
    profile: dict,
    band_names: Sequence[str],
    units: Sequence[str] | None = None,
    tags: dict | None = None,
    overviews: bool = True,
    cache_mb: float = 64,
) -> Iterator[rasterio.io.DatasetWriter]:
    """Open a temporary GeoTIFF for writing; on success build overviews and rename to ``out_path``.

    Parameters
    ----------
    out_path : str or Path
        Final file. Its folder must exist and be writable (checked before the file is opened).
    profile : dict
        rasterio creation profile (see :func:`geotiff_profile`).
    band_names : sequence of str
        Band descriptions, e.g. ``["agb", "agb_std"]``.
    units : sequence of str, optional
        Band units, e.g. ``["Mg/ha", "Mg/ha"]``.
    tags : dict, optional
        Dataset tags (provenance: estimator, features, resolution).
    overviews : bool, default True
        Build average overviews (2x, 4x, ... until one tile) before the rename, so viewers and
        COG readers get a pyramid. Cheap: the overviews of a map add about a third of its size.
    cache_mb : float, default 64
        GDAL block cache (MiB) while the file is open, so that written tiles are flushed to
        disk instead of piling up in memory (GDAL's default is 5 % of the machine's RAM).

    Yields
    ------
    rasterio dataset open for writing (the temporary file).
    """
    # geoagb._io.atomic_path: checks the path, removes stale part files of dead processes,
    # turns SIGTERM into a clean exit (143) and renames the part file only on success
    with atomic_path(out_path) as tmp:
        with rasterio.Env(GDAL_CACHEMAX=int(cache_mb)), rasterio.open(tmp, "w", **profile) as dst:
            _label_bands(dst, band_names, units, tags)
            yield dst
            factors = overview_factors(dst.width, dst.height) if overviews else []
            if factors:
                dst.build_overviews(factors, Resampling.average)
                dst.update_tags(ns="rio_overview", resampling="average")


def _clip_window(arr: np.ndarray, floor: float, nodata) -> tuple[np.ndarray, int, int]:
    """``arr`` with valid values below ``floor`` set to it; (array, clipped, valid) counts."""
    valid = np.isfinite(arr)
    if nodata is not None and not np.isnan(nodata):
        valid &= arr != nodata
    low = valid & (arr < floor)
    return np.where(low, np.asarray(floor, arr.dtype), arr), int(low.sum()), int(valid.sum())


def relabel_geotiff(
    path,
    band_names: Sequence[str],
    band_units: Sequence[str] | None = None,
    tags: dict | None = None,
    floor: float | None = None,
) -> tuple[int, int]:
    """Rename the bands of a written GeoTIFF, add tags, and clip band 1 at ``floor``.

    Without ``floor``, or with nothing below it, only the metadata change (in place). With
    it, band 1 values below ``floor`` (nodata excluded) are counted (one read pass) and, when
    there are any, become ``floor``: the file is rewritten tile by tile into a temporary file
    renamed on success (:func:`atomic_geotiff`, overviews rebuilt). The counts are stored in
    the tags ``geoagb_clipped_cells`` and ``geoagb_valid_cells``.

    Parameters
    ----------
    path : str or Path
        A GeoTIFF made by :func:`atomic_geotiff` (e.g. :func:`geoagb.mapping.predict_raster`).
    band_names : sequence of str
        New band descriptions, one per band, e.g. ``["richness", "richness_std"]``.
    band_units : sequence of str, optional
        Band units, one per band.
    tags : dict, optional
        Dataset tags to add or replace.
    floor : float, optional
        Lower bound of band 1 (0 for a non-negative target such as AGB).

    Returns
    -------
    (int, int)
        Cells clipped and valid cells of band 1 (``(0, 0)`` without ``floor``).

    Examples
    --------
    >>> import os, tempfile, rasterio
    >>> from rasterio.transform import from_origin
    >>> p = os.path.join(tempfile.mkdtemp(), "m.tif")
    >>> prof = dict(driver="GTiff", dtype="float32", count=1, width=2, height=1, nodata=np.nan,
    ...             crs="EPSG:32648", transform=from_origin(0, 10, 10, 10))
    >>> with rasterio.open(p, "w", **prof) as d:
    ...     d.write(np.array([[[-3.0, 5.0]]], "float32"))
    >>> relabel_geotiff(p, ["agb"], ["Mg/ha"], floor=0.0)
    (1, 2)
    >>> with rasterio.open(p) as d:
    ...     d.read(1).tolist(), d.descriptions, d.tags()["geoagb_clipped_cells"]
    ([[0.0, 5.0]], ('agb',), '1')
    """
    path = Path(path)
    with rasterio.open(path) as src:
        if len(band_names) != src.count:
            raise ValueError(
                f"{len(band_names)} band names for {path.name}, which has {src.count} band(s); "
                "give one name per band."
            )
        clipped = valid = 0
        if floor is not None:  # count first: a map with nothing to clip is not rewritten
            for _, win in src.block_windows(1):
                _, c, v = _clip_window(src.read(1, window=win), float(floor), src.nodata)
                clipped, valid = clipped + c, valid + v
    tags = {**(tags or {})}
    if floor is not None:
        tags.update(geoagb_clipped_cells=clipped, geoagb_valid_cells=valid)
    if not clipped:
        with rasterio.open(path, "r+") as dst:
            _label_bands(dst, band_names, band_units, tags)
        return clipped, valid
    with rasterio.open(path) as src:
        profile = dict(src.profile)
        all_tags = {**src.tags(), **tags}
        with atomic_geotiff(path, profile, band_names, band_units, all_tags) as dst:
            for _, win in src.block_windows(1):
                arr = src.read(window=win)
                arr[0] = _clip_window(arr[0], float(floor), src.nodata)[0]
                dst.write(arr, window=win)
    return clipped, valid
