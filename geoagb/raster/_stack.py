"""Feature sources for mapping: a GeoTIFF stack (one band per feature) or a RasterFeatures recipe.

:func:`~geoagb.mapping.predict_raster` accepts a :class:`geoagb.features.RasterFeatures`
(features computed per window with the recipe used at the plots), or plain rasters whose bands
*are* the features. The second case is :class:`RasterStack`, which offers the same small
interface as RasterFeatures (the :class:`RasterSource` protocol: ``feature_names``, ``grid``,
``halo``, ``on_window``) so the mapping engine treats both alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rasterio.windows import Window

from ._entry import odd_grids
from ._protocol import RasterSource
from ._read import raster_grid, read_padded
from ._sources import stack_bands
from ._windows import block_mean
from ._xr_source import XarrayStack, is_xarray

__all__ = ["RasterStack", "as_feature_source"]


class RasterStack:
    """Features read directly from raster bands (no feature computation).

    Parameters
    ----------
    sources : path, list of paths, or dict name -> path
        Co-registered rasters (same CRS, transform and size). See :func:`stack_bands` for how
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
        self._bands = stack_bands(sources)
        grids = {}
        for b in self._bands:
            if b.path not in grids:
                grids[b.path] = raster_grid(b.path)
        first = next(iter(grids))
        base, odd = odd_grids(grids)
        if odd:
            p, diff = next(iter(odd.items()))
            more = (
                f" ({len(odd) - 1} more off-grid: {', '.join(list(odd)[1:4])})"
                if len(odd) > 1
                else ""
            )
            raise ValueError(
                f"{p} is not on the grid of {base} ({'; '.join(diff)}){more}; co-register the "
                "rasters first, e.g. rasterio.warp.reproject onto one grid or "
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


def as_feature_source(features) -> RasterSource:
    """``features`` as a :class:`RasterSource` (``feature_names``, ``grid``, ``halo``, ``on_window``).

    A :class:`geoagb.features.RasterFeatures` (or anything that is a :class:`RasterSource`) is
    returned unchanged; paths, lists of paths and dicts become a :class:`RasterStack`; an xarray
    DataArray (band, y, x) or Dataset (one variable per band) an :class:`XarrayStack`.
    """
    if isinstance(features, RasterSource):
        return features
    if is_xarray(features):
        return XarrayStack(features)
    return RasterStack(features)
