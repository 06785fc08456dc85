"""What ordinary kriging and co-kriging share: input checks, duplicate handling, neighbourhood
parameters and the call into the batched solver (:mod:`geoagb.kriging._solve`).
"""

from __future__ import annotations

import copy
import numbers
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .._coords import get_coords, metric_coords
from ._solve import CovTable
from ._variogram import Variogram, check_dense

__all__ = ["average_duplicates", "resolve_variogram"]


def average_duplicates(xy: np.ndarray, Z: np.ndarray):
    """Merge samples at identical coordinates into one sample carrying their mean value.

    Two data at the same place make the kriging matrix singular; averaging them is what gstat's
    ``zerodist``/``remove.duplicates`` advice amounts to, and keeps every datum's information.

    Returns
    -------
    xy_unique : (m, 2) array
    Z_mean : (m, V) array
    n_merged : int
        Number of samples merged away (``n - m``).

    Examples
    --------
    >>> xy = np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    >>> u, z, k = average_duplicates(xy, np.array([[1.0], [5.0], [3.0]]))
    >>> u.tolist(), z.ravel().tolist(), k
    ([[0.0, 0.0], [1.0, 1.0]], [2.0, 5.0], 1)
    """
    uniq, inv, cnt = np.unique(xy, axis=0, return_inverse=True, return_counts=True)
    if len(uniq) == len(xy):
        return xy, Z, 0
    inv = inv.reshape(-1)
    Zm = np.stack(
        [np.bincount(inv, weights=Z[:, j], minlength=len(uniq)) / cnt for j in range(Z.shape[1])],
        axis=1,
    )
    return uniq, Zm, len(xy) - len(uniq)


def resolve_variogram(variogram, xy, z, random_state=None) -> Variogram:
    """A fitted :class:`Variogram` from ``"auto"``, a model name or a Variogram.

    A fixed Variogram (``psill`` and ``range`` given, e.g. from :meth:`Variogram.from_params`)
    is used with its parameters; an already fitted one as it is; any other is fitted to
    ``(xy, z)``.
    """
    if isinstance(variogram, Variogram):
        v = copy.deepcopy(variogram)
        if v.is_fixed:
            v._set_fixed()
            return v
        if hasattr(v, "psill_"):
            return v
        if v.random_state is None and random_state is not None:
            v.random_state = random_state
        return v.fit(xy, z)
    if isinstance(variogram, str):
        return Variogram(variogram, random_state=random_state).fit(xy, z)
    raise TypeError(
        f"variogram={variogram!r} must be 'auto', a model name such as 'spherical', "
        "or a geoagb.kriging.Variogram (fitted, from_params, or to be fitted)."
    )


def nudge_off_data(targets: np.ndarray, tree, scale: float) -> np.ndarray:
    """``targets`` with those that coincide with a datum moved by ``1e-9 x scale`` metres.

    Kriging with a nugget is an exact interpolator only at the data locations themselves: the
    covariance jumps by the nugget at distance 0. Moving a target off the datum by a distance
    far below any variogram range gives the *filtering* estimate (the nugget treated as
    measurement error, gstat's ``Err`` model), continuous with the estimate around it.
    """
    if len(targets) == 0:
        return targets
    d, _ = tree.query(targets, k=1)
    on = d == 0
    if not on.any():
        return targets
    out = np.array(targets, dtype=float, copy=True)
    out[on, 0] += 1e-9 * max(float(scale), 1.0)
    return out


class _BaseKriging(BaseEstimator):
    """Shared machinery; subclasses define ``fit`` and ``predict``.

    A scikit-learn estimator (``get_params``, ``clone``, ``check_is_fitted``) whose ``fit`` takes
    the coordinates as X and the values as y. For kriging of a column of a table with the
    coordinate rule of the regressors, use :class:`geoagb.kriging.KrigingRegressor`.
    """

    def __init__(
        self,
        variogram="auto",
        n_neighbors=None,
        max_distance=None,
        chunk_size=None,
        n_jobs=None,
        exact=True,
    ):
        self.variogram = variogram
        self.n_neighbors = n_neighbors
        self.max_distance = max_distance
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.exact = exact

    def _check_params(self):
        k = self.n_neighbors
        if k is not None and (not isinstance(k, numbers.Integral) or isinstance(k, bool) or k < 1):
            raise ValueError(f"n_neighbors={k!r} must be a positive integer or None (all data).")
        d = self.max_distance
        if d is not None and not (np.isfinite(float(d)) and float(d) > 0):
            raise ValueError(f"max_distance={d!r} must be a positive distance in metres or None.")

    def _prepare(self, coords, values: np.ndarray):
        """Validated coordinates and values (n, V), duplicates averaged; builds the KD-tree."""
        from scipy.spatial import cKDTree

        self._check_params()
        check_dense(coords, f"{type(self).__name__}.fit")
        xy = metric_coords(coords, None, distance=self.max_distance, name="max_distance")
        if len(xy) == 0:
            raise ValueError(
                f"{type(self).__name__}.fit got 0 samples (X has shape {xy.shape}); kriging "
                "needs data: give at least one location and its value."
            )
        Z = np.asarray(values, dtype=float)
        Z = Z.reshape(len(Z), -1)
        if len(Z) != len(xy):
            raise ValueError(
                f"values have {len(Z)} rows but coords has {len(xy)}; they must align."
            )
        if not np.all(np.isfinite(Z)):
            rows = np.flatnonzero(~np.isfinite(Z).all(axis=1))
            raise ValueError(
                f"{rows.size} sample(s) have NaN or infinite values (rows "
                f"{rows[:5].tolist()}); drop them before kriging."
            )
        xy_u, Z_u, merged = average_duplicates(xy, Z)
        if merged:
            warnings.warn(
                f"{merged} sample(s) share coordinates with another; duplicates were "
                "replaced by their mean value.",
                UserWarning,
                stacklevel=3,
            )
        self.coords_ = xy_u
        self.n_features_in_ = 2  # easting and northing: the only features a point kriger reads
        self.n_duplicates_ = merged
        self.tree_ = cKDTree(xy_u)
        return xy_u, Z_u

    # persistence: skops cannot store a scipy cKDTree nor the covariance table (a dict keyed by
    # tuples), so both are dropped on save and rebuilt on load from what they were built from
    # (coords_; lmc_ or variogram_): the same inputs give the same objects, hence identical
    # predictions after a skops, pickle or joblib round trip
    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("tree_", None)
        state.pop("table_", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        d = self.__dict__
        if "coords_" in d and "tree_" not in d:
            from scipy.spatial import cKDTree

            self.tree_ = cKDTree(self.coords_)
        if "table_" not in d and ("lmc_" in d or "variogram_" in d):
            self.table_ = CovTable(d["lmc_"] if "lmc_" in d else [[d["variogram_"]]])

    def _targets(self, coords) -> np.ndarray:
        """Target coordinates; with ``exact=False`` those on a datum are nudged off it
        (:func:`nudge_off_data`: filtering kriging).
        """
        check_is_fitted(self, "coords_")

        check_dense(coords, f"{type(self).__name__}.predict")
        tx = get_coords(coords, allow_array=True)
        if not self.exact:
            tx = nudge_off_data(tx, self.tree_, float(np.ptp(self.coords_, axis=0).max()))
        return tx
