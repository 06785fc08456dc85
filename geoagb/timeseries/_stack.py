"""Annual raster stacks: one band per year, in memory (T, H, W) or in a GeoTIFF file.

A stack file is a multi-band GeoTIFF whose band descriptions are the years (``"2002"``,
``"2003"``, ...), written atomically (temporary file renamed on success) and tiled by
:func:`geoagb.raster.atomic_geotiff`. Functions of :mod:`geoagb.timeseries` accept either
form through :class:`StackSource`, which reads any window of either as float32 with nodata as NaN,
so that the same code runs on a 120 x 120 demo array and on a 40 000 x 40 000 national stack.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.windows import Window

from ..raster import OutputGrid, atomic_geotiff, geotiff_profile

__all__ = [
    "StackSource",
    "write_stack",
    "read_stack",
    "stack_years",
    "make_grid",
    "window_transform",
    "year_span",
    "companion",
    "align_years",
]


def _affine(transform) -> Affine | None:
    if transform is None:
        return None
    return transform if isinstance(transform, Affine) else Affine(*tuple(transform)[:6])


def _crs(crs):
    return None if crs is None else CRS.from_user_input(crs)


def make_grid(transform, crs, width: int, height: int) -> OutputGrid:
    """The :class:`~geoagb.raster.OutputGrid` of an in-memory raster."""
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


def _as_year(desc) -> int | None:
    """A band description read as a year: a whole number 1000-9999 ("2002", "2002.0"), else None."""
    if desc is None:
        return None
    try:
        v = float(str(desc).strip())
    except ValueError:
        return None
    if not (np.isfinite(v) and v.is_integer() and 1000 <= v <= 9999):
        return None
    return int(v)


def years_from_descriptions(descriptions) -> np.ndarray | None:
    """Years of the bands when every description is a year (see :func:`stack_years`), else None."""
    ys = [_as_year(d) for d in descriptions]
    if not ys or any(y is None for y in ys):
        return None
    return np.asarray(ys, dtype=np.int64)


def stack_years(path) -> np.ndarray | None:
    """Years read from the band descriptions of a stack file, or None when they are not years.

    A description is a year when it is a whole number of four digits (``"2002"``; ``"2002.0"``
    too); band names such as ``"band_1"``, ``"1"`` or an unset description are not, and then the
    file has no years (the functions that need them ask for ``years=``).

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
    return years_from_descriptions(desc)


def year_span(years) -> str:
    """Short text of a set of years: ``"2002-2011"`` when consecutive, else a (shortened) list.

    Examples
    --------
    >>> year_span([2002, 2003, 2004]), year_span([2002, 2005]), year_span([])
    ('2002-2004', '2002, 2005', 'no year')
    >>> year_span(range(2000, 2020, 2))
    '2000, 2002, ..., 2018 (10 years)'
    """
    y = [int(v) for v in np.asarray(years).reshape(-1)]
    if not y:
        return "no year"
    if len(y) == 1:
        return str(y[0])
    if all(b - a == 1 for a, b in zip(y, y[1:])):
        return f"{y[0]}-{y[-1]}"
    if len(y) <= 6:
        return ", ".join(map(str, y))
    return f"{y[0]}, {y[1]}, ..., {y[-1]} ({len(y)} years)"


def _band_names(descriptions) -> str:
    d = [None if v in (None, "") else str(v) for v in descriptions]
    if all(v is None for v in d):
        return f"unset ({len(d)} bands)"
    shown = d if len(d) <= 6 else d[:3] + [...] + d[-2:]
    return "[" + ", ".join("..." if v is ... else repr(v) for v in shown) + f"] ({len(d)} bands)"


def mismatch_message(name, years, other, other_years, fix: str = "") -> str:
    """One-line error for two stacks combined year by year whose years differ."""
    common = np.intersect1d(np.asarray(years), np.asarray(other_years))
    both = f"their common years are {year_span(common)}" if common.size else "no year in common"
    return (
        f"{name} holds the years {year_span(years)} but {other} {year_span(other_years)} ({both}); "
        "stacks combined year by year must have the same years, in the same order, or layers of "
        "different years would be paired: "
        + (fix or "cut them to the same years first (read_stack, then write_stack).")
    )


