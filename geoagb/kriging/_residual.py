"""ResidualKrigingRegressor: a learner plus kriging of its out-of-fold residuals (the Lishui
CNN-Transformer study).
"""

from __future__ import annotations

import inspect
import numbers
import warnings

import numpy as np
import pandas as pd
from scipy.sparse import issparse
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.model_selection import KFold, check_cv, cross_val_predict
from sklearn.utils import check_array, column_or_1d
from sklearn.utils.validation import check_is_fitted, validate_data

from .._coords import drop_coords, feature_names_without_coords, get_coords
from .._random import check_generator, check_random_state
from .._threads import resolve_threads, thread_budget, with_threads
from ..base import CoordinateAwareMixin, TableStateMixin
from ..explain import ExplainMixin
from ._base import resolve_variogram
from ._ck import CoKriging
from ._ok import OrdinaryKriging, SimpleKriging
from ._variogram import Variogram

__all__ = ["ResidualKrigingRegressor"]

_METHODS = ("auto", "simple", "ordinary", "cokriging", "cokriging_full")
_RESIDUALS = ("oof", "insample")
_CORRECTIONS = ("auto", "full", "none")
#: "auto": ordinary kriging is chosen over simple kriging only when its cross-validated RMSE
#: is lower by more than this fraction (simple kriging shrinks to 0 away from the data).
_PREFER_SIMPLE = 0.02
_DEGREE_NAMES = {"lon", "lat", "long", "longitude", "latitude"}


def _is_index_pair(coords) -> bool:
    return (
        isinstance(coords, (tuple, list))
        and len(coords) == 2
        and all(isinstance(c, numbers.Integral) and not isinstance(c, bool) for c in coords)
    )


def _as_list(cols):
    if cols is None:
        return []
    if isinstance(cols, (str, numbers.Integral)):
        return [cols]
    return list(cols)


def learner_prediction(learner, Xf, n: int, return_std: bool = False):
    """``(mean, std or None)`` of the learner part of a residual-kriging model.

    ``learner=None`` (kriging alone) gives zeros. The learner's own std is asked for only with
    ``return_std`` and when its ``predict`` takes ``return_std``; a learner that refuses (a patch
    model trained without an uncertainty loss raises ValueError) gives None. Shared by
    :meth:`ResidualKrigingRegressor.predict` and the mapping of residual-kriging models.
    """
    if learner is None:
        return np.zeros(n), None
    if return_std and "return_std" in inspect.signature(learner.predict).parameters:
        try:
            mean, std = learner.predict(Xf, return_std=True)
            return np.asarray(mean, dtype=float).reshape(-1), np.asarray(std, float).reshape(-1)
        except ValueError:
            pass
    return np.asarray(learner.predict(Xf), dtype=float).reshape(-1), None


def _fit_kriger(kr, method, xy, r, sec):
    if method in ("simple", "ordinary"):
        return kr.fit(xy, r)
    return kr.fit(xy, r, sec)


