"""ResidualKrigingRegressor: a learner plus kriging of its out-of-fold residuals (seed 002)."""

from __future__ import annotations

import inspect
import numbers
import warnings

import numpy as np
import pandas as pd
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.utils import check_array, column_or_1d
from sklearn.utils.validation import check_is_fitted, validate_data

from .._coords import drop_coords, get_coords
from ..base import ExplainMixin
from ._ck import CoKriging
from ._ok import OrdinaryKriging

__all__ = ["ResidualKrigingRegressor"]

_METHODS = ("ordinary", "cokriging", "cokriging_full")
_RESIDUALS = ("oof", "insample")
_DEGREE_NAMES = {"lon", "lat", "long", "longitude", "latitude"}


def _is_index_pair(coords) -> bool:
    return (isinstance(coords, (tuple, list)) and len(coords) == 2
            and all(isinstance(c, numbers.Integral) and not isinstance(c, bool) for c in coords))


def _as_list(cols):
    if cols is None:
        return []
    if isinstance(cols, (str, numbers.Integral)):
        return [cols]
    return list(cols)


class ResidualKrigingRegressor(ExplainMixin, RegressorMixin, BaseEstimator):
    """Learner + kriged residuals: ``predict(X) = learner(X) + kriged residual at X's location``.

    The learner is fitted on all data; the residuals that are kriged are out-of-fold by default
    (each plot's residual comes from a learner that did not see it), because the in-sample
    residuals of a flexible learner (boosted trees, random forests) are shrunk towards zero and
    carry little of the spatial error the learner makes at new locations. A variogram is fitted
    to the residuals, and ordinary kriging (or co-kriging with a secondary variable such as
    elevation) interpolates them to the prediction locations.

    Parameters
    ----------
    estimator : regressor
        The learner (e.g. ``xgboost.XGBRegressor()``). It sees ``learner_features(X)``: X
        without the coordinate columns and geometry.
    method : {"ordinary", "cokriging", "cokriging_full"}, default "ordinary"
        ``"ordinary"``: ordinary kriging of the residuals. ``"cokriging"``: collocated
        co-kriging with ``secondary`` (read from X at the data and at every prediction
        location, as elevation from a DEM). ``"cokriging_full"``: full co-kriging with a linear
        model of coregionalisation (secondary used at the data locations and at the target).
    secondary : str, int or list, optional
        Column(s) of X holding the secondary variable(s) for co-kriging, e.g. ``"elevation"``.
    variogram : "auto", str or Variogram, default "auto"
        Residual variogram: ``"auto"`` fits spherical, exponential and gaussian models and keeps
        the best; a model name fits that model; a fitted or ``from_params`` Variogram is used
        as given.
    n_neighbors : int or None, default 64
        Residuals used per prediction (None: all, global kriging).
    residuals : {"oof", "insample"}, default "oof"
        Which residuals are kriged: out-of-fold (honest; the default) or in-sample (for
        comparison only).
    cv : int, cross-validator or None, default None
        Folds for the out-of-fold residuals. None: 5-fold random ``KFold(shuffle=True,
        random_state=random_state)``; an int: that many random folds; any splitter (e.g.
        ``geoagb.model_selection.SpatialBlockKFold``) is called as ``cv.split(X, y)`` on the full
        X, coordinates included. Random folds are the default because the kriged residual is
        added at prediction locations interspersed with the training plots, where the learner's
        error is that of an unseen but nearby location; spatial blocks give larger,
        extrapolation-like residuals.
    coords : pair of column names or pair of column indices, default ("x", "y")
        Where the coordinates (metres, projected CRS) are: column names of a DataFrame (a
        GeoDataFrame's point geometry is used instead; see :func:`geoagb._coords.get_coords`),
        or two integer column positions, which is how a plain array X carries coordinates.
    secondary_as_feature : bool, default True
        Keep the ``secondary`` column(s) among the learner's features (as in seed 002, where
        elevation is both a covariate and the co-kriging secondary); False removes them.
    coords_as_features : bool, default False
        Also give the learner the coordinate columns (when X has them; a GeoDataFrame's
        geometry is never a feature). Off by default: with coordinates as features a flexible
        learner models part of the spatial trend itself and extrapolates it poorly.
    max_distance : float or None, default None
        Kriging search radius, metres; where no residual is in range the correction is 0 and
        the kriging std is the residual sill's square root.
    random_state : int or None, default None
        Seed of the default folds and of the variogram's pair sampling.

    Attributes
    ----------
    estimator_ : regressor
        The learner refitted on all data.
    oof_residuals_ : ndarray (n,)
        The residuals that were kriged, ``y - prediction``: out-of-fold (or in-sample with
        ``residuals="insample"``), Mg/ha for AGB.
    residual_variogram_ : Variogram or None
        Variogram fitted to the residuals (None when they have zero variance).
    kriger_ : OrdinaryKriging, CoKriging or None
        The fitted kriging object (None: no correction).
    n_features_in_, feature_names_in_
        As in scikit-learn (all columns of X, coordinates included).

    See Also
    --------
    OrdinaryKriging, CoKriging, Variogram

    References
    ----------
    Seed 002: CNN-Transformer AGB model with ordinary and co-kriging of its residuals
    (elevation as the secondary variable). Hengl, T., Heuvelink, G. B. M. and Rossiter, D. G.
    (2007). About regression-kriging. Computers & Geosciences 33, 1301-1315.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> from geoagb.datasets import make_plots
    >>> plots = make_plots(300, random_state=0)
    >>> X, y = plots.drop(columns="agb"), plots["agb"]
    >>> rk = ResidualKrigingRegressor(LinearRegression(), n_neighbors=32, random_state=0)
    >>> rk = rk.fit(X, y)
    >>> mean, std = rk.predict(X.iloc[:3], return_std=True)
    >>> bool(np.allclose(mean, rk.estimator_.predict(rk.learner_features(X.iloc[:3]))
    ...                  + rk.predict_residual(X.iloc[:3])))
    True
    """

    def __init__(self, estimator, method="ordinary", secondary=None, variogram="auto",
                 n_neighbors=64, residuals="oof", cv=None, coords=("x", "y"),
                 secondary_as_feature=True, coords_as_features=False, max_distance=None,
                 random_state=None):
        self.estimator = estimator
        self.method = method
        self.secondary = secondary
        self.variogram = variogram
        self.n_neighbors = n_neighbors
        self.residuals = residuals
        self.cv = cv
        self.coords = coords
        self.secondary_as_feature = secondary_as_feature
        self.coords_as_features = coords_as_features
        self.max_distance = max_distance
        self.random_state = random_state

    # ------------------------------------------------------------------ inputs
    def _check_params(self):
        if self.method not in _METHODS:
            raise ValueError(f"method={self.method!r}; choose one of {list(_METHODS)}.")
        if self.residuals not in _RESIDUALS:
            raise ValueError(f"residuals={self.residuals!r}; choose one of {list(_RESIDUALS)}.")
        if self.method != "ordinary" and not _as_list(self.secondary):
            raise ValueError(f"method={self.method!r} needs secondary=<column of X>, e.g. "
                             "secondary='elevation'.")
        if self.method == "ordinary" and _as_list(self.secondary):
            raise ValueError(f"secondary={self.secondary!r} is only used by co-kriging; set "
                             "method='cokriging' or secondary=None.")
        if (isinstance(self.coords, (tuple, list)) and len(self.coords) == 2
                and all(isinstance(c, str) for c in self.coords)
                and any(c.lower() in _DEGREE_NAMES for c in self.coords)):
            raise ValueError(f"coords={tuple(self.coords)} look like longitude/latitude in degrees;"
                             " kriging distances are metres: project the data first, e.g. "
                             "gdf.to_crs(gdf.estimate_utm_crs()), and use the easting/northing "
                             "columns.")

    def _split(self, X):
        """(coordinates (n, 2), learner features, secondary (n, p) or None) from X."""
        sec_cols = _as_list(self.secondary)
        if _is_index_pair(self.coords):
            pos = [int(c) for c in self.coords]
            tab = X if isinstance(X, pd.DataFrame) else np.asarray(X)
            ncol = tab.shape[1] if tab.ndim == 2 else 0
            if tab.ndim != 2 or max(pos) >= ncol or min(pos) < -ncol:
                raise ValueError(f"X has {ncol} feature(s) (shape {np.shape(tab)}) but "
                                 f"coords={tuple(self.coords)} name two of its columns as the "
                                 "coordinates and the learner needs at least one more: give X "
                                 "with the 2 coordinate columns plus the feature columns.")
            pos = [p % ncol for p in pos]
            raw = tab.iloc[:, pos] if isinstance(tab, pd.DataFrame) else tab[:, pos]
            xy = get_coords(None, coords=np.asarray(raw, dtype=float))
            drop = [] if self.coords_as_features else list(pos)
            if isinstance(tab, pd.DataFrame):
                sec_pos = [tab.columns.get_loc(c) if not isinstance(c, numbers.Integral) else c
                           for c in sec_cols]
            else:
                sec_pos = [int(c) for c in sec_cols]
            sec = (np.asarray(tab.iloc[:, sec_pos] if isinstance(tab, pd.DataFrame)
                              else tab[:, sec_pos], dtype=float) if sec_cols else None)
            if sec_cols and not self.secondary_as_feature:
                drop += sec_pos
            keep = [j for j in range(ncol) if j not in set(drop)]
            if not keep:
                raise ValueError(f"X has {ncol} feature(s), all of them coordinates (or the "
                                 "secondary); the learner needs at least one more column.")
            Xf = tab.iloc[:, keep] if isinstance(tab, pd.DataFrame) else tab[:, keep]
            return xy, Xf, sec
        xy, sec = self._locations(X)
        Xf = drop_coords(X, None if self.coords_as_features else self.coords)
        if sec_cols and not self.secondary_as_feature:
            Xf = Xf.drop(columns=[c for c in sec_cols if c in Xf.columns])
        return xy, Xf, sec

    def _coords_of(self, X):
        try:
            return get_coords(X, self.coords)
        except TypeError as err:
            raise TypeError(f"{err} For a plain array X, give the positions of its coordinate "
                            "columns, e.g. coords=(0, 1).") from None

    def _locations(self, X):
        """(coordinates, secondary or None) without touching the feature columns."""
        if _is_index_pair(self.coords):
            xy, _, sec = self._split(X)
            return xy, sec
        xy = self._coords_of(X)
        sec_cols = _as_list(self.secondary)
        if not sec_cols:
            return xy, None
        missing = [c for c in sec_cols if not isinstance(X, pd.DataFrame) or c not in X.columns]
        if missing:
            raise ValueError(f"secondary variable(s) {missing} missing from X; co-kriging needs "
                             "them at every location, at fit and at prediction time (e.g. "
                             "elevation sampled from the DEM).")
        sec = X.loc[:, sec_cols].to_numpy(dtype=float)
        if not np.all(np.isfinite(sec)):
            rows = np.flatnonzero(~np.isfinite(sec).all(axis=1))
            raise ValueError(f"the secondary variable {sec_cols} is missing (NaN) at "
                             f"{rows.size} target(s) (rows {rows[:5].tolist()}); co-kriging "
                             "needs it at every location: fill it from the source raster or "
                             "drop those rows.")
        return xy, sec

    def _validate_X(self, X, reset, check_features=True):
        if isinstance(X, pd.DataFrame):
            if check_features:
                validate_data(self, X, reset=reset, skip_check_array=True)
            return X
        if hasattr(X, "coords") and not isinstance(X, np.ndarray) and not issparse(X):
            return X  # e.g. a PatchSet: the learner validates its own input
        if not check_features:
            return check_array(X, ensure_all_finite="allow-nan", dtype=None)
        return validate_data(self, X, reset=reset, ensure_all_finite="allow-nan", dtype=None)

    def learner_features(self, X):
        """What ``estimator_`` sees: X without coordinates and geometry (and without the
        secondary column(s) when ``secondary_as_feature=False``).

        Parameters
        ----------
        X : DataFrame, GeoDataFrame, array or object with ``.coords``

        Returns
        -------
        DataFrame or array
        """
        return self._split(X)[1]

    def _make_kriger(self):
        common = dict(variogram=self.variogram, n_neighbors=self.n_neighbors,
                      max_distance=self.max_distance)
        if self.method == "ordinary":
            return OrdinaryKriging(**common)
        mode = "collocated" if self.method == "cokriging" else "full"
        return CoKriging(mode=mode, **common)

    # ------------------------------------------------------------------ fit / predict
    def fit(self, X, y):
        """Fit the learner, compute its residuals and krige them.

        Parameters
        ----------
        X : GeoDataFrame, DataFrame (with coordinate columns) or array (with ``coords`` as
            two column positions)
            Features and coordinates (metres).
        y : array (n,)
            Target, e.g. AGB in Mg/ha.

        Returns
        -------
        self
        """
        self._check_params()
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target y "
                             "is None.")
        X = self._validate_X(X, reset=True)
        y = check_array(y, ensure_2d=False, dtype="numeric", input_name="y")
        y = column_or_1d(y, warn=True).astype(float)
        xy, Xf, sec = self._split(X)
        if len(y) != len(xy):
            raise ValueError(f"X has {len(xy)} samples but y has {len(y)}.")
        est = self.estimator
        if self.residuals == "oof":
            cv = self.cv
            if cv is None or isinstance(cv, numbers.Integral):
                cv = KFold(5 if cv is None else int(cv), shuffle=True,
                           random_state=self.random_state)
            splits = list(cv.split(X, y))
            oof = cross_val_predict(clone(est), Xf, y, cv=splits)
            self.estimator_ = clone(est).fit(Xf, y)
        else:
            self.estimator_ = clone(est).fit(Xf, y)
            oof = self.estimator_.predict(Xf)
        r = y - np.asarray(oof, dtype=float).reshape(-1)
        self.oof_residuals_ = r
        self.kriger_ = None
        self.residual_variogram_ = None
        if np.ptp(r) <= 1e-12 * max(1.0, float(np.max(np.abs(y)))):
            warnings.warn("the learner's residuals have zero variance (it fits y exactly): there "
                          "is nothing to krige and no correction is applied. Use out-of-fold "
                          "residuals (residuals='oof') or a less flexible learner.",
                          UserWarning, stacklevel=2)
            return self
        kr = self._make_kriger()
        if isinstance(self.variogram, str):
            from ._variogram import Variogram

            kr.variogram = Variogram(self.variogram, random_state=self.random_state)
        if self.method == "ordinary":
            kr.fit(xy, r)
        else:
            kr.fit(xy, r, sec)
        self.kriger_ = kr
        self.residual_variogram_ = kr.variogram_
        return self

    def predict_residual(self, X, return_std=False):
        """Kriged residual at X's coordinates (0 where no residual is within reach).

        Parameters
        ----------
        X : same kind as in :meth:`fit`
            Only the coordinates (and the secondary column for co-kriging) are read, so a
            DataFrame holding just ``x`` and ``y`` (or a GeoDataFrame of points) will do.
        return_std : bool, default False
            Also return the kriging standard deviation.

        Returns
        -------
        residual : ndarray (n,)
        std : ndarray (n,), only with ``return_std=True``
        """
        check_is_fitted(self, "estimator_")
        X = self._validate_X(X, reset=False, check_features=False)  # only coordinates needed
        xy, sec = self._locations(X)
        if self.kriger_ is None:
            z = np.zeros(len(xy))
            return (z, z.copy()) if return_std else z
        args = (xy,) if self.method == "ordinary" else (xy, sec)
        out = self.kriger_.predict(*args, return_std=return_std)
        res, std = out if return_std else (out, None)
        res = np.where(np.isfinite(res), res, 0.0)
        if return_std:
            std = np.where(np.isfinite(std), std, np.sqrt(self.residual_variogram_.sill_))
            return res, std
        return res

    def predict(self, X, return_std=False):
        """Learner prediction plus kriged residual.

        Parameters
        ----------
        X : same kind as in :meth:`fit`
        return_std : bool, default False
            Also return a standard deviation: the kriging std, combined as
            ``sqrt(kriging_std^2 + learner_std^2)`` with the learner's own std when its
            ``predict`` accepts ``return_std``.

        Returns
        -------
        mean : ndarray (n,)
            ``estimator_.predict(learner_features(X)) + predict_residual(X)``.
        std : ndarray (n,), only with ``return_std=True``
        """
        check_is_fitted(self, "estimator_")
        if isinstance(X, pd.DataFrame):
            self._locations(X)  # clear errors for missing coordinates / secondary come first
        Xf = self.learner_features(self._validate_X(X, reset=False))
        learner_std = None
        if return_std and "return_std" in inspect.signature(self.estimator_.predict).parameters:
            base, learner_std = self.estimator_.predict(Xf, return_std=True)
        else:
            base = self.estimator_.predict(Xf)
        base = np.asarray(base, dtype=float).reshape(-1)
        if not return_std:
            return base + self.predict_residual(X)
        res, std = self.predict_residual(X, return_std=True)
        if learner_std is not None:
            std = np.sqrt(std**2 + np.asarray(learner_std, dtype=float).reshape(-1) ** 2)
        return base + res, std

    def __sklearn_tags__(self):
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        # NaN features are the learner's business (xgboost accepts them, most others do not)
        tags.input_tags.allow_nan = get_tags(self.estimator).input_tags.allow_nan
        return tags
