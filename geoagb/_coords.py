"""The one place where geoagb finds sample coordinates in ``X``.

Rule (see the documentation page "Coordinates travel with X"): coordinates travel with ``X``.

* a :class:`geopandas.GeoDataFrame` of points: its geometry (the CRS must be projected);
* a :class:`pandas.DataFrame`: the columns named by ``coords`` (default ``("x", "y")``);
* any object with a ``.coords`` attribute of shape (n, 2), e.g. :class:`geoagb.deep.PatchSet`;
* for splitters only (``allow_array=True``), a plain (n, 2) array *is* the coordinates.

Distances are in the units of a projected CRS (metres). Geographic coordinates are refused.
Nothing else in geoagb parses coordinates: every module calls :func:`get_coords`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "get_coords",
    "get_crs",
    "check_metric",
    "metric_coords",
    "drop_coords",
    "feature_names_without_coords",
    "is_name_pair",
    "resolve_coord_names",
    "coords_param",
    "coord_names",
    "DEFAULT_COORDS",
]

DEFAULT_COORDS = ("x", "y")  # what coords=None means for a DataFrame, everywhere

_PROJECT_HINT = "project them to a metric CRS first, e.g. gdf.to_crs(gdf.estimate_utm_crs())"


def _is_geodataframe(X: Any) -> bool:
    return hasattr(X, "geometry") and hasattr(X, "crs") and isinstance(X, pd.DataFrame)


def get_crs(X: Any):
    """Return the CRS carried by ``X`` (GeoDataFrame or object with ``.crs``) or ``None``."""
    crs = getattr(X, "crs", None)
    if crs is None:
        return None
    try:
        from pyproj import CRS

        return CRS.from_user_input(crs)
    except Exception:  # pragma: no cover - exotic CRS objects
        return crs


def _check_crs(crs) -> None:
    """Refuse a geographic CRS, and a projected CRS whose unit is not the metre (US feet...)."""
    if crs is None:
        return
    if getattr(crs, "is_geographic", False):
        raise ValueError(
            f"coordinates are geographic (CRS {crs.to_string()}): distances and block sizes in "
            f"geoagb are metres; {_PROJECT_HINT}."
        )
    axes = getattr(crs, "axis_info", None) or []
    units = {
        (a.unit_name, float(a.unit_conversion_factor))
        for a in axes
        if getattr(a, "unit_name", None)
    }
    bad = [(u, f) for u, f in units if abs(f - 1.0) > 1e-9]
    if bad:
        unit, factor = bad[0]
        raise ValueError(
            f"the CRS {crs.to_string()} measures coordinates in {unit} (1 {unit} = {factor:.6g} m), "
            "but distances, block sizes and variogram ranges in geoagb are metres; a block_size "
            f"of 5000 would be read as 5000 {unit}. Reproject to a metric CRS first, e.g. "
            "gdf.to_crs(gdf.estimate_utm_crs())."
        )


def get_coords(
    X: Any,
    coords: Sequence[str] | np.ndarray | None = None,
    *,
    allow_array: bool = False,
    check_finite: bool = True,
) -> np.ndarray:
    """Return the (n, 2) float64 array of sample coordinates carried by ``X``.

    Parameters
    ----------
    X : GeoDataFrame, DataFrame, object with ``.coords``, or (n, 2) array
        The samples.
    coords : pair of column names, or (n, 2) array, default None
        Column names for a DataFrame (``None``: ``("x", "y")``). An (n, 2) array aligned
        with ``X`` may be given instead so that ``X`` can stay a pure feature matrix (splitter idiom).
    allow_array : bool, default False
        Accept a plain (n, 2) array ``X`` as the coordinates themselves (splitters only).
    check_finite : bool, default True
        Raise on NaN or infinite coordinates.

    Returns
    -------
    xy : ndarray of shape (n, 2), float64
        Easting and northing in metres.

    Raises
    ------
    ValueError
        Geographic CRS, missing columns, wrong shape, length mismatch or non-finite values.
    """
    n = _n_samples(X)
    if coords is not None and not (
        isinstance(coords, (tuple, list))
        and len(coords) == 2
        and all(isinstance(c, str) for c in coords)
    ):
        xy = np.asarray(coords, dtype=float)
        if xy.ndim != 2 or xy.shape[1] != 2:
            raise ValueError(
                f"coords given as an array must have shape (n_samples, 2); got {xy.shape}. "
                "Pass column names, e.g. coords=('x', 'y'), or an (n, 2) array of eastings/northings."
            )
        if n is not None and xy.shape[0] != n:
            raise ValueError(
                f"coords array has {xy.shape[0]} rows but X has {n} samples. An array of "
                "coordinates must stay aligned with X; inside nested cross-validation pass the "
                "coordinates as columns of a DataFrame X instead (coords=('x', 'y'))."
            )
    elif _is_geodataframe(X):
        _check_crs(get_crs(X))
        geom = X.geometry
        if len(geom) and not bool((geom.geom_type == "Point").all()):
            xy = np.column_stack([geom.centroid.x.to_numpy(), geom.centroid.y.to_numpy()])
        else:
            xy = np.column_stack([geom.x.to_numpy(), geom.y.to_numpy()]).astype(float)
    elif isinstance(X, pd.DataFrame):
        names = coord_names(coords)
        missing = [c for c in names if c not in X.columns]
        if missing:
            raise ValueError(
                f"coordinate column(s) {missing} not found in X (columns: {list(X.columns)[:12]}"
                f"{' ...' if X.shape[1] > 12 else ''}); pass coords=(xcol, ycol) naming the "
                "easting and northing columns, or give X as a GeoDataFrame."
            )
        xy = X.loc[:, list(names)].to_numpy(dtype=float)
    elif hasattr(X, "coords") and X.coords is not None and not callable(X.coords):
        _check_crs(get_crs(X))
        xy = np.asarray(X.coords, dtype=float)
    elif allow_array:
        xy = np.asarray(X, dtype=float)
        if xy.ndim != 2 or xy.shape[1] != 2:
            raise ValueError(
                f"X has shape {xy.shape}: a plain array is taken as coordinates only when it has "
                "shape (n_samples, 2). Pass a DataFrame with coordinate columns, a GeoDataFrame, "
                "or coords=<(n, 2) array> to the splitter."
            )
    else:
        raise TypeError(
            f"cannot find coordinates in X of type {type(X).__name__}: give a GeoDataFrame, a "
            "DataFrame with coordinate columns (coords=('x', 'y')), or an object with a .coords "
            "attribute of shape (n, 2) such as geoagb.deep.PatchSet."
        )
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"coordinates must have shape (n_samples, 2); got {xy.shape}.")
    if check_finite and not np.all(np.isfinite(xy)):
        bad = np.flatnonzero(~np.all(np.isfinite(xy), axis=1))
        raise ValueError(
            f"{bad.size} sample(s) have NaN or infinite coordinates (first rows: {bad[:5].tolist()}); "
            "drop or fix them before spatial modelling, e.g. X = X[np.isfinite(xy).all(axis=1)]."
        )
    return np.ascontiguousarray(xy, dtype=np.float64)


def _n_samples(X: Any) -> int | None:
    try:
        return len(X)
    except TypeError:
        return None


def check_metric(xy: np.ndarray, distance: float, name: str = "block_size", crs=None) -> None:
    """Refuse a metric ``distance`` on what look like geographic coordinates.

    A projected CRS in metres passes; a geographic CRS, or a projected one in feet, is refused.
    Without a CRS, coordinates that all lie inside the longitude / latitude box and whose whole
    extent is smaller than ``distance`` are taken to be degrees (a ``distance`` in metres would
    then put every sample in one block). With ``distance=None`` (a variogram or kriging fit,
    where the distance is what is estimated), such coordinates spanning less than one unit
    and away from the origin raise a warning instead.

    Examples
    --------
    >>> check_metric(np.array([[500_000.0, 4e6], [510_000.0, 4.01e6]]), 5_000)
    >>> check_metric(np.array([[104.1, 30.2], [104.2, 30.3]]), 5_000)
    Traceback (most recent call last):
    ...
    ValueError: block_size=5000 looks like metres but the coordinates look like degrees ...
    """
    if crs is not None:
        _check_crs(crs)
        return
    if xy.size == 0 or len(xy) < 2:
        return
    in_box = np.all(np.abs(xy[:, 0]) <= 180.0) and np.all(np.abs(xy[:, 1]) <= 90.0)
    extent = float(np.max(np.ptp(xy, axis=0)))
    if distance is None:
        if in_box and 0 < extent < 1.0 and np.all(np.abs(xy) >= 1.0):
            import warnings

            warnings.warn(
                f"the coordinates span {extent:.4g} units and all lie within +-180 / +-90: they "
                f"look like longitude/latitude in degrees, but geoagb's distances are metres "
                f"(a {name} fitted on them would be in degrees); {_PROJECT_HINT}.",
                UserWarning,
                stacklevel=3,
            )
        return
    if in_box and extent < distance:
        raise ValueError(
            f"{name}={distance:g} looks like metres but the coordinates look like degrees "
            f"(all within +-180 / +-90, extent {extent:.4g}); {_PROJECT_HINT}, or pass projected "
            "easting/northing columns."
        )


def feature_names_without_coords(X: Any, coords: Sequence[str] | None = None) -> list[str]:
    """Names of the columns of ``X`` that are features: not geometry, not coordinate columns.

    ``coords=None`` means ``("x", "y")``, as everywhere in geoagb; ``()`` keeps every column
    but the geometry (coordinates wanted as features).

    Examples
    --------
    >>> df = pd.DataFrame({"x": [0.0], "y": [1.0], "ndvi": [0.5]})
    >>> feature_names_without_coords(df), feature_names_without_coords(df, ())
    (['ndvi'], ['x', 'y', 'ndvi'])
    """
    if not isinstance(X, pd.DataFrame):
        raise TypeError("feature_names_without_coords needs a DataFrame")
    skip = set()
    if _is_geodataframe(X):
        skip.add(X.geometry.name)
    coords = coord_names(coords) if coords is None else coords
    if isinstance(coords, (tuple, list)) and all(isinstance(c, str) for c in coords):
        skip.update(coords)
    return [c for c in X.columns if c not in skip]


def drop_coords(X: Any, coords: Sequence[str] | None = None):
    """Return ``X`` without its geometry and coordinate columns, as a plain DataFrame.

    ``coords`` as in :func:`feature_names_without_coords`. Non-DataFrame inputs are returned
    unchanged (they carry no coordinate columns).
    """
    if not isinstance(X, pd.DataFrame):
        return X
    cols = feature_names_without_coords(X, coords)
    return pd.DataFrame(X[cols])


def metric_coords(
    X: Any,
    coords=None,
    *,
    distance: float | None = None,
    name: str = "distance",
    allow_array: bool = True,
) -> np.ndarray:
    """Coordinates of ``X`` (see :func:`get_coords`) checked to be metres for ``distance``.

    The one entry point for every function that measures a distance: it finds the coordinates
    and runs :func:`check_metric` with the CRS that ``X`` carries.

    Examples
    --------
    >>> metric_coords(np.array([[0.0, 0.0], [100.0, 50.0]]), distance=10.0).shape
    (2, 2)
    """
    xy = get_coords(X, coords, allow_array=allow_array)
    check_metric(xy, None if distance is None else float(distance), name, crs=get_crs(X))
    return xy


def coord_names(coords: Sequence[str] | None) -> tuple[str, str]:
    """The coordinate column names that ``coords`` stands for: ``None`` means ``("x", "y")``.

    Examples
    --------
    >>> coord_names(None), coord_names(["e", "n"])
    (('x', 'y'), ('e', 'n'))
    """
    return DEFAULT_COORDS if coords is None else (coords[0], coords[1])


def is_name_pair(coords) -> bool:
    """True when ``coords`` is a pair of column names such as ``("x", "y")``."""
    return (
        isinstance(coords, (tuple, list))
        and len(coords) == 2
        and all(isinstance(c, str) for c in coords)
    )


def resolve_coord_names(X: Any, **named) -> tuple[str, str]:
    """The coordinate column names of ``X``, named once on the data, a splitter or an estimator.

    Parameters
    ----------
    X : DataFrame, GeoDataFrame or other
        The samples.
    **named : pair of str, array or None
        Where names may have been given, e.g. ``function=coords, cv=cv.coords,
        estimator=est.coords``. ``None`` means "not given here"; arrays are ignored (they carry
        coordinates, not names).

    Returns
    -------
    (str, str)
        The names given (all places that name them must agree), else ``("x", "y")``.

    Raises
    ------
    ValueError
        Two places name different columns, or ``X`` holds only one of the two named columns.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"e": [0.0], "n": [1.0], "ndvi": [0.5]})
    >>> resolve_coord_names(df, function=None, cv=("e", "n"), estimator=None)
    ('e', 'n')
    >>> resolve_coord_names(df, function=("x", "y"), cv=("e", "n"))
    Traceback (most recent call last):
    ...
    ValueError: the coordinate columns are named differently in two places: ...
    """
    for k, v in named.items():
        if (
            isinstance(v, (tuple, list))
            and any(isinstance(c, str) for c in v)
            and not is_name_pair(v)
        ):
            raise ValueError(
                f"coords={tuple(v)!r} (on the {k}) must name two columns, easting "
                "then northing, e.g. coords=('x_utm', 'y_utm')."
            )
    given = {k: tuple(v) for k, v in named.items() if is_name_pair(v)}
    distinct = set(given.values())
    if len(distinct) > 1:
        where = "; ".join(f"{k}: {v}" for k, v in given.items())
        raise ValueError(
            f"the coordinate columns are named differently in two places: {where}. Name them "
            "once (on the splitter, the estimator or the function call), or make the names agree."
        )
    names = distinct.pop() if distinct else ("x", "y")
    if isinstance(X, pd.DataFrame) and not _is_geodataframe(X):
        present = [c for c in names if c in X.columns]
        if len(present) == 1:
            missing = [c for c in names if c not in X.columns]
            raise ValueError(
                f"X has the coordinate column {present} but not {missing} (coordinate names "
                f"{names}, from {', '.join(given) or 'the default'}); name both columns, e.g. "
                "coords=('x_utm', 'y_utm')."
            )
    return names


def coords_param(obj):
    """The ``coords`` parameter of a splitter or estimator (or of a Pipeline step), or None.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from geoagb.base import DropCoordinates
    >>> coords_param(make_pipeline(DropCoordinates(coords=("e", "n")), LinearRegression()))
    ('e', 'n')
    """
    if obj is None or not hasattr(obj, "get_params"):
        return getattr(obj, "coords", None)
    params = obj.get_params(deep=True)
    if "coords" in params:
        return params["coords"]
    keys = [k for k in params if k.endswith("__coords")]
    return params[keys[0]] if keys else None