class ResidualKrigingRegressor(
    TableStateMixin, CoordinateAwareMixin, ExplainMixin, RegressorMixin, BaseEstimator
):
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
    method : {"auto", "simple", "ordinary", "cokriging", "cokriging_full"}, default "auto"
        ``"simple"``: simple kriging of the residuals with their known mean 0 (the correction
        vanishes away from the plots). ``"ordinary"``: ordinary kriging (the correction tends
        to the local mean residual). ``"auto"``: whichever of the two has the lower
        cross-validated RMSE on the residuals (simple unless ordinary is better by more than
        2 %). ``"cokriging"``: collocated
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
    cv : int, cross-validator, iterable of (train, test) or None, default None
        Folds for the out-of-fold residuals. None: 5-fold random ``KFold(shuffle=True,
        random_state=random_state)``; an int: that many random folds; any splitter (e.g.
        ``geoagb.model_selection.SpatialBlockKFold``) is called as ``cv.split(X, y)`` on the full
        X, coordinates included; an iterable of ``(train, test)`` index pairs (positions in the
        X given to ``fit``) is used as is. The learner's out-of-fold fits follow the thread
        policy of :func:`geoagb.model_selection.spatial_cross_validate` (``n_jobs`` or
        ``nthread`` left at None or -1 becomes the default budget; a positive value is kept).
        Random folds are the default because the kriged residual is
        added at prediction locations interspersed with the training plots, where the learner's
        error is that of an unseen but nearby location; spatial blocks give larger,
        extrapolation-like residuals.
    coords : pair of column names, pair of column indices, or None, default None
        Where the coordinates (metres, projected CRS) are: column names of a DataFrame (None:
        ``("x", "y")``; a GeoDataFrame's point geometry is used instead), or two integer
        column positions, which is how a plain array X carries coordinates.
    secondary_as_feature : bool, default True
        Keep the ``secondary`` column(s) among the learner's features (as in the Lishui
        CNN-Transformer study, where
        elevation is both a covariate and the co-kriging secondary); False removes them.
    coords_as_features : bool, default False
        Also give the learner the coordinate columns (when X has them; a GeoDataFrame's
        geometry is never a feature). Off by default: with coordinates as features a flexible
        learner models part of the spatial trend itself and extrapolates it poorly.
    max_distance : float or None, default None
        Kriging search radius, metres; where no residual is in range the correction is 0 and
        the kriging std is the residual sill's square root.
    correction : {"auto", "full", "none"}, default "auto"
        How much of the kriged residual is added. ``"auto"`` decides from the training data
        alone: the residuals are kriged across the folds of ``cv`` (each fold's residuals
        predicted from the other folds'), the shrinkage ``alpha`` in [0, 1] that minimises the
        cross-validated RMSE of ``residual - alpha x kriged`` is estimated, and the correction
        is dropped (``alpha = 0``) unless it lowers that RMSE by at least ``min_gain``. So
        nugget-dominated residuals are left alone and structured ones are corrected.
        ``"full"``: always ``alpha = 1`` (classic regression kriging); ``"none"``: never.
    min_gain : float, default 0.01
        Smallest relative RMSE reduction, estimated by the cross-validation above, for which
        ``correction="auto"`` keeps the kriging correction.
    exact : bool, default False
        False: filtering kriging, the nugget taken as measurement error at prediction points,
        so that at a training plot ``predict`` gives the learner's value plus a *smoothed*
        residual (not the plot's own residual). True: gstat's exact interpolator (at a training
        plot the prediction reproduces its out-of-fold residual exactly).
    random_state : int, RandomState, Generator or None, default None
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
    kriger_ : SimpleKriging, OrdinaryKriging, CoKriging or None
        The fitted kriging object (None: no correction).
    method_ : str
        Kriging used (``"simple"``, ``"ordinary"``, ...; ``"none"`` when no correction).
    shrinkage_ : float
        ``alpha``, the share of the kriged residual added (0: none, 1: full).
    correction_ : str
        ``"full"`` (alpha >= 0.95), ``"partial"`` or ``"none"``.
    estimated_gain_ : float
        Relative RMSE reduction of the residuals estimated by the cross-validation (0 when it
        was not run, i.e. ``correction="full"`` with one method, or no correction).
    kriging_cv_ : pandas.DataFrame or None
        Per candidate kriging: cross-validated RMSE of the residuals without and with the
        correction, the shrinkage and the gain.
    n_features_in_, feature_names_in_
        As in scikit-learn (all columns of X, coordinates included).

    See Also
    --------
    OrdinaryKriging, CoKriging, Variogram

    References
    ----------
    The Lishui CNN-Transformer study: CNN-Transformer AGB model with ordinary and co-kriging of its residuals
    (elevation as the secondary variable). Hengl, T., Heuvelink, G. B. M. and Rossiter, D. G.
    (2007). About regression-kriging. Computers & Geosciences 33, 1301-1315.

    Notes
    -----
    What ``predict`` and ``explain`` mean at the training plots: with ``exact=False`` (the
    default) the kriged residual there is a smoothed neighbourhood value, so ``predict(X_train)``
    is comparable to predictions at new locations; with ``exact=True`` it reproduces each
    plot's out-of-fold residual, so training-set scores and the ``spatial_residual`` SHAP term
    at training plots are inflated and say nothing about new locations.

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

    def __init__(
        self,
        estimator,
        *,
        method="auto",
        secondary=None,
        variogram="auto",
        n_neighbors=64,
        residuals="oof",
        cv=None,
        coords=None,
        secondary_as_feature=True,
        coords_as_features=False,
        max_distance=None,
        correction="auto",
        min_gain=0.01,
        exact=False,
        random_state=None,
    ):
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
        self.correction = correction
        self.min_gain = min_gain
        self.exact = exact
        self.random_state = random_state

    # ------------------------------------------------------------------ inputs
    def _check_params(self):
        if self.method not in _METHODS:
            raise ValueError(f"method={self.method!r}; choose one of {list(_METHODS)}.")
        if self.residuals not in _RESIDUALS:
            raise ValueError(f"residuals={self.residuals!r}; choose one of {list(_RESIDUALS)}.")
        if self.correction not in _CORRECTIONS:
            raise ValueError(f"correction={self.correction!r}; choose one of {list(_CORRECTIONS)}.")
        if not (0.0 <= float(self.min_gain) < 1.0):
            raise ValueError(f"min_gain={self.min_gain!r} must be a fraction in [0, 1).")
        if self.method.startswith("cokriging") and not _as_list(self.secondary):
            raise ValueError(
                f"method={self.method!r} needs secondary=<column of X>, e.g. secondary='elevation'."
            )
        if not self.method.startswith("cokriging") and _as_list(self.secondary):
            raise ValueError(
                f"secondary={self.secondary!r} is only used by co-kriging; set "
                "method='cokriging' or secondary=None."
            )
        if (
            isinstance(self.coords, (tuple, list))
            and len(self.coords) == 2
            and all(isinstance(c, str) for c in self.coords)
            and any(c.lower() in _DEGREE_NAMES for c in self.coords)
        ):
            raise ValueError(
                f"coords={tuple(self.coords)} look like longitude/latitude in degrees;"
                " kriging distances are metres: project the data first, e.g. "
                "gdf.to_crs(gdf.estimate_utm_crs()), and use the easting/northing "
                "columns."
            )

    def _split(self, X):
        """(coordinates (n, 2), learner features, secondary (n, p) or None) from X."""
        sec_cols = _as_list(self.secondary)
        if _is_index_pair(self.coords):
            pos = [int(c) for c in self.coords]
            tab = X if isinstance(X, pd.DataFrame) else np.asarray(X)
            ncol = tab.shape[1] if tab.ndim == 2 else 0
            if tab.ndim != 2 or max(pos) >= ncol or min(pos) < -ncol:
                raise ValueError(
                    f"X has {ncol} feature(s) (shape {np.shape(tab)}) but "
                    f"coords={tuple(self.coords)} name two of its columns as the "
                    "coordinates and the learner needs at least one more: give X "
                    "with the 2 coordinate columns plus the feature columns."
                )
            pos = [p % ncol for p in pos]
            raw = tab.iloc[:, pos] if isinstance(tab, pd.DataFrame) else tab[:, pos]
            xy = get_coords(None, coords=np.asarray(raw, dtype=float))
            drop = [] if self.coords_as_features else list(pos)
            if isinstance(tab, pd.DataFrame):
                sec_pos = [
                    tab.columns.get_loc(c) if not isinstance(c, numbers.Integral) else c
                    for c in sec_cols
                ]
            else:
                sec_pos = [int(c) for c in sec_cols]
            sec = (
                np.asarray(
                    tab.iloc[:, sec_pos] if isinstance(tab, pd.DataFrame) else tab[:, sec_pos],
                    dtype=float,
                )
                if sec_cols
                else None
            )
            if sec_cols and not self.secondary_as_feature:
                drop += sec_pos
            keep = [j for j in range(ncol) if j not in set(drop)]
            if not keep:
                raise ValueError(
                    f"X has {ncol} feature(s), all of them coordinates (or the "
                    "secondary); the learner needs at least one more column."
                )
            Xf = tab.iloc[:, keep] if isinstance(tab, pd.DataFrame) else tab[:, keep]
            return xy, Xf, sec
        xy, sec = self._locations(X)
        Xf = drop_coords(X, () if self.coords_as_features else self.coords)
        if sec_cols and not self.secondary_as_feature:
            Xf = Xf.drop(columns=[c for c in sec_cols if c in Xf.columns])
        return xy, Xf, sec

    def _coords_of(self, X):
        try:
            return get_coords(X, self.coords)
        except TypeError as err:
            raise TypeError(
                f"{err} For a plain array X, give the positions of its coordinate "
                "columns, e.g. coords=(0, 1)."
            ) from None

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
            raise ValueError(
                f"secondary variable(s) {missing} missing from X; co-kriging needs "
                "them at every location, at fit and at prediction time (e.g. "
                "elevation sampled from the DEM)."
            )
        sec = X.loc[:, sec_cols].to_numpy(dtype=float)
        if not np.all(np.isfinite(sec)):
            rows = np.flatnonzero(~np.isfinite(sec).all(axis=1))
            raise ValueError(
                f"the secondary variable {sec_cols} is missing (NaN) at "
                f"{rows.size} target(s) (rows {rows[:5].tolist()}); co-kriging "
                "needs it at every location: fill it from the source raster or "
                "drop those rows."
            )
        return xy, sec

    def _validate_X(self, X, reset, check_features=True):
        if isinstance(X, pd.DataFrame):
            if check_features:
                # names recorded without geometry and coordinate columns: a model fitted on a
                # GeoDataFrame predicts on a DataFrame of x/y cell centres (mapping) and back
                validate_data(self, self._names_frame(X), reset=reset, skip_check_array=True)
            return X
        if hasattr(X, "coords") and not isinstance(X, np.ndarray) and not issparse(X):
            return X  # e.g. a PatchSet: the learner validates its own input
        if not check_features:
            return check_array(X, ensure_all_finite="allow-nan", dtype=None)
        return validate_data(self, X, reset=reset, ensure_all_finite="allow-nan", dtype=None)

    def _names_frame(self, X):
        coords = None if _is_index_pair(self.coords) else self.coords
        return X[feature_names_without_coords(X, coords)]

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

    def _make_kriger(self, method, variogram):
        common = dict(
            variogram=variogram,
            n_neighbors=self.n_neighbors,
            max_distance=self.max_distance,
            exact=self.exact,
        )
        if method == "simple":
            return SimpleKriging(mean=0.0, **common)
        if method == "ordinary":
            return OrdinaryKriging(**common)
        mode = "collocated" if method == "cokriging" else "full"
        return CoKriging(mode=mode, **common)

    def _kriging_args(self, method, xy, sec):
        return (xy,) if method in ("simple", "ordinary") else (xy, sec)

    def _cv_kriging(self, methods, variogram, xy, r, sec, splits):
        """Kriging of the residuals across folds: per method, the shrinkage and the RMSE."""
        rows = []
        rmse0 = float(np.sqrt(np.mean(r**2)))
        for m in methods:
            rhat = np.full(len(r), np.nan)
            for train, test in splits:
                if len(train) < 3 or len(test) == 0:
                    continue
                kr = self._make_kriger(m, variogram)
                sec_tr = None if sec is None else sec[train]
                sec_te = None if sec is None else sec[test]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    _fit_kriger(kr, m, xy[train], r[train], sec_tr)
                    out = kr.predict(*self._kriging_args(m, xy[test], sec_te))
                rhat[test] = np.where(np.isfinite(out), out, 0.0)
            ok = np.isfinite(rhat)
            rr, rh = r[ok], rhat[ok]
            den = float(rh @ rh)
            alpha = (
                1.0
                if self.correction == "full"
                else (float(np.clip((rr @ rh) / den, 0.0, 1.0)) if den > 0 else 0.0)
            )
            rmse_k = float(np.sqrt(np.mean((rr - alpha * rh) ** 2)))
            rows.append(
                {
                    "method": m,
                    "rmse_without": float(np.sqrt(np.mean(rr**2))),
                    "rmse_with": rmse_k,
                    "shrinkage": alpha,
                    "gain": 1.0 - rmse_k / max(float(np.sqrt(np.mean(rr**2))), 1e-300),
                }
            )
        table = pd.DataFrame(rows)
        table.attrs["rmse_without"] = rmse0
        return table

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
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        X = self._validate_X(X, reset=True)
        y = check_array(y, ensure_2d=False, dtype="numeric", input_name="y")
        y = column_or_1d(y, warn=True).astype(float)
        xy, Xf, sec = self._split(X)
        if len(y) != len(xy):
            raise ValueError(f"X has {len(xy)} samples but y has {len(y)}.")
        self.train_coords_ = xy
        est = self.estimator
        if self.residuals == "oof":
            cv = self.cv
            if cv is None or isinstance(cv, numbers.Integral):
                cv = KFold(5 if cv is None else int(cv), shuffle=True, random_state=self._rs())
            splits = list(check_cv(cv).split(X, y))
            threads = resolve_threads(None)
            with thread_budget(threads):
                oof = cross_val_predict(with_threads(clone(est), threads), Xf, y, cv=splits)
            self.estimator_ = clone(est).fit(Xf, y)
        else:
            self.estimator_ = clone(est).fit(Xf, y)
            oof = self.estimator_.predict(Xf)
        r = y - np.asarray(oof, dtype=float).reshape(-1)
        self.oof_residuals_ = r
        self.kriger_ = None
        self.residual_variogram_ = None
        self.method_ = "none"
        self.shrinkage_ = 0.0
        self.correction_ = "none"
        self.estimated_gain_ = 0.0
        self.kriging_cv_ = None
        if np.ptp(r) <= 1e-12 * max(1.0, float(np.max(np.abs(y)))):
            warnings.warn(
                "the learner's residuals have zero variance (it fits y exactly): there "
                "is nothing to krige and no correction is applied. Use out-of-fold "
                "residuals (residuals='oof') or a less flexible learner.",
                UserWarning,
                stacklevel=2,
            )
            return self
        if self.correction == "none":
            return self

        variogram = self.variogram
        if isinstance(variogram, str):
            variogram = Variogram(variogram, random_state=check_generator(self.random_state))
        v = resolve_variogram(variogram, xy, r)
        self.residual_variogram_ = v
        methods = ("simple", "ordinary") if self.method == "auto" else (self.method,)
        if self.correction == "full" and len(methods) == 1:
            chosen, alpha = methods[0], 1.0
        else:
            if self.residuals != "oof":
                splits = list(KFold(5, shuffle=True, random_state=self._rs()).split(xy))
            table = self._cv_kriging(methods, v, xy, r, sec, splits)
            self.kriging_cv_ = table
            best = table.loc[table["rmse_with"].idxmin()]
            if "simple" in methods:
                simple = table.loc[table["method"] == "simple"].iloc[0]
                if simple["rmse_with"] <= (1.0 + _PREFER_SIMPLE) * best["rmse_with"]:
                    best = simple
            chosen, alpha = str(best["method"]), float(best["shrinkage"])
            self.estimated_gain_ = float(best["gain"])
            if self.correction == "auto" and (
                self.estimated_gain_ < float(self.min_gain) or alpha <= 0.0
            ):
                return self
        kr = self._make_kriger(chosen, v)
        _fit_kriger(kr, chosen, xy, r, sec)
        self.kriger_ = kr
        self.residual_variogram_ = kr.variogram_
        self.method_ = chosen
        self.shrinkage_ = alpha
        self.correction_ = "full" if alpha >= 0.95 else "partial"
        return self

    def _rs(self):

        return check_random_state(self.random_state)

    def summary(self) -> pd.Series:
        """What the fit decided, as numbers: learner residual RMSE (out-of-fold), residual
        variogram (model, nugget:sill ratio, effective range), median distance from a plot to
        its nearest neighbour, kriging used, shrinkage and the estimated RMSE gain.

        Returns
        -------
        pandas.Series
        """
        check_is_fitted(self, "estimator_")
        from scipy.spatial import cKDTree

        r = self.oof_residuals_
        v = self.residual_variogram_
        out = {
            "n_plots": len(r),
            "residual_rmse": float(np.sqrt(np.mean(r**2))),
            "variogram_model": None if v is None else v.model_,
            "nugget_to_sill": np.nan if v is None or v.sill_ <= 0 else v.nugget_ / v.sill_,
            "effective_range_m": np.nan if v is None else v.effective_range_,
            "plot_spacing_m": np.nan,
            "method": self.method_,
            "correction": self.correction_,
            "shrinkage": self.shrinkage_,
            "estimated_gain": self.estimated_gain_,
        }
        xy = getattr(self, "train_coords_", None)
        if xy is not None and len(xy) > 1:
            d, _ = cKDTree(xy).query(xy, k=2)
            out["plot_spacing_m"] = float(np.median(d[:, 1]))
        return pd.Series(out, name=type(self.estimator).__name__)

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
            if return_std:
                return z, np.full(len(xy), float(np.std(self.oof_residuals_)))
            return z
        args = self._kriging_args(self.method_, xy, sec)
        out = self.kriger_.predict(*args, return_std=return_std)
        res, std = out if return_std else (out, None)
        res = np.where(np.isfinite(res), res, 0.0)
        a = float(self.shrinkage_)
        if return_std:
            sill = float(self.residual_variogram_.sill_)
            var_k = np.where(np.isfinite(std), std**2, sill)
            # Var(r - a rhat) with r = rhat + e, Var(e) = var_k, Var(rhat) = sill - var_k
            var = (1.0 - a) ** 2 * np.maximum(sill - var_k, 0.0) + var_k
            return a * res, np.sqrt(var)
        return a * res

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
            ``estimator_.predict(learner_features(X)) + predict_residual(X)``; an array, not a
            Series, because scikit-learn's meta-estimators (``TransformedTargetRegressor``)
            reshape predictions. ``predict_frame(X)`` gives a table indexed like X.
        std : ndarray (n,), only with ``return_std=True``
        """
        check_is_fitted(self, "estimator_")
        if isinstance(X, pd.DataFrame):
            self._locations(X)  # clear errors for missing coordinates / secondary come first
        Xf = self.learner_features(self._validate_X(X, reset=False))
        base, learner_std = learner_prediction(self.estimator_, Xf, len(Xf), return_std)
        if not return_std:
            return base + self.predict_residual(X)
        res, std = self.predict_residual(X, return_std=True)
        if learner_std is not None:
            std = np.sqrt(std**2 + learner_std**2)
        return base + res, std

    def __sklearn_tags__(self):
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        # NaN features are the learner's business (xgboost accepts them, most others do not)
        tags.input_tags.allow_nan = get_tags(self.estimator).input_tags.allow_nan
        return tags
