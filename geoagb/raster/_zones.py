"""Zones for regional statistics (regions, provinces, elevation bands) and windowed accumulation.

Zonal statistics, carbon stocks and sinks read a map window by window (memory independent of its
size), label every cell with a zone code, and accumulate sums per zone. Zones can be

* ``None``: one zone, ``"all"``;
* polygons (a GeoDataFrame or GeoSeries, reprojected to the map CRS): a cell belongs to the polygon
  containing its centre; polygons sharing a ``by`` value (e.g. the parts of one province) form
  one zone; where polygons overlap the later one wins;
* a raster of integer zone codes (any grid; the most frequent code in each map cell is used);
* a continuous raster with class ``edges`` (e.g. a DEM and ``[0, 500, 1000, 2000]`` for elevation
  bands): the raster is averaged over each map cell and binned, left-closed ``[lo, hi)``;
* an integer array on the map's grid (codes; negative = no zone).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from rasterio.enums import Resampling
from rasterio.windows import Window

from ._read import read_on_grid
from ._windows import plan_windows

__all__ = ["Zones", "make_zones", "ZonalAccumulator", "map_windows"]


def map_windows(ds, size: int = 1024) -> list[Window]:
    """Windows of ``size`` cells covering dataset ``ds``."""
    return plan_windows(ds.width, ds.height, size)


class Zones:
    """Zone codes per map window and their names (see the module docstring)."""

    def __init__(self, kind, payload, names=None, crs=None):
        self.kind = kind
        self.payload = payload
        self._names = names
        self.crs = crs

    def codes(self, win: Window, transform, shape) -> np.ndarray:
        """int64 (h, w) zone codes of map window ``win`` (transform of the window); -1 = none."""
        h, w = shape
        if self.kind == "all":
            return np.zeros((h, w), np.int64)
        if self.kind == "array":
            r, c = int(win.row_off), int(win.col_off)
            return self.payload[r : r + h, c : c + w].astype(np.int64)
        if self.kind == "polygons":
            from rasterio.features import rasterize
            from shapely.geometry import box

            geoms, codes = self.payload
            left, top = transform.c, transform.f
            right, bottom = left + w * transform.a, top + h * transform.e
            hit = geoms.sindex.query(
                box(min(left, right), min(top, bottom), max(left, right), max(top, bottom))
            )
            if len(hit) == 0:
                return np.full((h, w), -1, np.int64)
            hit = np.sort(hit)
            shapes = ((geoms.iloc[i], int(codes[i])) for i in hit)
            return rasterize(
                shapes, out_shape=(h, w), transform=transform, fill=-1, dtype="int32"
            ).astype(np.int64)
        if self.kind == "raster":
            path, band = self.payload
            arr = read_on_grid(path, transform, shape, self.crs, band, Resampling.mode)
            out = np.full((h, w), -1, np.int64)
            ok = np.isfinite(arr)
            out[ok] = arr[ok].astype(np.int64)
            out[out < 0] = -1
            return out
        if self.kind == "bands":
            path, band, edges = self.payload
            arr = read_on_grid(path, transform, shape, self.crs, band, Resampling.average)
            out = np.full((h, w), -1, np.int64)
            ok = np.isfinite(arr) & (arr >= edges[0]) & (arr < edges[-1])
            out[ok] = np.searchsorted(edges, arr[ok], side="right") - 1
            return out
        raise AssertionError(self.kind)  # pragma: no cover

    def name(self, code: int) -> str:
        if self._names is not None:
            return self._names[int(code)]
        return str(int(code))

    def order(self) -> list[int] | None:
        """Codes in their natural order (for the output table), when known in advance."""
        return None if self._names is None else list(range(len(self._names)))


def make_zones(regions, crs, by: str | None = None, edges=None, band: int = 1) -> Zones:
    """Build :class:`Zones` for a map in ``crs`` (see the module docstring for ``regions``)."""
    if regions is None:
        return Zones("all", None, ["all"])
    if isinstance(regions, np.ndarray):
        if regions.dtype.kind not in "iu":
            raise ValueError(f"a zone array must hold integer codes; got dtype {regions.dtype}.")
        return Zones("array", regions)
    if hasattr(regions, "geometry") or type(regions).__name__ == "GeoSeries":
        import geopandas as gpd

        gdf = (
            regions if isinstance(regions, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=regions)
        )
        if gdf.crs is None:
            raise ValueError(
                "the region polygons have no CRS; set it (regions.set_crs('EPSG:32648')) so they "
                "can be matched with the map."
            )
        if crs is not None and gdf.crs != crs:
            gdf = gdf.to_crs(crs)
        if by is not None:
            if by not in gdf.columns:
                raise ValueError(
                    f"by={by!r} is not a column of regions (columns: {list(gdf.columns)})."
                )
            labels = gdf[by]
        else:
            labels = pd.Series(gdf.index, index=gdf.index)
        codes, uniq = pd.factorize(labels, sort=False)
        geoms = gdf.geometry.reset_index(drop=True)
        return Zones("polygons", (geoms, codes), [str(u) for u in uniq])
    if isinstance(regions, (str, Path)):
        if not Path(regions).exists():
            raise FileNotFoundError(f"zone raster {regions} does not exist.")
        if edges is None:
            return Zones("raster", (str(regions), band), None, crs)
        e = np.asarray(edges, dtype=float)
        if e.ndim != 1 or e.size < 2 or np.any(np.diff(e) <= 0):
            raise ValueError(
                f"edges={list(edges)} must be increasing class edges (at least two), e.g. [0, 500, 1000]."
            )
        names = [f"{lo:g}-{hi:g}" for lo, hi in zip(e[:-1], e[1:])]
        return Zones("bands", (str(regions), band, e), names, crs)
    raise TypeError(
        f"regions of type {type(regions).__name__} not understood: give None, a GeoDataFrame of "
        "polygons (with by='name column'), a raster path of zone codes, a raster path with "
        "edges=[...] (e.g. a DEM for elevation bands), or an integer array on the map grid."
    )


class ZonalAccumulator:
    """Per-zone sums (and minima / maxima) accumulated window by window.

    Examples
    --------
    >>> acc = ZonalAccumulator(sums=("v",), extremes=("v",))
    >>> acc.add(np.array([0, 1, 1]), v=np.array([1.0, 2.0, 4.0]))
    >>> acc.add(np.array([1]), v=np.array([-1.0]))
    >>> acc.frame().loc[1, ["n", "v_sum", "v_min", "v_max"]].tolist()
    [3.0, 5.0, -1.0, 4.0]
    """

    def __init__(self, sums=(), extremes=()):
        self.sums = tuple(sums)
        self.extremes = tuple(extremes)
        self._rows: dict[int, dict[str, float]] = {}

    def add(self, codes: np.ndarray, **values: np.ndarray) -> None:
        """Add cells with zone ``codes`` (1-D, >= 0) and per-cell ``values`` (same length)."""
        if codes.size == 0:
            return
        uniq, inv = np.unique(codes, return_inverse=True)
        k = len(uniq)
        stats = {"n": np.bincount(inv, minlength=k).astype(float)}
        for name in self.sums:
            stats[f"{name}_sum"] = np.bincount(inv, weights=values[name], minlength=k)
        for name in self.extremes:
            lo = np.full(k, np.inf)
            hi = np.full(k, -np.inf)
            np.minimum.at(lo, inv, values[name])
            np.maximum.at(hi, inv, values[name])
            stats[f"{name}_min"], stats[f"{name}_max"] = lo, hi
        for j, code in enumerate(uniq.tolist()):
            row = self._rows.get(code)
            if row is None:
                self._rows[code] = {key: float(v[j]) for key, v in stats.items()}
                continue
            for key, v in stats.items():
                if key.endswith("_min"):
                    row[key] = min(row[key], float(v[j]))
                elif key.endswith("_max"):
                    row[key] = max(row[key], float(v[j]))
                else:
                    row[key] += float(v[j])

    def frame(self, order=None) -> pd.DataFrame:
        """One row per zone code (codes in ``order`` first, zero rows for absent ones)."""
        cols = (
            ["n"]
            + [f"{s}_sum" for s in self.sums]
            + [f"{e}_{m}" for e in self.extremes for m in ("min", "max")]
        )
        codes = (
            sorted(self._rows)
            if order is None
            else list(order) + sorted(set(self._rows) - set(order))
        )
        data = []
        for c in codes:
            row = self._rows.get(c)
            data.append(
                [row[k] for k in cols]
                if row
                else [0.0] * (1 + len(self.sums)) + [np.nan] * 2 * len(self.extremes)
            )
        return pd.DataFrame(data, index=pd.Index(codes, name="code"), columns=cols)
