"""Raster I/O shared by RasterFeatures and the extraction functions.

One reference grid (the first source), grid checks that never resample silently, band lookup
by name, window reads with nodata -> NaN, and plot coordinates brought into the rasters' CRS.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .._coords import get_coords
from ._indices import canonical_bands

__all__ = [
    "SourceInfo",
    "read_sources",
    "check_same_grid",
    "band_table",
    "resolve_band",
    "read_block",
    "context_block",
    "plot_xy",
    "footprint_rect",
    "grid_dict",
    "latitude_of",
    "open_all",
]


@dataclass(frozen=True)
class SourceInfo:
    """What geoagb needs to know about one raster file."""

    key: str
    path: str
    crs: Any
    transform: Any
    width: int
    height: int
    count: int
    nodata: float | None
    dtypes: tuple[str, ...]
    descriptions: tuple[str | None, ...]


def read_sources(sources: Mapping[str, Any]) -> dict[str, SourceInfo]:
    """Open every source once and record its metadata (files are not kept open)."""
    import rasterio

    if not isinstance(sources, Mapping) or not sources:
        raise ValueError(
            "sources must be a non-empty dict name -> GeoTIFF path, e.g. "
            "{'image': 'image.tif', 'dem': 'dem.tif'}."
        )
    out = {}
    for key, path in sources.items():
        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(f"source {key!r}: file {path!r} does not exist.")
        with rasterio.open(path) as ds:
            out[str(key)] = SourceInfo(
                key=str(key),
                path=path,
                crs=ds.crs,
                transform=ds.transform,
                width=ds.width,
                height=ds.height,
                count=ds.count,
                nodata=ds.nodata,
                dtypes=tuple(ds.dtypes),
                descriptions=tuple(ds.descriptions),
            )
    return out


def check_same_grid(infos: Mapping[str, SourceInfo]) -> SourceInfo:
    """Raise unless every source shares the first source's CRS, transform and size."""
    ref = next(iter(infos.values()))
    t = ref.transform
    if abs(t.b) > 1e-12 or abs(t.d) > 1e-12:
        raise ValueError(
            f"source {ref.key!r} has a rotated geotransform {tuple(t)[:6]}; geoagb "
            "needs north-up rasters: warp it first (gdalwarp -t_srs <crs> in.tif out.tif)."
        )
    if not math.isclose(abs(t.a), abs(t.e), rel_tol=1e-9) or t.e >= 0:
        raise ValueError(
            f"source {ref.key!r} has pixels {t.a} x {t.e}: geoagb needs square, "
            "north-up pixels (negative y step); resample with gdalwarp -tr <res> <res>."
        )
    problems = []
    for info in infos.values():
        if info is ref:
            continue
        diff = []
        if info.crs != ref.crs:
            diff.append(f"CRS {info.crs} vs {ref.crs}")
        if not info.transform.almost_equals(ref.transform, precision=1e-9 * max(1.0, abs(t.a))):
            diff.append(f"transform {tuple(info.transform)[:6]} vs {tuple(ref.transform)[:6]}")
        if (info.width, info.height) != (ref.width, ref.height):
            diff.append(f"size {info.width}x{info.height} vs {ref.width}x{ref.height}")
        if diff:
            problems.append(f"{info.key!r} differs from {ref.key!r} in " + "; ".join(diff))
    if problems:
        raise ValueError(
            "sources are not on one grid: " + " | ".join(problems) + ". geoagb never resamples "
            "rasters silently (features would change with the resampling); align every source "
            f"to {ref.key!r} first, e.g. rasterio.warp.reproject(src, dst, dst_crs=ref.crs, "
            "dst_transform=ref.transform, dst_shape=(ref.height, ref.width)) or "
            f"gdalwarp -t_srs <{ref.key} CRS> -tr <res> <res> -tap -te <{ref.key} bounds> in.tif out.tif."
        )
    return ref


def grid_dict(ref: SourceInfo) -> dict:
    """The reference grid as a plain dict (crs, transform, width, height, resolution)."""
    return {
        "crs": ref.crs,
        "transform": ref.transform,
        "width": ref.width,
        "height": ref.height,
        "resolution": float(abs(ref.transform.a)),
    }


