"""Inputs checked where they enter: projected CRS, categorical rasters, the odd grid out.

Three rules that :func:`geoagb.workflow.fit_bundle` and :meth:`geoagb.workflow.Bundle.predict_map`
apply to the same rasters, so that ``fit`` never accepts what ``map`` refuses:

* **Projected CRS.** Footprints, resolutions and block sizes are in metres, so rasters in a
  geographic CRS (degrees) are refused with the UTM zone of their centre
  (:func:`utm_epsg`, :func:`check_projected`).
* **Categorical rasters are not numbers.** A land-cover map or a study-area mask averaged over a
  footprint is meaningless as a class code; :func:`categorical_reason` says why a raster is
  taken as categorical (the rule is in its docstring) and the workflow leaves it out of the
  default numeric features with a note.
* **A map is never empty.** :func:`require_valid_map` removes a written map without a single
  valid cell and raises, so ``geoagb map`` exits non-zero instead of writing nodata.
* **The odd grid out.** When rasters are not on one grid, the message names the file(s) whose
  grid differs from the majority (ties: from the first listed), :func:`odd_grids`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import rasterio
from pyproj import CRS, Transformer

from ._read import grid_differences, has_valid_pixel

__all__ = [
    "utm_epsg",
    "check_projected",
    "categorical_reason",
    "MAX_CLASS_CODES",
    "odd_grids",
    "require_valid_map",
]

#: Largest number of distinct codes an integer raster may hold to be taken as categorical.
MAX_CLASS_CODES = 32
_CLASS_NAME = re.compile(
    r"(^|[^a-z])(landcover|land_cover|lulc|lc|class(es)?|mask|classif\w*)($|[^a-z])"
)
_SAMPLE_SIDE = 256


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS 84 / UTM zone holding (``lon``, ``lat``), degrees.

    Zone ``floor((lon + 180) / 6) + 1`` (the 6-degree UTM zones); 326zz north of the equator,
    327zz south (the EPSG codes of WGS 84 / UTM).

    Examples
    --------
    >>> utm_epsg(-71.0, -35.0)  # central Chile: zone 19 south
    32719
    >>> utm_epsg(105.0, 25.0)  # Guizhou: zone 48 north
    32648
    """
    zone = int(math.floor((float(lon) + 180.0) / 6.0)) % 60 + 1
    return (32600 if float(lat) >= 0 else 32700) + zone


def _centre_lonlat(crs, transform, width: int, height: int) -> tuple[float, float]:
    x = transform.c + transform.a * width / 2
    y = transform.f + transform.e * height / 2
    c = CRS.from_user_input(crs)
    if c.is_geographic:
        return float(x), float(y)
    lon, lat = Transformer.from_crs(c, "EPSG:4326", always_xy=True).transform(x, y)
    return float(lon), float(lat)


def check_projected(name: str, crs, transform, width: int, height: int) -> None:
    """Refuse a raster whose CRS is geographic (pixel size in degrees), naming the UTM fix.

    Parameters
    ----------
    name : str
        The file (or source name) quoted in the message.
    crs, transform, width, height
        The raster's grid.

    Raises
    ------
    ValueError
        One line: the file, its CRS and pixel size, the rule, and a ``gdalwarp`` command to the
        UTM zone of the raster's centre (:func:`utm_epsg`).

    Examples
    --------
    >>> from affine import Affine
    >>> try:
    ...     check_projected("img.tif", "EPSG:4326", Affine(1 / 1200, 0, -71.5, 0, -1 / 1200, -34.5),
    ...                     120, 120)
    ... except ValueError as err:
    ...     print(str(err)[-68:])
    EPSG:32719 -tr 30 30 -r bilinear img.tif img_utm.tif (UTM zone 19S).
    """
    if crs is None:
        return
    try:
        c = CRS.from_user_input(crs)
    except Exception:  # pragma: no cover - a CRS pyproj cannot read: later checks speak
        return
    if not c.is_geographic:
        return
    lon, lat = _centre_lonlat(c, transform, width, height)
    epsg = utm_epsg(lon, lat)
    stem = re.sub(r"\.(tiff?|vrt)$", "", str(name), flags=re.I)
    raise ValueError(
        f"{name} is in a geographic CRS ({c.to_string()}, pixels of {abs(transform.a):.6g} "
        f"degrees) but footprints, resolutions and block sizes are in metres, so fit and map "
        f"need projected rasters; warp it to the UTM zone of its centre ({lon:.2f}, {lat:.2f}), "
        f"e.g. gdalwarp -t_srs EPSG:{epsg} -tr 30 30 -r bilinear {name} {stem}_utm.tif "
        f"(UTM zone {epsg % 100}{'N' if epsg < 32700 else 'S'})."
    )


