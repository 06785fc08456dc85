"""Feature sources for mapping: a GeoTIFF stack (one band per feature) or a RasterFeatures recipe.

:func:`predict_raster` accepts a :class:`geoagb.features.RasterFeatures` (features computed per
window with the recipe used at the plots), or plain rasters whose bands *are* the features. The
second case is :class:`RasterStack`, which offers the same small interface as RasterFeatures
(``feature_names``, ``grid``, ``halo``, ``on_window``) so the mapping engine treats both alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.windows import Window

from ._io import read_padded, same_grid

__all__ = ["RasterStack", "as_feature_source", "band_table", "block_mean"]


@dataclass(frozen=True)
class _Band:
    name: str
    path: str
    index: int  # 1-based


def band_table(sources) -> list[_Band]:
    """Name every band of ``sources`` (one name per band, in order).

    ``sources`` is a path, a list of paths, or a dict ``name -> path``. A single-band file is
    named by its dict key (or, in a list, by its band description, else its file stem); the bands
    of a multi-band file are named by their band descriptions (e.g. ``"blue", "green", "red",
    "nir"``), falling back to ``<key>_<i>``.
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
    bands: list[_Band] = []
    for key, path in items:
        path = str(path)
        with rasterio.open(path) as ds:
            desc = list(ds.descriptions)
            if ds.count == 1:
                name = key if key is not None else (desc[0] or Path(path).stem)
                bands.append(_Band(str(name), path, 1))
                continue
            for i in range(1, ds.count + 1):
                d = desc[i - 1]
                if d:
                    name = d
                elif key is not None:
                    name = f"{key}_{i}"
                else:
                    raise ValueError(
                        f"band {i} of {path} has no description, so its feature name is unknown; "
                        "set band descriptions (rasterio: dst.set_band_description(i, 'ndvi')) or "
                        "pass a dict {name: path} of single-band files."
                    )
                bands.append(_Band(str(name), path, i))
    names = [b.name for b in bands]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(
            f"feature/band names {dup} occur more than once in {names}; names must be unique."
        )
    return bands


def block_mean(arr: np.ndarray, factor: int, skipna: bool = True) -> np.ndarray:
    """Mean over ``factor x factor`` blocks of the last two axes.

    With ``skipna`` the mean of the valid pixels (NaN when none is valid); without, any NaN
    pixel makes the block NaN. The last two axes must be multiples of ``factor``.

    Examples
    --------
    >>> block_mean(np.arange(16, dtype=float).reshape(4, 4), 2)
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    if factor == 1:
        return arr
    *lead, h, w = arr.shape
    blocks = arr.reshape(*lead, h // factor, factor, w // factor, factor)
    if not skipna:
        out = blocks.mean(axis=(-3, -1), dtype=np.float64)
        return out.astype(arr.dtype if arr.dtype.kind == "f" else np.float64, copy=False)
    valid = np.isfinite(blocks)
    s = np.where(valid, blocks, 0).sum(axis=(-3, -1), dtype=np.float64)
    n = valid.sum(axis=(-3, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = s / n
    return out.astype(arr.dtype if arr.dtype.kind == "f" else np.float64, copy=False)


class RasterStack:
    """Features read directly from raster bands (no feature computation).

    Parameters
    ----------
    sources : path, list of paths, or dict name -> path
        Co-registered rasters (same CRS, transform and size). See :func:`band_table` for how
        bands are named.

    Attributes
    ----------
    feature_names : list of str
    grid : dict
        crs, transform, width, height, resolution of the rasters.
    halo : int
        Always 0: a band value needs no context pixels.

    Notes
    -----
    With ``out_resolution`` each feature is the mean of the pixels inside the output cell, and
    a cell with any nodata pixel is NaN: the rule of :class:`geoagb.features.RasterFeatures`
    (a plot footprint touching nodata gets NaN features, and so does a map cell).
    """

    halo = 0

    def __init__(self, sources):
        self.sources = sources
        self._bands = band_table(sources)
        grids = {}
        for b in self._bands:
            if b.path not in grids:
                with rasterio.open(b.path) as ds:
                    grids[b.path] = dict(
                        crs=ds.crs,
                        transform=ds.transform,
                        width=ds.width,
                        height=ds.height,
                        resolution=(abs(ds.transform.a), abs(ds.transform.e)),
                    )
        first = next(iter(grids))
        for p, g in grids.items():
            if not same_grid(grids[first], g):
                raise ValueError(
                    f"{p} is not on the grid of {first} (size {g['width']}x{g['height']} vs "
                    f"{grids[first]['width']}x{grids[first]['height']}, transform or CRS differ); "
                    "co-register the rasters first, e.g. rasterio.warp.reproject onto one grid or "
                    "`gdalwarp -tr RES RES -tap -te ...`."
                )
        self.grid = grids[first]

    @property
    def feature_names(self) -> list[str]:
        return [b.name for b in self._bands]

    def __repr__(self) -> str:
        return f"RasterStack({len(self._bands)} bands: {self.feature_names})"

    def read_bands(self, names: Sequence[str], window: Window) -> np.ndarray:
        """Read the named bands over ``window`` (may pass the edges: NaN there), (C, h, w) float32."""
        lookup = {b.name: b for b in self._bands}
        missing = [n for n in names if n not in lookup]
        if missing:
            raise KeyError(f"bands {missing} not found; available: {self.feature_names}")
        out = np.empty((len(names), int(window.height), int(window.width)), dtype=np.float32)
        by_path: dict[str, list[tuple[int, int]]] = {}
        for pos, n in enumerate(names):
            by_path.setdefault(lookup[n].path, []).append((pos, lookup[n].index))
        for path, items in by_path.items():
            arr = read_padded(path, window, [i for _, i in items])
            for k, (pos, _) in enumerate(items):
                out[pos] = arr[k]
        return out

    def on_window(self, window: Window, out_resolution: float | None = None) -> np.ndarray:
        """Features over ``window`` (input-grid pixels), averaged to ``out_resolution`` metres.

        Returns an array of shape (F, h, w), float32, NaN where nodata.
        """
        arr = self.read_bands(self.feature_names, window)
        if out_resolution is None:
            return arr
        factor = int(round(float(out_resolution) / abs(self.grid["transform"].a)))
        return block_mean(arr, factor, skipna=False)


def as_feature_source(features):
    """Return an object with ``feature_names``, ``grid``, ``halo`` and ``on_window``.

    A :class:`geoagb.features.RasterFeatures` (or anything with that interface) is returned
    unchanged; paths, lists of paths and dicts become a :class:`RasterStack`; an xarray
    DataArray (band, y, x) or Dataset (one variable per band) an
    :class:`~geoagb.mapping._xr_source.XarrayStack`.
    """
    if all(hasattr(features, a) for a in ("on_window", "feature_names", "grid")):
        return features
    from ._xr_source import XarrayStack, is_xarray

    if is_xarray(features):
        return XarrayStack(features)
    return RasterStack(features)
