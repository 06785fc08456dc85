"""The one contract of a raster source: what the window engine reads, window by window.

Every mapping path reads its inputs through this contract: :func:`geoagb.mapping.predict_raster`
and :func:`geoagb.mapping.explain_raster` (GeoTIFF or xarray inputs, one process or a Dask
cluster) and :func:`geoagb.mapping.predict_xarray` (block by block). GeoTIFF bands
(:class:`RasterStack`), xarray bands (:class:`XarrayStack`) and feature recipes
(:class:`geoagb.features.RasterFeatures`, :class:`geoagb.features.XarrayFeatures`) all conform,
so one window code serves them all.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
from rasterio.windows import Window

__all__ = ["RasterSource"]


@runtime_checkable
class RasterSource(Protocol):
    """Bands on one north-up grid, read one window at a time.

    Attributes
    ----------
    feature_names : list of str
        One name per band, in the order :meth:`on_window` returns them (the feature names a
        model was fitted on).
    grid : dict
        The input grid: ``crs``, ``transform`` (affine, metres), ``width`` and ``height``
        (pixels) and ``resolution`` (metres).
    halo : int
        Input pixels of context a window needs on every side for exact values (0 for plain
        bands; texture and terrain kernels need more). Callers read ``window`` grown by the
        halo and crop the result.

    Methods
    -------
    on_window(window, out_resolution=None)
        The bands over ``window`` (a :class:`rasterio.windows.Window` in input pixels, which may
        pass the raster edges) as float32 ``(len(feature_names), h, w)``, NaN where nodata or
        outside the raster; with ``out_resolution`` (metres, a whole multiple of the input pixel)
        each band is averaged over the output cells.

    Examples
    --------
    >>> import numpy as np, rasterio, tempfile, os
    >>> from affine import Affine
    >>> from geoagb.raster import as_feature_source
    >>> path = os.path.join(tempfile.mkdtemp(), "ndvi.tif")
    >>> with rasterio.open(path, "w", driver="GTiff", width=4, height=4, count=1,
    ...                    dtype="float32", crs="EPSG:32648",
    ...                    transform=Affine(10, 0, 0, 0, -10, 40)) as dst:
    ...     dst.write(np.arange(16, dtype="float32").reshape(1, 4, 4))
    >>> src = as_feature_source({"ndvi": path})
    >>> isinstance(src, RasterSource), src.feature_names, src.halo
    (True, ['ndvi'], 0)
    >>> src.on_window(Window(0, 0, 4, 4), out_resolution=20)[0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]], dtype=float32)
    """

    @property
    def feature_names(self) -> list[str]: ...

    @property
    def grid(self) -> dict: ...

    @property
    def halo(self) -> int: ...

    def on_window(self, window: Window, out_resolution: float | None = None) -> np.ndarray: ...
