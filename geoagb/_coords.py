"""The one place where geoagb finds sample coordinates in ``X``.

Rule (see ``API.md``): coordinates travel with ``X``.

* a :class:`geopandas.GeoDataFrame` of points: its geometry (the CRS must be projected);
* a :class:`pandas.DataFrame`: the columns named by ``coords`` (default ``("x", "y")``);
* any object with a ``.coords`` attribute of shape (n, 2), e.g. :class:`geoagb.deep.PatchSet`;
* for splitters only (``allow_array=True``), a plain (n, 2) array *is* the coordinates.

Distances are in the units of a projected CRS (metres). Geographic coordinates are refused.
Nothing else in geoagb parses coordinates: every module calls :func:`get_coords`.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "get_coords",
    "get_crs",
    "check_metric",
    "drop_coords",
    "feature_names_without_coords",
]

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
    if crs is None:
        return
    if getattr(crs, "is_geographic", False):
        raise ValueError(
            f"coordinates are geographic (CRS {crs.to_string()}): distances and block sizes in "
            f"geoagb are metres; {_PROJECT_HINT}."
        )


def get_coords(
    X: Any,
    coords: Sequence[str] | np.ndarray | None = ("x", "y"),
    *,
    allow_array: bool = False,
    check_finite: bool = True,
) -> np.ndarray:
    """Return the (n, 2) float64 array of sample coordinates carried by ``X``.

    Parameters
    ----------
    X : GeoDataFrame, DataFrame, object with ``.coords``, or (n, 2) array
        The samples.
    coords : pair of column names, or (n, 2) array, default ("x", "y")
        Column names for a DataFrame. An (n, 2) array aligned with ``X`` may be given
        instead so that ``X`` can stay a pure feature matrix (splitter idiom).
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
        isinstance(coords, (tuple, list)) and len(coords) == 2 and all(isinstance(c, str) for c in coords)
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
        names = tuple(coords) if coords is not None else ("x", "y")
        missing = [c for c in names if c not in X.columns]
        if missing:
            raise ValueError(
                f"coordinate column(s) {missing} not found in X (columns: {list(X.columns)[:12]}"
                f"{' ...' if X.shape[1] > 12 else ''}); pass coords=(xcol, ycol) naming the "
                "easting and northing columns, or give X as a GeoDataFrame."
            )
        xy = X.loc[:, list(names)].to_numpy(dtype=float)
    elif hasattr(X, "coords") and getattr(X, "coords") is not None and not callable(getattr(X, "coords")):
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

    A projected CRS passes. Without a CRS, coordinates that all lie inside the longitude /
    latitude box and whose whole extent is smaller than ``distance`` are taken to be degrees
    (a ``distance`` in metres would then put every sample in one block).
    """
    if distance is None:
        return
    if crs is not None:
        _check_crs(crs)
        return
    if xy.size == 0:
        return
    in_box = np.all(np.abs(xy[:, 0]) <= 180.0) and np.all(np.abs(xy[:, 1]) <= 90.0)
    extent = float(np.max(np.ptp(xy, axis=0)))
    if in_box and extent < distance:
        raise ValueError(
            f"{name}={distance:g} looks like metres but the coordinates look like degrees "
            f"(all within +-180 / +-90, extent {extent:.4g}); {_PROJECT_HINT}, or pass projected "
            "easting/northing columns."
        )


def feature_names_without_coords(X: Any, coords: Sequence[str] | None = ("x", "y")) -> list[str]:
    """Names of the columns of ``X`` that are features: not geometry, not coordinate columns."""
    if not isinstance(X, pd.DataFrame):
        raise TypeError("feature_names_without_coords needs a DataFrame")
    skip = set()
    if _is_geodataframe(X):
        skip.add(X.geometry.name)
    if coords is not None and isinstance(coords, (tuple, list)) and all(isinstance(c, str) for c in coords):
        skip.update(coords)
    return [c for c in X.columns if c not in skip]


def drop_coords(X: Any, coords: Sequence[str] | None = ("x", "y")):
    """Return ``X`` without its geometry and coordinate columns, as a plain DataFrame.

    Non-DataFrame inputs are returned unchanged (they carry no coordinate columns).
    """
    if not isinstance(X, pd.DataFrame):
        return X
    cols = feature_names_without_coords(X, coords)
    return pd.DataFrame(X[cols])