def categorical_reason(path, name: str, dtype: str, description: str | None = None) -> str | None:
    """Why the first band of ``path`` is a class raster (land cover, mask), or ``None``.

    The rule: only integer bands can be categorical, and an integer band is categorical when
    (1) it has a colour table, or (2) its name (file stem or band description) is a class word
    (``landcover``, ``land_cover``, ``lulc``, ``lc``, ``class``, ``classes``, ``mask``,
    ``classification``), or (3) a nearest-neighbour sample of at most 256 x 256 pixels holds 3 to
    :data:`MAX_CLASS_CODES` (32) distinct valid codes. A 0/1 band (two codes) that is not named
    as a class is kept numeric: its footprint mean is a cover fraction, which is what a one-hot
    column would hold.

    Parameters
    ----------
    path : path
        The GeoTIFF.
    name : str
        Its source name (file stem).
    dtype : str
        Data type of band 1.
    description : str, optional
        Description of band 1.
    """
    if not np.issubdtype(np.dtype(dtype), np.integer):
        return None
    with rasterio.open(path) as ds:
        try:
            ds.colormap(1)
            return "it has a colour table"
        except ValueError:
            pass
        for label in (name, description):
            if label and _CLASS_NAME.search(str(label).lower()):
                return f"its name {str(label)!r} is a class word"
        shape = (min(ds.height, _SAMPLE_SIDE), min(ds.width, _SAMPLE_SIDE))
        a = ds.read(1, out_shape=shape, masked=True)
    codes = np.unique(a.compressed())
    if 3 <= codes.size <= MAX_CLASS_CODES:
        return f"it holds {codes.size} distinct integer codes (<= {MAX_CLASS_CODES})"
    return None


def odd_grids(grids: Mapping[str, dict], tol: float = 1e-6) -> tuple[str, dict[str, list[str]]]:
    """The reference source (on the majority grid) and, per odd source, how its grid differs.

    Sources are grouped by grid; the largest group is the majority (a tie goes to the group of
    the first listed source) and its first member is the reference.

    Examples
    --------
    >>> from affine import Affine
    >>> g = dict(crs=None, transform=Affine(10, 0, 0, 0, -10, 0), width=4, height=3)
    >>> odd_grids({"b": {**g, "width": 5}, "a": g, "c": g})
    ('a', {'b': ['size 5x3 vs 4x3']})
    """
    groups: list[list[str]] = []
    for key, g in grids.items():
        for grp in groups:
            if not grid_differences(grids[grp[0]], g, tol, strict_crs=True):
                grp.append(key)
                break
        else:
            groups.append([key])
    best = max(groups, key=len)  # max keeps the first of equal lengths
    ref = best[0]
    odd = {
        k: grid_differences(grids[ref], g, tol, strict_crs=True)
        for k, g in grids.items()
        if k not in best
    }
    return ref, odd


def require_valid_map(path, feature_names=()) -> None:
    """Remove the map at ``path`` and raise when its band 1 has no valid cell.

    Parameters
    ----------
    path : path
        The map just written.
    feature_names : sequence of str
        The features the map needed, quoted in the message.

    Raises
    ------
    ValueError
        One line: why a map can be empty (a feature missing at every cell, rasters that do
        not overlap, a mask selecting nothing) and what to check.
    """
    if has_valid_pixel(path, 1):
        return
    Path(path).unlink(missing_ok=True)
    names = ", ".join(list(feature_names)[:8])
    raise ValueError(
        f"the map {path} would have no valid cell (every cell has a missing feature or is "
        f"masked out; features: {names}), so it was not kept: check the rasters' nodata value "
        "and extent (at most half of a cell's pixels may be nodata) and the mask values."
    )
