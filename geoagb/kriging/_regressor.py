"""KrigingRegressor: kriging alone (optionally with a linear trend on covariates), as a
scikit-learn regressor that reads coordinates from X like every geoagb spatial estimator.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.linalg import cho_factor, cho_solve
from scipy.spatial.distance import cdist
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import LinearRegression
from sklearn.utils.validation import check_is_fitted

from .._coords import feature_names_without_coords, get_coords
from .._random import check_generator
from ..base import CoordinateAwareMixin
from ..explain import ExplainMixin
from ._ok import OrdinaryKriging
from ._residual import _as_list, _is_index_pair
from ._variogram import Variogram

__all__ = ["KrigingRegressor"]

_VARIANCES = ("universal", "residual")


def universal_kriging_system(xy, y, F, variogram):
    """Factor the global universal-kriging system once: GLS trend and the pieces of the variance.

    Parameters
    ----------
    xy : array (n, 2)
        Data locations, metres.
    y : array (n,)
        Data values.
    F : array (n, p)
        Drift design at the data (a column of ones first, then the drift columns).
    variogram : Variogram
        Fitted (or fixed) variogram of the trend residuals.

    Returns
    -------
    dict
        ``beta`` (GLS trend coefficients, intercept first), ``w`` (``K^-1 (y - F beta)``) and
        the factors ``K`` (Cholesky of the data covariance), ``A`` (Cholesky of
        ``F' K^-1 F``).

    References
    ----------
    Cressie, N. (1993). Statistics for Spatial Data, revised edition, Wiley, section 3.4.
    """
    K = cho_factor(variogram.covariance(cdist(xy, xy)), lower=True)
    KiF = cho_solve(K, F)
    A = cho_factor(F.T @ KiF, lower=True)
    beta = cho_solve(A, KiF.T @ y)
    return {"beta": beta, "w": cho_solve(K, y - F @ beta), "K": K, "A": A, "F": F, "xy": xy}


def universal_kriging_predict(system, tx, f0, variogram, exact=True, chunk_size=2048):
    """Universal-kriging mean and variance at targets, trend-estimation term included.

    ``sigma2(x0) = C(0) - c0' K^-1 c0 + q' (F' K^-1 F)^-1 q`` with ``q = f0 - F' K^-1 c0``:
    gstat's ``krige(y ~ x)`` variance with a global neighbourhood (Pebesma 2004).

    Parameters
    ----------
    system : dict
        From :func:`universal_kriging_system`.
    tx : array (T, 2)
        Target locations, metres.
    f0 : array (T, p)
        Drift design at the targets (ones first).
    variogram : Variogram
        The variogram used for ``system``.
    exact : bool, default True
        ``C(0)`` includes the nugget (gstat's default); False drops it (filtering kriging).
    chunk_size : int, default 2048
        Targets per block, bounding memory to ``chunk_size * n`` floats.

    Returns
    -------
    mean, var : ndarray (T,)

    References
    ----------
    Cressie, N. (1993). Statistics for Spatial Data, revised edition, Wiley, section 3.4.
    Pebesma, E. J. (2004). Multivariable geostatistics in S: the gstat package. Computers &
    Geosciences 30, 683-691.
    """
    c00 = variogram.psill_ + (variogram.nugget_ if exact else 0.0)
    mean = np.empty(len(tx))
    var = np.empty(len(tx))
    for a in range(0, len(tx), chunk_size):
        sl = slice(a, a + chunk_size)
        c0 = variogram.covariance(cdist(system["xy"], tx[sl]))
        Kc = cho_solve(system["K"], c0)
        q = f0[sl].T - system["F"].T @ Kc
        mean[sl] = f0[sl] @ system["beta"] + c0.T @ system["w"]
        var[sl] = c00 - np.sum(c0 * Kc, axis=0) + np.sum(q * cho_solve(system["A"], q), axis=0)
    return mean, np.maximum(var, 0.0)


class KrigingRegressor(CoordinateAwareMixin, ExplainMixin, RegressorMixin, BaseEstimator):
    """Kriging of the target from the plot coordinates: the geostatistician's baseline.

    Without ``drift`` this is ordinary kriging of ``y``. With ``drift`` (columns of X such as
    elevation) it is regression kriging: an ordinary-least-squares trend on the drift columns
    plus ordinary kriging of its residuals (Hengl et al. 2007), the counterpart of gstat's
    ``krige(y ~ elevation, ...)``, which estimates the trend by generalised least squares
    inside the kriging system (kriging with external drift). The two give the same trend when
    the residuals are uncorrelated, and close ones otherwise.

    Which variance ``predict(return_std=True)`` returns with ``drift`` is set by ``variance``:

    * ``"universal"`` (default), global neighbourhood (``n_neighbors=None`` or at least the
      number of plots, and ``max_distance=None``): universal kriging. The trend is refitted by
      generalised least squares with the variogram of the OLS residuals and the variance
      includes the trend-estimation term,
      ``C(0) - c0' K^-1 c0 + q' (F' K^-1 F)^-1 q`` with ``q = f0 - F' K^-1 c0`` (Cressie
      1993), so mean and variance equal gstat's ``krige(y ~ drift, model = m)`` with no
      ``nmax`` (Pebesma 2004).
    * ``"universal"`` with a local neighbourhood: regression kriging as before (global OLS
      trend, local ordinary kriging of its residuals). The variance is that of the kriged
      residual; it leaves out the uncertainty of the trend coefficients, so it is below
      gstat's local universal kriging, which refits the trend in each neighbourhood (and
      whose means differ too).
    * ``"residual"``: always regression kriging with the OLS trend and the residual-kriging
      variance (the behaviour before the option existed); use it to reproduce old results
      or where the trend is treated as known.

    Without ``drift`` both give ordinary kriging and its variance (which already holds the
    mean-estimation term).

    Because it follows the same coordinate rule as :class:`ResidualKrigingRegressor`, "kriging
    alone" vs "learner" vs "learner + residual kriging" is one loop over estimators in
    :func:`geoagb.model_selection.spatial_cross_validate` or ``compare_models``.

    Parameters
    ----------
    variogram : "auto", str or Variogram, default "auto"
        Variogram of ``y`` (or of the trend residuals); see :class:`OrdinaryKriging`.
    n_neighbors : int or None, default 64
        Data used per prediction (None: all).
    drift : str, int, list or None, default None
        Column(s) of X used as a linear trend (external drift).
    max_distance : float or None
        Search radius, metres.
    exact : bool, default True
        Exact interpolator (gstat's default) or filtering kriging.
    coords : pair of str, pair of int, or None, default None
        Coordinate columns (None: a GeoDataFrame's geometry, or ``("x", "y")``); two integer
        positions for a plain array X.
    random_state : int, RandomState, Generator or None, default None
        Seed of the variogram's pair sampling.
    variance : {"universal", "residual"}, default "universal"
        With ``drift``: universal-kriging mean and variance in the global case, or the
        regression-kriging residual variance; see above.

    Attributes
    ----------
    kriger_ : OrdinaryKriging
    trend_ : LinearRegression or None
    variogram_ : Variogram
    n_features_in_ : int

    References
    ----------
    Hengl, T., Heuvelink, G. B. M. and Rossiter, D. G. (2007). About regression-kriging: from
    equations to case studies. Computers & Geosciences 33, 1301-1315.

    Cressie, N. (1993). Statistics for Spatial Data, revised edition. Wiley, section 3.4.

    Pebesma, E. J. (2004). Multivariable geostatistics in S: the gstat package. Computers &
    Geosciences 30, 683-691.

    Examples
    --------
    >>> from geoagb.datasets import make_plots
    >>> plots = make_plots(200, random_state=0)
    >>> X, y = plots.drop(columns="agb"), plots["agb"]
    >>> kr = KrigingRegressor(n_neighbors=32, random_state=0).fit(X, y)
    >>> mean, std = kr.predict(X.iloc[:2], return_std=True)
    >>> bool(np.allclose(mean, y.iloc[:2]))   # exact interpolator at the data
    True
    """

    def __init__(
        self,
        variogram="auto",
        n_neighbors=64,
        drift=None,
        max_distance=None,
        exact=True,
        coords=None,
        random_state=None,
        variance="universal",
    ):
        self.variogram = variogram
        self.n_neighbors = n_neighbors
        self.drift = drift
        self.max_distance = max_distance
        self.exact = exact
        self.coords = coords
        self.random_state = random_state
        self.variance = variance

    def _xy_drift(self, X):

        cols = _as_list(self.drift)
        if _is_index_pair(self.coords):
            A = np.asarray(X, dtype=float) if not isinstance(X, pd.DataFrame) else X
            tab = A.iloc if isinstance(A, pd.DataFrame) else None
            pos = [int(c) for c in self.coords]
            raw = tab[:, pos] if tab is not None else A[:, pos]
            xy = get_coords(None, coords=np.asarray(raw, dtype=float))
            D = None
            if cols:
                D = np.asarray(tab[:, cols] if tab is not None else A[:, cols], dtype=float)
            return xy, D
        try:
            xy = get_coords(X, self.coords)
        except TypeError as err:
            raise TypeError(
                f"{err} For a plain array X, give the positions of its coordinate "
                "columns, e.g. coords=(0, 1)."
            ) from None
        if not cols:
            return xy, None
        missing = [c for c in cols if not isinstance(X, pd.DataFrame) or c not in X.columns]
        if missing:
            raise ValueError(
                f"drift column(s) {missing} missing from X; the trend needs them at "
                "the plots and at every prediction location."
            )
        D = X.loc[:, cols].to_numpy(dtype=float)
        if not np.all(np.isfinite(D)):
            raise ValueError(f"the drift column(s) {cols} hold NaN; fill or drop those rows.")
        return xy, D

    def fit(self, X, y):
        """Fit the trend (with ``drift``), the variogram and store the data.

        Parameters
        ----------
        X : GeoDataFrame, DataFrame with coordinate columns, or array with ``coords=(i, j)``
        y : array (n,)

        Returns
        -------
        self
        """
        from sklearn.utils import check_array, column_or_1d

        if y is None:
            raise ValueError("KrigingRegressor requires y to be passed, but the target y is None.")
        X = self._check_X(X)
        yv = column_or_1d(check_array(y, ensure_2d=False, dtype="numeric"), warn=True)
        xy, D = self._xy_drift(X)
        if len(yv) != len(xy):
            raise ValueError(f"X has {len(xy)} samples but y has {len(yv)}.")
        self.n_features_in_ = int(np.shape(X)[1]) if len(np.shape(X)) == 2 else 2
        if isinstance(X, pd.DataFrame):
            names = self._table_names(X)
            self.feature_names_in_ = np.asarray(names, dtype=object)
            self.n_features_in_ = len(names)
        if self.variance not in _VARIANCES:
            raise ValueError(
                f"variance={self.variance!r} is not one of {_VARIANCES}; use 'universal' "
                "(trend-estimation term included) or 'residual'."
            )
        r = yv.astype(float)
        self.trend_ = self.uk_ = None
        if D is not None:
            self.trend_ = LinearRegression().fit(D, r)
            r = r - self.trend_.predict(D)
        v = self.variogram
        if isinstance(v, str):
            v = Variogram(v, random_state=check_generator(self.random_state))
        self.kriger_ = OrdinaryKriging(
            v, n_neighbors=self.n_neighbors, max_distance=self.max_distance, exact=self.exact
        ).fit(xy, r)
        self.variogram_ = self.kriger_.variogram_
        if D is not None and self.variance == "universal" and self._is_global(len(yv)):
            try:
                self._fit_universal(xy, yv.astype(float), D)
            except np.linalg.LinAlgError:
                self.uk_ = None
                warnings.warn(
                    "the universal-kriging system is not positive definite (duplicate plot "
                    "locations with a zero nugget, or drift columns that are collinear); the "
                    "model falls back to regression kriging (variance='residual': the trend "
                    "uncertainty is left out). Average duplicate plots, give the variogram a "
                    "nugget, or drop a collinear drift column.",
                    UserWarning,
                    stacklevel=2,
                )
        return self

    def _is_global(self, n):
        k = self.n_neighbors
        return self.max_distance is None and (k is None or k >= n)

    def _fit_universal(self, xy, y, D):
        # GLS trend with the variogram of the OLS residuals, as gstat's krige(y ~ x); the kriger
        # is refitted on the GLS residuals with that fixed variogram, so that the means of
        # predict_residual / explain agree with the universal-kriging mean.
        F = np.column_stack([np.ones(len(y)), D])
        self.uk_ = universal_kriging_system(xy, y, F, self.variogram_)
        beta = self.uk_["beta"]
        self.trend_.intercept_, self.trend_.coef_ = float(beta[0]), beta[1:]
        fixed = Variogram.from_params(**self.variogram_.fixed_params())
        self.kriger_ = OrdinaryKriging(
            fixed, n_neighbors=self.n_neighbors, max_distance=None, exact=self.exact
        ).fit(xy, y - self.trend_.predict(D))

    def predict(self, X, return_std=False):
        """Kriging estimate (plus the trend) and, with ``return_std``, the kriging std.

        With ``drift``, ``variance="universal"`` and a global neighbourhood, the universal
        kriging mean and std (trend-estimation term included); otherwise the trend plus the
        kriged residual and the residual-kriging std (see the class notes).

        Returns
        -------
        mean : ndarray (n,)
        std : ndarray (n,), only with ``return_std=True``
        """
        check_is_fitted(self, "kriger_")
        X = self._check_X(X, n_features=self.n_features_in_)
        xy, D = self._xy_drift(X)
        if getattr(self, "uk_", None) is not None:
            f0 = np.column_stack([np.ones(len(D)), D])
            tx = self.kriger_._targets(xy)
            mean, var = universal_kriging_predict(
                self.uk_, tx, f0, self.variogram_, exact=self.exact
            )
            return (mean, np.sqrt(var)) if return_std else mean
        out = self.kriger_.predict(xy, return_std=return_std)
        mean, std = out if return_std else (out, None)
        if self.trend_ is not None:
            mean = mean + self.trend_.predict(D)
        return (mean, std) if return_std else mean

    # the residual-kriging protocol (explain, predict_raster): trend + kriged residual ------------
    @property
    def estimator_(self):
        """The linear trend on the drift columns (None without ``drift``)."""
        check_is_fitted(self, "kriger_")
        return self.trend_

    def learner_features(self, X):
        """The drift columns of X (a DataFrame, possibly with no column)."""
        cols = _as_list(self.drift)
        if isinstance(X, pd.DataFrame):
            return pd.DataFrame(X[cols]) if cols else pd.DataFrame(index=X.index)
        A = np.asarray(X, dtype=float)
        return pd.DataFrame(A[:, cols] if cols else np.empty((len(A), 0)))

    def predict_residual(self, X, return_std=False):
        """The kriged part of the prediction (the trend residual at X's locations)."""
        check_is_fitted(self, "kriger_")
        xy, _ = self._xy_drift(self._check_X(X))
        return self.kriger_.predict(xy, return_std=return_std)

    def _table_names(self, X):

        return feature_names_without_coords(X, None if _is_index_pair(self.coords) else self.coords)

    def _check_X(self, X, n_features=None):
        from scipy.sparse import issparse
        from sklearn.utils import check_array

        if issparse(X):
            raise TypeError(
                "KrigingRegressor does not take sparse input: give a DataFrame or a "
                "dense array with the coordinate columns."
            )
        if isinstance(X, pd.DataFrame) or hasattr(X, "coords"):
            return X
        X = check_array(X, dtype="numeric")
        if n_features is not None and X.shape[1] != n_features:
            raise ValueError(
                f"X has {X.shape[1]} features, but KrigingRegressor is expecting "
                f"{n_features} features as input."
            )
        if _is_index_pair(self.coords) and X.shape[1] <= max(int(c) for c in self.coords):
            raise ValueError(
                f"X has {X.shape[1]} feature(s) but coords={tuple(self.coords)} "
                "names two coordinate columns; give X with both of them."
            )
        if not _is_index_pair(self.coords):
            raise TypeError(
                "a plain array X needs the positions of its coordinate columns, e.g. "
                "KrigingRegressor(coords=(0, 1))."
            )
        return X
