"""Dissimilarity index (DI) and area of applicability (AOA) of a prediction model."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from .._coords import feature_names_without_coords
from .._progress import progress_disabled
from ._neighbors import as_splits, cv_nearest_distance, workers
from ._space import fit_space, mean_pairwise_distance
from ._stats import aoa_threshold
from ._weights import resolve_weights

__all__ = ["AreaOfApplicability", "dissimilarity_index"]


class AreaOfApplicability(BaseEstimator):
    """Dissimilarity index and area of applicability of a model (Meyer & Pebesma 2021).

    Where the predictors of a new location differ from everything the model was trained on,
    its error is unknown: cross-validation does not speak for it. The dissimilarity index (DI)
    measures that difference and the area of applicability (AOA) is where it stays within what
    cross-validation saw:

    1. predictors are standardised by the training mean and sd and multiplied by their
       importance weight (mean |SHAP| of the model, permutation importance, given, or 1);
    2. ``DI(x) = d(x) / dbar``, where ``d(x)`` is the Euclidean distance in that space from
       ``x`` to the nearest training sample and ``dbar`` the mean distance between training
       samples;
    3. for a training sample the nearest training sample is searched only among the samples
       the model was trained on when this sample was held out (its cross-validation split),
       so the training DI is what cross-validation experienced;
    4. the threshold is the outlier-removed maximum of the training DI (``threshold``); the
       AOA is ``DI <= threshold``.

    Duplicates: a training sample whose identical copy is among the samples it is compared
    with has training DI 0 (as in CAST, which leaves out the sample itself but not its
    copies). ``fit`` warns, naming how many, since they lower the threshold; where the
    threshold would be 0 (e.g. ``pd.concat([X, X])``: nothing but exact copies of the
    training data would be inside) it raises. Drop the duplicates, or give folds that keep
    identical samples together.

    The local point density (LPD, as in CAST's ``aoa(LPD = TRUE)``) of a location is the number
    of training samples whose DI with respect to it is below the threshold.

    Parameters
    ----------
    weights : "auto", "uniform", "shap", "permutation", dict, Series or array, default "auto"
        Importance weights of the predictors. "auto": mean |SHAP| when ``fit`` gets a model,
        else uniform. See :func:`geoagb.applicability._weights.resolve_weights`.
    features : list of str, optional
        Predictors of the DI. Default: the model's ``feature_names_in_`` when a model is
        given, else every numeric column of ``X`` except the geometry and ``coords``.
    threshold : "cast", "whisker" or float, default "cast"
        "cast": ``Q3 + 1.5 IQR`` of the training DI capped at its maximum (CAST >= 0.9);
        "whisker": the largest training DI inside that fence (boxplot upper whisker, the rule
        of Meyer & Pebesma 2021 and CAST 0.7-0.8); a float in (0, 1): that quantile.
    cv : cross-validator or iterable of (train, test), optional
        Splitter (any scikit-learn ``cv`` object: ``KFold``, ``SpatialBlockKFold``, ``KNNDM``,
        ``NNDM``..., or a list of ``(train, test)`` index pairs) whose splits make the
        training DI CV-aware; ``fit(..., folds=...)``
        may give the folds instead. Without either, the nearest *other* sample is used.
    lpd : bool, default False
        Also compute the CV-aware LPD of the training samples (``training_lpd_``).
    max_exact : int, default 5000
        Training sizes up to this get the exact mean pairwise distance; beyond, it is
        estimated on a random subsample of this many samples (see
        :func:`~geoagb.applicability._space.mean_pairwise_distance`).
    chunk_size : int, default 200000
        Rows per KD-tree query batch in :meth:`di` (bounds memory).
    n_jobs : int or None, default None
        Threads of the KD-tree queries (scipy's ``workers``; None = 1, -1 = all cores).
    random_state : None, int, RandomState or Generator
        Seed of the pairwise-distance subsample (n > ``max_exact``) and of permutation
        importance.
    coords : pair of str or None, default None (``("x", "y")``)
        Coordinate columns of ``X``, excluded from the default predictors (and used by ``cv``).
    progress : bool or None, default None
        Progress bar over chunks in :meth:`di`. ``None``: only when stderr is a terminal.

    Attributes
    ----------
    feature_names_in_ : ndarray of str
        Predictors of the DI, in the order of ``weights_``.
    weights_ : pandas.Series
        Weight of each predictor (negative importances set to 0).
    weight_rule_ : str
        "uniform", "shap", "permutation" or "given".
    mean_ , scale_ : ndarray
        Training mean and standard deviation (``ddof=1``) of each predictor.
    mean_distance_ : float
        Mean pairwise distance of the training samples in the weighted space (the DI's unit).
    mean_distance_exact_ : bool
        False when estimated on a subsample.
    training_di_ : ndarray
        CV-aware DI of each training sample (NaN for samples no split holds out).
    threshold_ : float
        AOA threshold on the DI.
    training_lpd_ : ndarray of int
        Only with ``lpd=True``.
    tree_ : scipy.spatial.cKDTree
        KD-tree of the training samples in the weighted, rotated space.

    See Also
    --------
    dissimilarity_index : the DI in one call.
    geoagb.mapping.predict_raster : ``applicability=`` writes DI and AOA bands.

    References
    ----------
    Meyer, H. & Pebesma, E. (2021). Predicting into unknown space? Estimating the area of
    applicability of spatial prediction models. Methods in Ecology and Evolution 12:1620-1633.

    Examples
    --------
    Training samples on the corners of the unit square; the centre is close, (3, 3) is not:

    >>> import numpy as np
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> aoa = AreaOfApplicability(weights="uniform").fit(X)
    >>> round(aoa.threshold_, 4), aoa.di([[0.5, 0.5], [3.0, 3.0]]).round(4).tolist()
    (0.8787, [0.6213, 2.4853])
    >>> aoa.predict([[0.5, 0.5], [3.0, 3.0]]).tolist()
    [True, False]
    """

    def __init__(
        self,
        weights="auto",
        *,
        features=None,
        threshold="cast",
        cv=None,
        lpd=False,
        max_exact=5000,
        chunk_size=200_000,
        n_jobs=None,
        random_state=None,
        coords=None,
        progress=None,
    ):
        self.weights = weights
        self.features = features
        self.threshold = threshold
        self.cv = cv
        self.lpd = lpd
        self.max_exact = max_exact
        self.chunk_size = chunk_size
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.coords = coords
        self.progress = progress

    # -- predictors ------------------------------------------------------------------------------
    def _names(self, X, model) -> list[str]:
        if self.features is not None:
            return [str(f) for f in self.features]
        cols = getattr(model, "feature_names_in_", None) if model is not None else None
        if cols is not None:
            return [str(c) for c in cols]
        if isinstance(X, pd.DataFrame):
            names = feature_names_without_coords(X, self.coords)
            return [
                c
                for c in names
                if pd.api.types.is_numeric_dtype(X[c]) and not pd.api.types.is_bool_dtype(X[c])
            ]
        return [f"x{j}" for j in range(np.shape(X)[1])]

    def _rows(self, X, start=0, stop=None) -> np.ndarray:
        """Predictor values of rows ``start:stop`` of ``X`` as float64 (n, p)."""
        names = list(self.feature_names_in_)
        if isinstance(X, pd.DataFrame):
            missing = [c for c in names if c not in X.columns]
            if missing:
                raise ValueError(
                    f"X lacks the predictor column(s) {missing} of the DI; give the same "
                    f"columns as at fit ({names})."
                )
            return X.iloc[start:stop].loc[:, names].to_numpy(dtype=np.float64)
        A = np.asarray(X[start:stop] if hasattr(X, "__getitem__") else X, dtype=np.float64)
        if A.ndim != 2 or A.shape[1] != len(names):
            raise ValueError(
                f"X has shape {A.shape}; the DI was fitted on {len(names)} predictors "
                f"{names}: give an (n, {len(names)}) array or a DataFrame with these columns."
            )
        return A

    # -- fit -----------------------------------------------------------------------------------
    def fit(self, X, y=None, model=None, folds=None):
        """Learn the weighted predictor space, the training DI and the threshold.

        Parameters
        ----------
        X : DataFrame, GeoDataFrame or array (n, p)
            Training samples (the table the model was fitted on; coordinates may travel with it,
            as ``cv`` needs them).
        y : array, optional
            Target; used by ``weights="permutation"`` and passed to ``cv.split``.
        model : fitted estimator, optional
            Source of the importance weights and of the default predictors.
        folds : fold labels or iterable of (train, test), optional
            Cross-validation splits of the training samples (instead of ``cv``).

        Returns
        -------
        self
        """
        if folds is not None and self.cv is not None:
            raise ValueError("give either cv= (in the constructor) or folds= (in fit), not both.")
        if not isinstance(self.max_exact, numbers.Integral) or self.max_exact < 2:
            raise ValueError(f"max_exact={self.max_exact!r} must be an integer >= 2.")
        if not isinstance(self.chunk_size, numbers.Integral) or self.chunk_size < 1:
            raise ValueError(f"chunk_size={self.chunk_size!r} must be a positive integer.")
        workers(self.n_jobs)
        aoa_threshold([0.0], self.threshold)  # an invalid rule fails before any work
        names = self._names(X, model)
        if not names:
            raise ValueError(
                "no predictor to compute the DI from: X has no numeric feature column "
                "besides the coordinates; pass features=[...]."
            )
        self.feature_names_in_ = np.asarray(names, dtype=object)
        self.n_features_in_ = len(names)
        A = self._rows(X)
        n = A.shape[0]
        bad = ~np.all(np.isfinite(A), axis=1)
        if bad.any():
            raise ValueError(
                f"{int(bad.sum())} training sample(s) have NaN or infinite predictor values "
                f"(first rows: {np.flatnonzero(bad)[:5].tolist()}); drop them before fitting, "
                f"e.g. X = X.dropna(subset={names[:3]}...)."
            )
        if n < 2:
            raise ValueError(f"the DI needs at least two training samples; got {n}.")
        w, rule = resolve_weights(
            self.weights, names, model=model, X=X, y=y, random_state=self.random_state
        )
        space, Z = fit_space(A, w, names)
        tree = cKDTree(Z, leafsize=32)  # 32: ~10 % faster queries than 16 in 10-20 dims (bench_aoa)
        dbar, exact = mean_pairwise_distance(Z, self.max_exact, self.random_state)
        if folds is not None:
            splits = as_splits(folds, n)
        elif self.cv is not None:
            cv = self.cv
            splits = as_splits(list(cv.split(X, y)) if hasattr(cv, "split") else cv, n)
        else:
            splits = None
        d = cv_nearest_distance(tree, Z, splits, self.n_jobs)
        tdi = d / dbar
        never = int(np.isnan(tdi).sum())
        if never:
            warnings.warn(
                f"{never} training sample(s) are held out by no split; their DI is NaN and "
                "does not enter the threshold.",
                UserWarning,
                stacklevel=2,
            )
        self.weights_ = pd.Series(w, index=names, name="weight")
        self.weight_rule_ = rule
        self.mean_, self.scale_ = space.mean, space.scale
        self.space_ = space
        self.tree_ = tree
        self.mean_distance_ = float(dbar)
        self.mean_distance_exact_ = bool(exact)
        threshold = aoa_threshold(tdi, self.threshold)
        _check_duplicates(
            A[:, space.used], d, [names[j] for j in space.used], threshold, _is_frame(X)
        )
        self.training_di_ = tdi
        self.threshold_ = threshold
        if self.lpd:
            self.training_lpd_ = self._training_lpd(Z, splits)
        return self

    def _training_lpd(self, Z, splits) -> np.ndarray:
        r = np.nextafter(self.threshold_ * self.mean_distance_, 0.0)
        n = Z.shape[0]
        if splits is None:
            return (
                self.tree_.query_ball_point(Z, r, return_length=True, workers=workers(self.n_jobs))
                - 1
            )
        out = np.full(n, -1, dtype=np.int64)
        for train, test in splits:
            allowed = np.zeros(n, dtype=bool)
            allowed[train] = True
            allowed[test] = False
            for i, near in zip(
                test, self.tree_.query_ball_point(Z[test], r, workers=workers(self.n_jobs))
            ):
                out[i] = int(allowed[np.asarray(near, dtype=np.int64)].sum())
        return out

    # -- new data ------------------------------------------------------------------------------
    def _chunks(self, X):
        n = len(X) if hasattr(X, "__len__") else np.shape(X)[0]
        step = int(self.chunk_size)
        bar = tqdm(
            range(0, n, step),
            desc="DI",
            unit="chunk",
            leave=False,
            disable=progress_disabled(self.progress) or n <= step,
        )
        for s in bar:
            yield s, self.space_.transform(self._rows(X, s, s + step))

    def distance(self, X) -> np.ndarray:
        """Distance (weighted, standardised units) from each row of ``X`` to the nearest training
        sample; NaN where a predictor is missing.
        """
        check_is_fitted(self, "tree_")
        if not isinstance(X, pd.DataFrame):
            X = np.asarray(X, dtype=np.float64)
            if X.ndim == 1:
                X = X[None, :]
        n = len(X)
        out = np.full(n, np.nan)
        w = workers(self.n_jobs)
        for s, z in self._chunks(X):
            ok = np.all(np.isfinite(z), axis=1)
            if ok.all():
                out[s : s + len(z)] = self.tree_.query(z, k=1, workers=w)[0]
            elif ok.any():
                out[s : s + len(z)][ok] = self.tree_.query(z[ok], k=1, workers=w)[0]
        return out

    def di(self, X) -> np.ndarray:
        """Dissimilarity index of each row of ``X`` (NaN where a predictor is missing)."""
        return self.distance(X) / self.mean_distance_

    def predict(self, X) -> np.ndarray:
        """Inside the area of applicability (``DI <= threshold_``); False where DI is NaN."""
        with np.errstate(invalid="ignore"):
            return self.di(X) <= self.threshold_

    def local_point_density(self, X) -> np.ndarray:
        """Number of training samples whose DI to each row of ``X`` is below ``threshold_``
        (CAST's LPD); -1 where a predictor is missing.
        """
        check_is_fitted(self, "tree_")
        if not isinstance(X, pd.DataFrame):
            X = np.asarray(X, dtype=np.float64)
            if X.ndim == 1:
                X = X[None, :]
        r = np.nextafter(self.threshold_ * self.mean_distance_, 0.0)
        out = np.full(len(X), -1, dtype=np.int64)
        for s, z in self._chunks(X):
            ok = np.all(np.isfinite(z), axis=1)
            if ok.any():
                out[s : s + len(z)][ok] = self.tree_.query_ball_point(
                    z[ok], r, return_length=True, workers=workers(self.n_jobs)
                )
        return out

    def summary(self) -> pd.Series:
        """Threshold, mean distance, training DI quantiles and weight rule as a Series."""
        check_is_fitted(self, "tree_")
        q = np.nanquantile(self.training_di_, [0.5, 0.75, 1.0])
        inside = float(np.nanmean(self.training_di_ <= self.threshold_))
        return pd.Series(
            {
                "n_train": len(self.training_di_),
                "n_features": self.n_features_in_,
                "weights": self.weight_rule_,
                "mean_distance": self.mean_distance_,
                "mean_distance_exact": self.mean_distance_exact_,
                "threshold": self.threshold_,
                "training_di_median": q[0],
                "training_di_q75": q[1],
                "training_di_max": q[2],
                "training_inside_share": inside,
            }
        )


def _is_frame(X) -> bool:
    return isinstance(X, pd.DataFrame)


def _check_duplicates(A, d, used, threshold, frame) -> None:
    """Refuse a threshold of 0, and warn about zero training DI, caused by duplicates.

    A training sample with an identical copy (same values of the predictors of weight > 0,
    ``used``) among the samples it is compared with has distance ``d`` = 0 and training DI 0,
    as in CAST (``trainDI`` masks the sample itself, not its copies), which drags the
    threshold down; when the threshold itself is 0 the AOA would hold nothing but exact
    copies of the training data, so fitting stops.
    """
    zero = d == 0.0  # NaN (never held out) is not 0
    if not zero.any():
        return
    n_dup = A.shape[0] - np.unique(A, axis=0).shape[0]
    held = int(np.count_nonzero(~np.isnan(d)))
    what = (
        f"{int(zero.sum())} of {held} training samples have an identical duplicate "
        f"({n_dup} duplicate row(s) in X, same values of {used}) among the samples they "
        "are compared with, so their training DI is 0"
    )
    drop = f"X = X.drop_duplicates(subset={used})" if frame else "X = np.unique(X, axis=0)"
    fix = (
        f"drop the duplicates first ({drop}), or give cv / folds that keep identical "
        "samples in one fold (e.g. GroupKFold on a plot id)"
    )
    if threshold == 0.0:
        raise ValueError(
            f"the AOA threshold would be 0: {what}, and the AOA would hold only exact copies "
            f"of the training data; {fix}."
        )
    warnings.warn(
        f"{what}, which lowers the threshold (now {threshold:.4g}); {fix}.",
        UserWarning,
        stacklevel=3,
    )


def dissimilarity_index(
    X_train, X, weights="uniform", *, folds=None, features=None, model=None, y=None
) -> np.ndarray:
    """Dissimilarity index (Meyer & Pebesma 2021) of the rows of ``X`` with respect to ``X_train``.

    Shorthand for ``AreaOfApplicability(weights, features).fit(X_train, y, model, folds).di(X)``.

    Parameters
    ----------
    X_train : DataFrame or array (n, p)
        Training predictors.
    X : DataFrame or array (m, p)
        New locations.
    weights : see :class:`AreaOfApplicability`, default "uniform"
    folds, features, model, y : optional
        As in :class:`AreaOfApplicability` and its ``fit``.

    Returns
    -------
    ndarray (m,)
        DI: distance to the nearest training sample divided by the mean distance between
        training samples, in the standardised, weighted predictor space.

    Examples
    --------
    >>> import numpy as np
    >>> Xt = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> dissimilarity_index(Xt, [[1.0, 1.0], [0.5, 0.5]]).round(4).tolist()
    [0.0, 0.6213]
    """
    aoa = AreaOfApplicability(weights=weights, features=features).fit(
        X_train, y, model=model, folds=folds
    )
    return aoa.di(X)
