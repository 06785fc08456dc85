"""The uncertainty band of a bundle's map, for every model.

Where the model gives its own spread (residual kriging: the kriging standard deviation; random
forest: the standard deviation of the per-tree predictions; a ``predict(..., return_std=True)``)
the map's ``<target>_std`` band is that spread. Otherwise (XGBoost) it is a *local error model*
built from what the bundle stores: the spatial-CV out-of-fold residuals of the plots,
``r_i = y_i - oof_spatial_i`` (``plots.csv``), averaged in absolute value over the ``k``
plots nearest in standardised feature space,

    sigma(x) = sqrt(pi / 2) * mean_{j in kNN(x)} |r_j|,     k = max(10, n // 10) (<= n),

the standard deviation of a zero-mean Gaussian residual whose mean absolute value is
``E|r| = sigma * sqrt(2 / pi)``. It is an error model of held-out plots (block-wise spatial
CV), so it speaks for the error of a cell like the plots near it in feature space; it is not
a prediction interval for cells unlike any plot (see the area of applicability). Its
calibration, :func:`error_band_coverage` (the share of held-out plots within +-1.96 sigma from
an error model of the other folds), is written to the band's tags.

A band that is the same everywhere (residual kriging that decided no correction: the residual
sill everywhere) is written with a note in its tags and a warning, never silently.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import rasterio
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from ..mapping import uncertainty_kind

__all__ = [
    "SQRT_HALF_PI",
    "ERROR_MODEL_METHOD",
    "ErrorBandRegressor",
    "error_neighbours",
    "local_error_model",
    "error_band_coverage",
    "bundle_error_band",
    "band_method",
    "tag_uncertainty_band",
]

#: sigma / E|r| of a zero-mean Gaussian residual.
SQRT_HALF_PI = math.sqrt(math.pi / 2.0)
ERROR_MODEL_METHOD = "sd of the out-of-fold residual, local error model"


def error_neighbours(n: int) -> int:
    """Plots averaged per cell by the local error model: ``max(10, n // 10)``, at most ``n``."""
    return int(min(n, max(10, n // 10)))


def local_error_model(X, abs_residual, k: int | None = None):
    """Nearest-neighbour model of ``|r|`` on standardised features (its ``predict`` is ``E|r|(x)``).

    Parameters
    ----------
    X : DataFrame or array (n, F)
        Features of the plots.
    abs_residual : array (n,)
        Absolute out-of-fold residuals of the plots.
    k : int, optional
        Neighbours; default :func:`error_neighbours`.

    Returns
    -------
    sklearn Pipeline
        ``StandardScaler`` then ``KNeighborsRegressor(k)`` (uniform weights), fitted.
    """
    a = np.abs(np.asarray(abs_residual, dtype=float).ravel())
    k = error_neighbours(len(a)) if k is None else int(k)
    return make_pipeline(StandardScaler(), KNeighborsRegressor(n_neighbors=k)).fit(X, a)


def error_band_coverage(X, residual, folds, k: int | None = None) -> float:
    """Share of held-out plots with ``|r| <= 1.96 sigma``, sigma from the other folds' plots.

    Near 0.95 for a calibrated Gaussian band.
    """
    r = np.asarray(residual, dtype=float).ravel()
    folds = np.asarray(folds)
    X = pd.DataFrame(X).reset_index(drop=True)
    inside = np.zeros(len(r), dtype=bool)
    for f in np.unique(folds):
        test = folds == f
        if test.all():
            return float("nan")
        train = ~test
        kk = min(error_neighbours(int(train.sum())) if k is None else int(k), int(train.sum()))
        model = local_error_model(X[train], np.abs(r[train]), kk)
        sigma = SQRT_HALF_PI * model.predict(X[test])
        inside[test] = np.abs(r[test]) <= 1.96 * sigma
    return float(inside.mean())


class ErrorBandRegressor(RegressorMixin, BaseEstimator):
    """A fitted model plus a local error model: ``predict(X, return_std=True)`` gives the
    model's prediction and ``sqrt(pi/2)`` x the error model's ``E|r|`` (see the module notes).

    Parameters
    ----------
    model : fitted estimator
        Predicts from the columns ``columns``.
    error_model : fitted estimator
        Predicts ``E|r|`` from the columns ``error_columns``.
    columns, error_columns : list of str
    """

    def __init__(self, model, error_model, columns, error_columns):
        self.model = model
        self.error_model = error_model
        self.columns = list(columns)
        self.feature_names_in_ = np.asarray(self.columns, dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.error_columns = list(error_columns)

    def fit(self, X, y=None):
        raise TypeError(
            "ErrorBandRegressor wraps an already fitted model and error model; refit the bundle "
            "with geoagb fit instead of calling fit on the wrapper."
        )

    def predict(self, X, return_std=False):
        """The model's prediction (and, with ``return_std``, the local error model's sigma)."""
        X = pd.DataFrame(X, columns=list(self.feature_names_in_))
        mean = np.asarray(self.model.predict(X), dtype=float).ravel()
        if not return_std:
            return mean
        return mean, SQRT_HALF_PI * np.asarray(self.error_model.predict(X[self.error_columns]))


def bundle_error_band(bundle):
    """The bundle's model with a local error model, and the band's tags; None when the model
    has its own spread or the bundle's plots lack the out-of-fold predictions.
    """
    p = bundle.plots
    if uncertainty_kind(bundle.model) is not None or "oof_spatial" not in p:
        return None
    ok = np.isfinite(p[bundle.feature_names + [bundle.target, "oof_spatial"]]).all(axis=1)
    p = p[ok.to_numpy()]  # XGBoost takes plots with a missing feature; the error model does not
    if len(p) < 2:
        return None
    r = (p[bundle.target] - p["oof_spatial"]).to_numpy(float)
    X = p[bundle.feature_names]
    model = local_error_model(X, np.abs(r))
    k = error_neighbours(len(r))
    cover = error_band_coverage(X, r, p["fold_spatial"]) if "fold_spatial" in p else np.nan
    tags = {
        "geoagb_std_method": f"{ERROR_MODEL_METHOD} (sqrt(pi/2) x mean |r| of the {k} plots "
        "nearest in standardised feature space)",
        "geoagb_std_coverage95": f"{cover:.3f}",
    }
    wrapped = ErrorBandRegressor(bundle.model, model, bundle.model_columns, bundle.feature_names)
    return wrapped, tags


def band_method(model, kriging: dict | None = None) -> str:
    """One line naming how the std band of ``model``'s map is obtained."""
    kind = uncertainty_kind(model)
    if kind == "kriging":
        if kriging and kriging.get("method") == "none":
            return "kriging std (constant: residual kriging decided no correction)"
        return "kriging standard deviation (with the learner's own std where it has one)"
    if kind == "forest":
        return "standard deviation of the per-tree predictions"
    if kind == "native":
        return "the model's own predictive standard deviation"
    return ERROR_MODEL_METHOD


def _band_range(ds, band: int) -> tuple[float, float]:
    lo, hi = np.inf, -np.inf
    for _, win in ds.block_windows(band):
        a = ds.read(band, window=win)
        a = a[np.isfinite(a)]
        if a.size:
            lo, hi = min(lo, float(a.min())), max(hi, float(a.max()))
    return lo, hi


def tag_uncertainty_band(path, method: str, extra: dict | None = None, estimator=None):
    """Write the std band's method (and ``extra`` tags) into map ``path``; note and warn when
    the band is constant. Returns the note, or None.

    ``estimator``: the model's class name for the ``geoagb_estimator`` tag (the map was written
    through an :class:`ErrorBandRegressor`).
    """
    with rasterio.open(path, "r+") as ds:
        if estimator is not None:
            ds.update_tags(geoagb_estimator=str(estimator))
        std = [i for i, d in enumerate(ds.descriptions, 1) if (d or "").endswith("_std")]
        if not std:
            return None
        band = std[0]
        tags = {"geoagb_std_method": method, **(extra or {})}
        lo, hi = _band_range(ds, band)
        note = None
        if np.isfinite(lo) and hi - lo <= 1e-6 * max(1.0, abs(hi)):
            note = (
                f"constant standard deviation ({hi:.4g} everywhere); it says nothing about where "
                "the map is more or less certain"
            )
            tags["geoagb_std_note"] = note
        ds.update_tags(band, **tags)
    if note:
        warnings.warn(f"{path}: {note} ({method}).", UserWarning, stacklevel=3)
    return note
