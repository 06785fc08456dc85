"""Raster sources as metadata: one reference grid, grid checks, band names, plot pixels.

What :class:`geoagb.features.RasterFeatures`, the extraction functions and
:class:`RasterStack` know about their GeoTIFFs: the metadata of each file
(:class:`SourceInfo`), one reference grid (the first source) with grid checks that never
resample silently, band lookup by name (:func:`band_table` for a recipe, :func:`stack_bands` for
a stack whose bands are the features), and plot coordinates brought into the rasters' CRS.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import rasterio
from pyproj import CRS, Transformer

from .._coords import coord_names, get_coords
from ._entry import odd_grids

__all__ = [
    "SourceInfo",
    "source_info",
    "read_sources",
    "check_same_grid",
    "band_table",
    "StackBand",
    "stack_bands",
    "resolve_band",
    "plot_xy",
    "footprint_rect",
    "grid_dict",
    "latitude_of",
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


def source_info(key: str, path) -> SourceInfo:
    """Open ``path`` once and record its metadata under the name ``key`` (not kept open)."""
    path = os.fspath(path)
    with rasterio.open(path) as ds:
        return SourceInfo(
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


def read_sources(sources: Mapping[str, Any]) -> dict[str, SourceInfo]:
    """Open every source once and record its metadata (files are not kept open)."""
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
        out[str(key)] = source_info(key, path)
    return out


def check_same_grid(infos: Mapping[str, SourceInfo]) -> SourceInfo:
    """Raise unless every source shares one CRS, transform and size; returns the first source.

    The message names the odd file(s): those off the grid most sources share (a tie goes to the
    first source's grid), see :func:`odd_grids`.
    """
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
    tol = 1e-9 * max(1.0, abs(t.a))
    base, odd = odd_grids({k: grid_dict(i) for k, i in infos.items()}, tol)
    if odd:
        problems = [
            f"{k!r} differs from {base!r} in " + "; ".join(d) + f" (odd file: {infos[k].path})"
            for k, d in odd.items()
        ]
        raise ValueError(
            "sources are not on one grid: " + " | ".join(problems) + ". geoagb never resamples "
            "rasters silently (features would change with the resampling); align the odd "
            f"file(s) to {base!r} first, e.g. rasterio.warp.reproject(src, dst, "
            "dst_crs=ref.crs, dst_transform=ref.transform, dst_shape=(ref.height, ref.width)) or "
            f"gdalwarp -t_srs <{base} CRS> -tr <res> <res> -tap -te <{base} bounds> in.tif out.tif."
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
    infos: Mapping[str, SourceInfo], rename: Callable[[str], str] | None = None
) -> dict[str, tuple[str, int]]:
    """Band name -> (source key, 1-based band index): the band lookup of a feature recipe.

    Names: a band's description (translated by ``rename``, by default lowercased; a recipe
    passes its sensor preset, :func:`geoagb.features.canonical_bands`), the source key for a
    single-band source without description, else ``<source>_<i>``. ``<source>:<i>`` and
    ``<source>:<name>`` always work. The first source wins a duplicated name. (A stack whose
    bands *are* the features names them with :func:`stack_bands` instead.)
    """
    rename = rename or (lambda d: str(d).lower())
    table: dict[str, tuple[str, int]] = {}
    for key, info in infos.items():
        for i in range(1, info.count + 1):
            desc = info.descriptions[i - 1] if i - 1 < len(info.descriptions) else None
            if desc:
                name = rename(desc)
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


@dataclass(frozen=True)
class StackBand:
    """One band of a feature stack: its feature ``name``, file ``path`` and 1-based ``index``."""

    name: str
    path: str
    index: int


def stack_bands(sources) -> list[StackBand]:
    """Name every band of a feature stack (one unique name per band, in order).

    ``sources`` is a path, a list of paths, or a dict ``name -> path``. A single-band file is
    named by its dict key (or, in a list, by its band description, else its file stem); the bands
    of a multi-band file are named by their band descriptions (e.g. ``"blue", "green", "red",
    "nir"``), falling back to ``<key>_<i>``. Unlike :func:`band_table` (a lookup with aliases in
    which the first name wins), names are kept as written and must be unique: they are the
    feature names a model was fitted on.
    """
    if isinstance(sources, (str, Path)):
        items = [(None, sources)]
    elif isinstance(sources, Mapping):
        items = list(sources.items())
    elif isinstance(sources, Sequence):
        items = [(None, s) for s in sources]
    else:
        raise TypeError(
            f"features of type {type(sources).__name__} not understood: give a RasterFeatures, a "
            "GeoTIFF path whose band descriptions are the feature names, a list of single-band "
            "GeoTIFFs, or a dict name -> GeoTIFF path."
        )
    bands: list[StackBand] = []
    for key, path in items:
        info = source_info(key, str(path))
        desc = list(info.descriptions)
        if info.count == 1:
            name = key if key is not None else (desc[0] or Path(info.path).stem)
            bands.append(StackBand(str(name), info.path, 1))
            continue
        for i in range(1, info.count + 1):
            d = desc[i - 1]
            if d:
                name = d
            elif key is not None:
                name = f"{key}_{i}"
            else:
                raise ValueError(
                    f"band {i} of {info.path} has no description, so its feature name is unknown; "
                    "set band descriptions (rasterio: dst.set_band_description(i, 'ndvi')) or "
                    "pass a dict {name: path} of single-band files."
                )
            bands.append(StackBand(str(name), info.path, i))
    names = [b.name for b in bands]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(
            f"feature/band names {dup} occur more than once in {names}; names must be unique."
        )
    return bands


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


def plot_xy(plots, crs, coords=None) -> np.ndarray:
    """Plot centres as an (n, 2) array in the rasters' CRS.

    A GeoDataFrame in another CRS is reprojected (the points, never the rasters); a DataFrame
    uses its ``coords`` columns (``None``: ``("x", "y")``), taken to be in the rasters' CRS; an
    (n, 2) array is used as is.
    """
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
            f"plots must be a GeoDataFrame, a DataFrame with columns {coord_names(coords)} "
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
    t = ref.transform
    x = t.c + t.a * ref.width / 2
    y = t.f + t.e * ref.height / 2
    crs = CRS.from_user_input(ref.crs)
    if crs.is_geographic:
        return float(y)
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    return float(lat)
