"""Ordinary kriging, global or in a moving neighbourhood."""

from __future__ import annotations

import numpy as np

from ._base import _BaseKriging, resolve_variogram
from ._solve import CovTable, krige

__all__ = ["OrdinaryKriging"]


class OrdinaryKriging(_BaseKriging):
    """Ordinary kriging (unknown constant mean) with a global or moving neighbourhood.

    Parameters
    ----------
    variogram : "auto", str or Variogram, default "auto"
        The semivariogram model. A fitted Variogram (or one made with
        :meth:`Variogram.from_params`) is used as it is; an unfitted one, a model name or
        ``"auto"`` is fitted to the data in :meth:`fit`.
    n_neighbors : int or None, default None
        Number of nearest data used per target (gstat's ``nmax``); None: all data (global
        kriging, one factorisation shared by every target).
    max_distance : float or None, default None
        Only data within this many metres are used (gstat's ``maxdist``); targets with no
        datum in range get NaN.
    chunk_size : int or None, default None
        Targets solved per batch; None sizes batches to about 16 MB, so memory is
        O(n_data x k) for the neighbourhood search plus O(chunk x k^2) for the systems.
    n_jobs : int or None, default None
        Threads solving chunks of targets in parallel (None: 1; -1: all cores).

    Attributes
    ----------
    variogram_ : Variogram
        The fitted (or given) model.
    coords_ : ndarray (m, 2)
        Distinct data locations, metres.
    values_ : ndarray (m,)
        Data values (means where locations were duplicated).
    n_duplicates_ : int
        Number of samples merged because they shared coordinates with another.

    Notes
    -----
    Duplicated coordinates are averaged into one datum (a warning says how many); the kriging
    matrix would otherwise be singular. The nugget is part of the covariance at distance 0, as
    in gstat: kriging at a data location returns the datum with zero variance.
    ``predict(..., return_std=True)[1] ** 2`` is gstat's ``var1.var``.

    References
    ----------
    Goovaerts, P. (1997). Geostatistics for Natural Resources Evaluation, ch. 5. Oxford
    University Press.

    Examples
    --------
    >>> from geoagb.kriging import Variogram
    >>> v = Variogram.from_params("spherical", psill=1.0, range=10.0)
    >>> ok = OrdinaryKriging(v).fit([[0.0, 0.0], [4.0, 0.0]], [1.0, 3.0])
    >>> mean, std = ok.predict([[2.0, 0.0], [0.0, 0.0]], return_std=True)
    >>> mean.round(6).tolist(), std.round(6).tolist()
    ([2.0, 1.0], [0.554977, 0.0])
    """

    def fit(self, coords, values):
        """Fit the variogram (unless fixed) and store the data.

        Parameters
        ----------
        coords : array (n, 2), DataFrame or GeoDataFrame
            Data locations in a projected CRS, metres.
        values : array (n,)
            Data values.

        Returns
        -------
        self
        """
        xy, Z = self._prepare(coords, values)
        if Z.shape[1] != 1:
            raise ValueError(f"values must be one-dimensional (n,); got shape {np.shape(values)}. "
                             "For several variables use CoKriging.")
        self.values_ = Z[:, 0]
        self.variogram_ = resolve_variogram(self.variogram, xy, self.values_)
        v = self.variogram_
        if v.psill_ < 0 or v.nugget_ < 0:
            raise ValueError(f"{v!r} has a negative sill or nugget, which is only valid for a "
                             "cross-variogram; give non-negative psill and nugget.")
        self.table_ = CovTable([[v]])
        return self

    def _run(self, coords, return_var, return_weights=False):
        tx = self._targets(coords)
        return krige(tx, self.coords_, self.values_[:, None], self.table_,
                     n_neighbors=self.n_neighbors, max_distance=self.max_distance,
                     tree=self.tree_, chunk_size=self.chunk_size, return_var=return_var,
                     return_weights=return_weights, n_jobs=self.n_jobs)

    def predict(self, coords, return_std=False):
        """Kriging estimate (and standard deviation) at ``coords``.

        Parameters
        ----------
        coords : array (T, 2), DataFrame or GeoDataFrame
            Target locations, metres.
        return_std : bool, default False
            Also return the kriging standard deviation (sqrt of gstat's kriging variance).

        Returns
        -------
        mean : ndarray (T,)
        std : ndarray (T,), only with ``return_std=True``
        """
        if return_std:
            mean, var = self._run(coords, True)
            return mean, np.sqrt(var)
        return self._run(coords, False)

    def weights(self, coords):
        """Kriging weights of the data for each target.

        Returns
        -------
        index : ndarray (T, k) of int
            Indices into ``coords_``/``values_`` of the data used (``len(coords_)`` marks a
            missing neighbour beyond ``max_distance``).
        weights : ndarray (T, k)
            Their weights; each row sums to 1.
        """
        _, (idx, w) = self._run(coords, False, return_weights=True)
        return idx, w
