"""Annual raster stacks: one band per year, in memory (T, H, W) or in a GeoTIFF file.

A stack file is a multi-band GeoTIFF whose band descriptions are the years (``"2002"``,
``"2003"``, ...), written atomically (temporary file renamed on success) and tiled by
:func:`geoagb.mapping._writer.atomic_geotiff`. Functions of :mod:`geoagb.timeseries` accept either
form through :class:`StackSource`, which reads any window of either as float32 with nodata as NaN,
so that the same code runs on a 120 x 120 demo array and on a 40 000 x 40 000 national stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window

from ..mapping._io import cell_area_ha
from ..mapping._windows import OutputGrid
from ..mapping._writer import atomic_geotiff, geotiff_profile

__all__ = [
    "StackSource",
    "write_stack",
    "read_stack",
    "stack_years",
    "make_grid",
    "area_ha",
    "window_transform",
]


def _affine(transform) -> Affine | None:
    if transform is None:
        return None
    return transform if isinstance(transform, Affine) else Affine(*tuple(transform)[:6])


def _crs(crs):
    from rasterio.crs import CRS

    return None if crs is None else CRS.from_user_input(crs)


def make_grid(transform, crs, width: int, height: int) -> OutputGrid:
    """The :class:`~geoagb.mapping._windows.OutputGrid` of an in-memory raster."""
    if transform is None:
        raise ValueError(
            "an in-memory stack needs its grid to be written or measured: pass transform= (an "
            "affine.Affine or its 6 coefficients, e.g. from rasterio) and crs= (e.g. 'EPSG:32648')."
        )
    tr = _affine(transform)
    return OutputGrid(
        crs=_crs(crs), transform=tr, width=int(width), height=int(height), factor=1, in_transform=tr
    )


def window_transform(win: Window, transform: Affine) -> Affine:
    """Affine transform of window ``win`` of a raster with ``transform``."""
    return transform @ Affine.translation(int(win.col_off), int(win.row_off))


def area_ha(transform, crs) -> float:
    """Area of one cell, hectares (the CRS must be projected in metres)."""
    g = make_grid(transform, crs, 1, 1)
    return cell_area_ha(dict(crs=g.crs, transform=g.transform))


def stack_years(path) -> np.ndarray | None:
    """Years read from the band descriptions of a stack file, or None when they are not years.

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> p = write_stack(os.path.join(tempfile.mkdtemp(), "s.tif"), np.zeros((2, 4, 4)), [2002, 2003],
    ...                 transform=(1000, 0, 0, 0, -1000, 0), crs="EPSG:32648")
    >>> stack_years(p).tolist()
    [2002, 2003]
    """
    with rasterio.open(path) as ds:
        desc = ds.descriptions
    try:
        ys = [int(float(d)) for d in desc]
    except (TypeError, ValueError):
        return None
    return np.asarray(ys, dtype=np.int64)


class StackSource:
    """Windowed float32 reads of a (T, H, W) array or of a multi-band raster file.

    Parameters
    ----------
    data : ndarray of shape (T, H, W) or (H, W), str or Path
        The stack (a 2-D array or a single-band file is a one-layer stack).
    years : sequence of int, optional
        One per layer; for a file, default the years in its band descriptions.
    transform, crs : optional
        Grid of an in-memory array (a file carries its own).
    name : str
        Used in error messages.
    """

    def __init__(self, data, years=None, *, transform=None, crs=None, name="stack"):
        self.name = name
        self.path = None
        if isinstance(data, (str, Path)):
            self.path = Path(data)
            if not self.path.exists():
                raise FileNotFoundError(f"{name} file {self.path} does not exist.")
            with rasterio.open(self.path) as ds:
                self.count, self.height, self.width = ds.count, ds.height, ds.width
                self.transform, self.crs = ds.transform, ds.crs
                self.nodata = ds.nodatavals
            if years is None:
                years = stack_years(self.path)
            self.array = None
        else:
            a = np.asarray(data)
            if a.ndim == 2:
                a = a[None]
            if a.ndim != 3:
                raise ValueError(
                    f"{name} must be a (T, H, W) stack or an (H, W) map; got shape {a.shape}."
                )
            self.array = a
            self.count, self.height, self.width = a.shape
            self.transform, self.crs = _affine(transform), _crs(crs)
        if years is not None:
            years = np.asarray(years).astype(np.int64).reshape(-1)
            if years.size != self.count:
                raise ValueError(
                    f"{name} has {self.count} layer(s) but {years.size} years were given; give one "
                    "year per layer (band descriptions of a stack file are its years)."
                )
        self.years = years

    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width

    def check_same_grid(self, other: StackSource) -> None:
        if (self.height, self.width) != (other.height, other.width):
            raise ValueError(
                f"{other.name} is {other.height} x {other.width} cells but {self.name} is "
                f"{self.height} x {self.width}; put every layer on the same grid first "
                "(rasterio.warp.reproject or `gdalwarp -tr ... -te ...`)."
            )
        if (
            self.transform is not None
            and other.transform is not None
            and not self.transform.almost_equals(other.transform, precision=1e-6)
        ):
            raise ValueError(
                f"{other.name} and {self.name} have the same size but different transforms "
                f"({tuple(other.transform)[:6]} vs {tuple(self.transform)[:6]}); align them first."
            )

    def layer_index(self, year) -> int:
        if self.years is None:
            raise ValueError(f"{self.name} has no years; pass years=[...] (one per layer).")
        hit = np.flatnonzero(self.years == int(year))
        if hit.size == 0:
            raise ValueError(
                f"year {year} is not in {self.name} (years {self.years.min()}-{self.years.max()})."
            )
        return int(hit[0])

    def read(self, window: Window | None = None, layers: Sequence[int] | None = None) -> np.ndarray:
        """float32 (len(layers), h, w) of ``window`` (default: everything); nodata as NaN."""
        layers = list(range(self.count)) if layers is None else [int(i) for i in layers]
        if window is None:
            window = Window(0, 0, self.width, self.height)
        r0, c0 = int(window.row_off), int(window.col_off)
        h, w = int(window.height), int(window.width)
        if self.array is not None:
            return np.asarray(self.array[layers, r0 : r0 + h, c0 : c0 + w], dtype=np.float32)
        with rasterio.open(self.path) as ds:
            a = ds.read([i + 1 for i in layers], window=window, out_dtype=np.float32)
        for k, i in enumerate(layers):
            nd = self.nodata[i]
            if nd is not None and not np.isnan(nd):
                a[k][a[k] == np.float32(nd)] = np.nan
        return a


def write_stack(
    path,
    data,
    years,
    *,
    transform,
    crs,
    unit: str = "MgC/ha",
    tags: dict | None = None,
    overviews: bool = False,
) -> Path:
    """Write a (T, H, W) stack as a tiled float32 GeoTIFF, one band per year, atomically.

    Parameters
    ----------
    path : str or Path
        Output file; its folder must exist.
    data : ndarray of shape (T, H, W) or (H, W)
    years : sequence
        Band descriptions (one per layer), e.g. years or statistic names.
    transform, crs
        Grid of the stack.
    unit : str or sequence of str, default "MgC/ha"
        Band unit(s).
    tags : dict, optional
        Provenance tags.
    overviews : bool, default False

    Returns
    -------
    Path
    """
    a = np.asarray(data, dtype=np.float32)
    if a.ndim == 2:
        a = a[None]
    grid = make_grid(transform, crs, a.shape[2], a.shape[1])
    names = [
        str(int(y))
        if isinstance(y, (int, np.integer)) or (isinstance(y, float) and float(y).is_integer())
        else str(y)
        for y in years
    ]
    if len(names) != a.shape[0]:
        raise ValueError(f"{len(names)} band names for {a.shape[0]} layers; give one per layer.")
    units = [unit] * len(names) if isinstance(unit, str) else list(unit)
    profile = geotiff_profile(grid, count=a.shape[0])
    with atomic_geotiff(path, profile, names, units, tags=tags, overviews=overviews) as dst:
        dst.write(a)
    return Path(path)


def read_stack(path) -> tuple[np.ndarray, np.ndarray | None, dict]:
    """(stack float32 (T, H, W) with NaN for nodata, years or None, grid dict(transform, crs)).

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> p = write_stack(os.path.join(tempfile.mkdtemp(), "s.tif"), np.ones((3, 2, 2)), [2000, 2001, 2002],
    ...                 transform=(1000, 0, 0, 0, -1000, 0), crs="EPSG:32648")
    >>> a, years, grid = read_stack(p)
    >>> a.shape, years.tolist(), grid["transform"].a
    ((3, 2, 2), [2000, 2001, 2002], 1000.0)
    """
    src = StackSource(path)
    return src.read(), src.years, dict(transform=src.transform, crs=src.crs)
