"""Prediction locations for nearest-neighbour distance matching: given points, or a regular (or
random) sample of a study-area polygon or of the valid cells of a raster.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .._coords import get_coords, get_crs
from .._random import check_generator

__all__ = ["prediction_locations"]

SAMPLINGS = ("regular", "random")


def _same_crs(a, b) -> bool:
    if a is None or b is None:
        return True
    try:
        from pyproj import CRS

        return CRS.from_user_input(a) == CRS.from_user_input(b)
    except Exception:  # pragma: no cover - exotic CRS objects
        return str(a) == str(b)


def _check_crs(src_crs, crs, what):
    if not _same_crs(src_crs, crs):
        raise ValueError(
            f"the prediction locations ({what}) are in CRS {src_crs} but the training samples "
            f"in {crs}; reproject one of them first (e.g. gdf.to_crs(...) or "
            "rasterio.warp.reproject)."
        )


def _raster_cells(path, n: int, sampling: str, rng) -> np.ndarray:
    import rasterio
    from rasterio.windows import Window

    with rasterio.open(path) as ds:
        H, W = ds.height, ds.width
        if sampling == "random":
            # candidate cells drawn uniformly, kept where valid, until n are found (or give up)
            out, tries = [], 0
            while sum(len(o) for o in out) < n and tries < 20:
                r = rng.integers(0, H, 4 * n)
                c = rng.integers(0, W, 4 * n)
                order = np.lexsort((c, r))
                r, c = r[order], c[order]
                ok = np.zeros(r.size, dtype=bool)
                for row in np.unique(r):
                    sel = np.flatnonzero(r == row)
                    m = ds.read_masks(1, window=Window(0, int(row), W, 1))[0]
                    ok[sel] = m[c[sel]] > 0
                out.append(np.column_stack([c[ok], r[ok]]))
                tries += 1
            cr = np.concatenate(out)[:n] if out else np.empty((0, 2))
            cols, rows = cr[:, 0], cr[:, 1]
        else:
            f = max(1, int(math.sqrt(H * W / max(n, 1))))
            while True:
                rows_l, cols_l = [], []
                cc = np.arange(f // 2, W, f)
                for row in range(f // 2, H, f):
                    m = ds.read_masks(1, window=Window(0, row, W, 1))[0]
                    keep = cc[m[cc] > 0]
                    rows_l.append(np.full(keep.size, row))
                    cols_l.append(keep)
                rows, cols = np.concatenate(rows_l), np.concatenate(cols_l)
                if rows.size >= n / 2 or f == 1:
                    break
                f = max(1, f // 2)
        if len(rows) == 0:
            raise ValueError(
                f"{path} has no valid cell (all nodata) to take prediction locations from."
            )
        xs, ys = ds.xy(np.asarray(rows, dtype=int), np.asarray(cols, dtype=int), offset="center")
        return np.column_stack([np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)])


def _polygon_points(geom, n: int, sampling: str, rng) -> np.ndarray:
    import shapely

    minx, miny, maxx, maxy = geom.bounds
    if sampling == "random":
        out, total = [], 0
        while total < n:
            p = np.column_stack([rng.uniform(minx, maxx, 4 * n), rng.uniform(miny, maxy, 4 * n)])
            p = p[shapely.contains_xy(geom, p[:, 0], p[:, 1])]
            out.append(p)
            total += len(p)
        return np.concatenate(out)[:n]
    step = math.sqrt(geom.area / n)
    gx = np.arange(minx + step / 2, maxx, step)
    gy = np.arange(miny + step / 2, maxy, step)
    xx, yy = np.meshgrid(gx, gy)
    p = np.column_stack([xx.ravel(), yy.ravel()])
    return p[shapely.contains_xy(geom, p[:, 0], p[:, 1])]


def prediction_locations(
    source, n: int = 1000, sampling: str = "regular", random_state=None, crs=None, coords=None
) -> np.ndarray:
    """(m, 2) coordinates (metres) of the locations a model will predict.

    Parameters
    ----------
    source : (m, 2) array, DataFrame, GeoDataFrame, shapely geometry, or raster path
        Points are used as they are (an array, a DataFrame with ``coords`` columns, a
        GeoDataFrame of points). A polygon (shapely geometry or a GeoDataFrame of polygons,
        their union) or a raster (its valid cells of band 1) is sampled with about ``n``
        locations.
    n : int, default 1000
        Number of locations sampled from a polygon or raster.
    sampling : {"regular", "random"}, default "regular"
        A regular grid (raster: every f-th row and column of valid cells), or uniform random.
    random_state : None, int, RandomState or Generator
        Seed of ``sampling="random"``.
    crs : CRS, optional
        CRS of the training samples; a source in another CRS is refused.
    coords : pair of str or None, default None (``("x", "y")``)
        Coordinate columns of a DataFrame source.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> prediction_locations(box(0, 0, 100, 100), n=4).tolist()
    [[25.0, 25.0], [75.0, 25.0], [25.0, 75.0], [75.0, 75.0]]
    """
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling={sampling!r} must be one of {list(SAMPLINGS)}.")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n={n!r} must be a positive number of prediction locations.")
    rng = check_generator(random_state) if sampling == "random" else None
    if isinstance(source, (str, os.PathLike, Path)):
        import rasterio

        with rasterio.open(source) as ds:
            _check_crs(ds.crs, crs, f"raster {source}")
        return _raster_cells(source, int(n), sampling, rng)
    if (
        hasattr(source, "geom_type")
        and hasattr(source, "bounds")
        and not isinstance(source, pd.DataFrame)
    ):
        return _polygon_points(source, int(n), sampling, rng)
    if isinstance(source, pd.DataFrame) and hasattr(source, "geometry") and hasattr(source, "crs"):
        _check_crs(get_crs(source), crs, "GeoDataFrame")
        geom = source.geometry
        if len(geom) and not bool((geom.geom_type == "Point").all()):
            return _polygon_points(
                geom.union_all() if hasattr(geom, "union_all") else geom.unary_union,
                int(n),
                sampling,
                rng,
            )
    xy = get_coords(source, coords, allow_array=True)
    if xy.shape[0] == 0:
        raise ValueError("no prediction location given (an empty set of points).")
    return xy