class StackSource:
    """Windowed float32 reads of a (T, H, W) array or of a multi-band raster file.

    Parameters
    ----------
    data : ndarray of shape (T, H, W) or (H, W), str or Path
        The stack (a 2-D array or a single-band file is a one-layer stack).
    years : sequence of int, optional
        One per layer; for a file, default the years in its band descriptions. A file whose band
        descriptions are years must agree with ``years`` given here.
    transform, crs : optional
        Grid of an in-memory array (a file carries its own).
    name : str
        Used in error messages.
    years_from : str, default "years="
        Where ``years`` came from, for the message of a disagreement (e.g. ``"agbc"``).

    Attributes
    ----------
    years : ndarray of int64 or None
        Years of the layers (None: an array without ``years``, or a file whose band
        descriptions are not years).
    descriptions : tuple of str or None
        Band descriptions of a file.
    """

    def __init__(
        self, data, years=None, *, transform=None, crs=None, name="stack", years_from="years="
    ):
        self.name = name
        self.path = None
        self.descriptions = None
        own = None
        if isinstance(data, (str, Path)):
            self.path = Path(data)
            if not self.path.exists():
                raise FileNotFoundError(
                    f"{name} file {self.path} does not exist; check the path (relative paths start "
                    f"in {Path.cwd()})."
                )
            if self.path.is_dir():
                raise IsADirectoryError(
                    f"{name} path {self.path} is a folder; give the stack GeoTIFF inside it."
                )
            with rasterio.open(self.path) as ds:
                self.count, self.height, self.width = ds.count, ds.height, ds.width
                self.transform, self.crs = ds.transform, ds.crs
                self.nodata = ds.nodatavals
                self.descriptions = tuple(ds.descriptions)
            own = years_from_descriptions(self.descriptions)
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
            if own is not None and not np.array_equal(years, own):
                raise ValueError(
                    mismatch_message(
                        f"{name} ({self.path.name}, band descriptions)",
                        own,
                        years_from,
                        years,
                        fix=f"drop {years_from} to use the years of the band descriptions, or "
                        "give the years the file holds.",
                    )
                )
            if years.size != self.count:
                raise ValueError(
                    f"{name} has {self.count} layer(s) but {years.size} years were given; give one "
                    "year per layer (band descriptions of a stack file are its years)."
                )
        else:
            years = own
        self.years = years

    def require_years(self, fix: str | None = None) -> np.ndarray:
        """Years of the layers; raise for a file whose band descriptions are not years.

        An array without years has its layers numbered 0, 1, ..., T-1 (slopes are then per layer),
        and keeps them as its years.
        """
        if self.years is not None:
            return self.years
        if self.path is None:
            self.years = np.arange(self.count, dtype=np.int64)
            return self.years
        raise ValueError(
            f"the band descriptions of {self.name} file {self.path.name} are "
            f"{_band_names(self.descriptions)}, not years (four-digit whole numbers such as "
            "'2002'), so its layers cannot be dated (slopes would be per band, not per year): "
            + (
                fix
                or "pass years=[2002, 2003, ...] (one per band), or write the stack with "
                "geoagb.timeseries.write_stack(path, data, years) so that its band descriptions "
                "are the years."
            )
        )

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


def companion(
    data, ref: StackSource, *, name: str, years_given: bool = False, fix: str | None = None
) -> StackSource:
    """Source of a stack combined year by year with ``ref`` (same grid; years compared later).

    A file whose band descriptions are years keeps them (:func:`align_years` compares them with
    ``ref``'s). An array, or a file without year descriptions when the caller gave ``years=``
    (which then names every stack that carries no years of its own), takes ``ref``'s years by
    position, with the same number of layers. A file without year descriptions and no ``years=``
    is refused (``fix`` replaces the fix of that message): nothing says which year each of its
    layers is.
    """
    s = StackSource(data, None, transform=ref.transform, crs=ref.crs, name=name)
    ref.check_same_grid(s)
    if s.years is None:
        if s.path is not None and not years_given:
            s.require_years(
                fix=fix
                or f"write it with band descriptions = years (as {ref.name}), or pass years=[...] "
                "(it then names the layers of every stack without year descriptions)."
            )
        if s.count != ref.count:
            raise ValueError(
                f"{name} has {s.count} layer(s) but {ref.name} has {ref.count} "
                f"({year_span(ref.years)}); give {name} one layer per year of {ref.name}."
            )
        s.years = ref.years
    return s


def align_years(ref: StackSource, sources, *, intersect: bool = False, fix: str = ""):
    """Years shared by ``ref`` and ``sources``, and the layers of each that hold them.

    Parameters
    ----------
    ref : StackSource
        The stack whose years the others must match (its ``years`` set).
    sources : sequence of StackSource
    intersect : bool, default False
        False: every source must have exactly ``ref``'s years (else ValueError naming both);
        True: keep only the years all of them hold (ValueError when there is none).
    fix : str
        The fix given in the error message.

    Returns
    -------
    years : ndarray
        The years used.
    layers : dict of name -> list of int or None
        Layer indices of each stack (``ref`` included) holding ``years``, in that order; None
        means all layers.
    """
    if not intersect:
        for s in sources:
            if not np.array_equal(s.years, ref.years):
                raise ValueError(mismatch_message(s.name, s.years, ref.name, ref.years, fix))
        return ref.years, {x.name: None for x in (ref, *sources)}
    common = np.asarray(ref.years)
    for s in sources:
        common = np.intersect1d(common, s.years)
    if common.size == 0:
        held = "; ".join(f"{x.name} {year_span(x.years)}" for x in (ref, *sources))
        raise ValueError(
            f"no year is held by every stack ({held}), so none can be combined: give stacks "
            "that cover the same period."
        )

    def layers(s):
        where = {int(y): i for i, y in enumerate(s.years)}
        return [where[int(y)] for y in common]

    return common, {x.name: layers(x) for x in (ref, *sources)}


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