def band_table(
    infos: Mapping[str, SourceInfo], sensor: str | None = None
) -> dict[str, tuple[str, int]]:
    """Band name -> (source key, 1-based band index).

    Names: a band's description (translated by the ``sensor`` preset, lowercased), the source
    key for a single-band source without description, else ``<source>_<i>``. ``<source>:<i>``
    and ``<source>:<name>`` always work. The first source wins a duplicated name.
    """
    table: dict[str, tuple[str, int]] = {}
    for key, info in infos.items():
        for i in range(1, info.count + 1):
            desc = info.descriptions[i - 1] if i - 1 < len(info.descriptions) else None
            if desc:
                name = canonical_bands([desc], sensor)[desc]
            elif info.count == 1:
                name = key
            else:
                name = f"{key}_{i}"
            table.setdefault(name, (key, i))
            table.setdefault(f"{key}:{i}", (key, i))
            table.setdefault(f"{key}:{name}", (key, i))
            if desc:
                table.setdefault(f"{key}:{desc}", (key, i))
    return table


def resolve_band(table, spec, what="band") -> tuple[str, int]:
    """Resolve ``"nir"``, ``"image:4"``, ``("image", 4)`` or ``("image", "nir")``."""
    if isinstance(spec, (tuple, list)) and len(spec) == 2:
        spec = f"{spec[0]}:{spec[1]}"
    spec = str(spec)
    if spec in table:
        return table[spec]
    if spec.lower() in table:
        return table[spec.lower()]
    names = sorted(k for k in table if ":" not in k)
    raise ValueError(
        f"{what} {spec!r} not found in the sources; band names: {names} (also "
        "'<source>:<band number>'). Set band descriptions in the GeoTIFF or pass "
        "sensor= for band ids such as B4."
    )


def read_block(ds, index: int, rows: tuple[int, int], cols: tuple[int, int], nodata) -> np.ndarray:
    """Read rows [r0, r1) x cols [c0, c1) of one band (inside the raster) as float64, nodata -> NaN."""
    from rasterio.windows import Window

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


def plot_xy(plots, crs, coords=("x", "y")) -> np.ndarray:
    """Plot centres as an (n, 2) array in the rasters' CRS.

    A GeoDataFrame in another CRS is reprojected (the points, never the rasters); a DataFrame
    uses its ``coords`` columns, taken to be in the rasters' CRS; an (n, 2) array is used as is.
    """
    from pyproj import CRS

    if isinstance(plots, pd.DataFrame) and hasattr(plots, "geometry") and hasattr(plots, "crs"):
        gdf = plots
        if (
            gdf.crs is not None
            and crs is not None
            and CRS.from_user_input(gdf.crs) != CRS.from_user_input(crs)
        ):
            gdf = gdf.to_crs(crs)
        geom = gdf.geometry
        if len(geom) and not bool((geom.geom_type == "Point").all()):
            geom = geom.centroid
        return np.column_stack([geom.x.to_numpy(float), geom.y.to_numpy(float)])
    if isinstance(plots, pd.DataFrame):
        return get_coords(plots, coords)
    xy = np.asarray(plots, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(
            f"plots must be a GeoDataFrame, a DataFrame with columns {tuple(coords)} "
            f"or an (n, 2) array of coordinates; got an array of shape {xy.shape}."
        )
    return xy


def footprint_rect(xy: np.ndarray, transform, footprint: float | None):
    """Inclusive pixel rows/cols (r0, r1, c0, c1) per plot, possibly outside the raster.

    Without a footprint: the pixel containing the point. With a square footprint of side
    ``footprint`` metres: every pixel whose centre lies inside the square (a plot centred on a
    k x k block of an output grid of ``k * resolution`` m gets exactly that block).
    """
    res = abs(transform.a)
    col_f = (xy[:, 0] - transform.c) / res
    row_f = (transform.f - xy[:, 1]) / res
    eps = 1e-9
    if footprint is None:
        c = np.floor(col_f).astype(np.int64)
        r = np.floor(row_f).astype(np.int64)
        return r, r, c, c
    half = float(footprint) / (2 * res)
    c0 = np.ceil(col_f - half - 0.5 - eps).astype(np.int64)
    c1 = np.floor(col_f + half - 0.5 + eps).astype(np.int64)
    r0 = np.ceil(row_f - half - 0.5 - eps).astype(np.int64)
    r1 = np.floor(row_f + half - 0.5 + eps).astype(np.int64)
    return r0, r1, c0, c1


def latitude_of(ref: SourceInfo) -> float:
    """Latitude (degrees) of the centre of the reference grid."""
    from pyproj import CRS, Transformer

    t = ref.transform
    x = t.c + t.a * ref.width / 2
    y = t.f + t.e * ref.height / 2
    crs = CRS.from_user_input(ref.crs)
    if crs.is_geographic:
        return float(y)
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    return float(lat)


def open_all(infos: Mapping[str, SourceInfo], keys: Sequence[str]):
    """Open the given sources; returns dict key -> dataset (caller closes)."""
    import rasterio

    return {k: rasterio.open(infos[k].path) for k in keys}
