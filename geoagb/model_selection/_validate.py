"""spatial_cross_validate and block_size_sensitivity: per-fold train AND validation metrics."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.model_selection import KFold
from tqdm.auto import tqdm

from .._coords import coords_param, drop_coords, resolve_coord_names
from .._progress import progress_disabled
from .._random import seed_int
from .._threads import resolve_threads, thread_budget, with_threads
from ..base import handles_coords
from ..kriging import VariogramError
from ..metrics import agb_scores
from ._plot import plot_block_size_sensitivity, plot_predicted_observed
from ._split import SpatialBlockKFold, as_splitter

__all__ = ["spatial_cross_validate", "SpatialCVResult", "block_size_sensitivity", "BlockSizeResult"]

_SUMMARY_METRICS = ("r", "r2", "rmse", "mae", "overall_bias")


def _take(X, idx):
    if hasattr(X, "iloc"):
        return X.iloc[idx]
    return X[idx]


def _with_coords(obj, names):
    """``obj`` with its ``coords`` parameter set to ``names`` where it was left at None."""
    import copy

    if obj is None or not hasattr(obj, "get_params"):
        if obj is not None and getattr(obj, "coords", "absent") is None:
            obj = copy.copy(obj)
            obj.coords = names
        return obj
    params = obj.get_params(deep=True)
    keys = [k for k in params if (k == "coords" or k.endswith("__coords")) and params[k] is None]
    # splitters inside a meta-estimator (GridSearchCV(cv=SpatialBlockKFold())) are no estimators:
    # get_params does not reach their coords, so they are copied and named here
    inner = {
        k: v
        for k, v in params.items()
        if k not in keys
        and hasattr(v, "split")
        and not hasattr(v, "fit")
        and getattr(v, "coords", "absent") is None
    }
    if not keys and not inner:
        return obj
    obj = clone(obj) if hasattr(obj, "fit") else copy.deepcopy(obj)
    new = {k: names for k in keys}
    for k, v in inner.items():
        v = copy.deepcopy(v)
        v.coords = names
        new[k] = v
    return obj.set_params(**new)


def prepare_spatial_fit(estimator, X, cv=None, coords=None, coords_as_features=False):
    """Resolve the coordinate names once and return ``(estimator, cv, X_fit, names)``.

    The names come from the function's ``coords``, the splitter's ``coords`` or the
    coordinate-aware estimator's ``coords`` (they must agree; see
    :func:`geoagb._coords.resolve_coord_names`) and are handed to the splitter and the estimator
    where those left them at None. ``X_fit`` is ``X`` for coordinate-aware estimators (or with
    ``coords_as_features=True``) and ``X`` without coordinate columns and geometry otherwise.
    """
    aware = handles_coords(estimator)
    names = resolve_coord_names(
        X,
        function=coords,
        cv=coords_param(cv),
        estimator=coords_param(estimator) if aware else None,
    )
    cv = _with_coords(cv, names)
    if aware:
        estimator = _with_coords(estimator, names)
    X_fit = X if (coords_as_features or aware) else drop_coords(X, names)
    return estimator, cv, X_fit, names


@dataclass
class SpatialCVResult:
    """Result of :func:`spatial_cross_validate`.

    Attributes
    ----------
    folds : DataFrame
        One row per fold and set (``"train"``, ``"validation"``): n and every metric of
        :func:`geoagb.metrics.agb_scores`.
    oof_predictions : ndarray
        Out-of-fold prediction of every sample (NaN for samples never in a test fold).
    y : ndarray
        Observed values.
    fold : ndarray
        Test fold of every sample (-1 if never tested).
    estimators : list
        Fitted estimators, when ``return_estimators=True``.
    """

    folds: pd.DataFrame
    oof_predictions: np.ndarray
    y: np.ndarray
    fold: np.ndarray
    estimators: list = field(default_factory=list)
    label: str = ""

    def summary(self, metrics=_SUMMARY_METRICS, fmt: str | None = None) -> pd.DataFrame:
        """Mean and sd (ddof=1) over folds, rows train / validation (the Shenzhen urban-carbon
        study Table 2 layout).

        Numeric by default: columns ``<metric>_mean`` and ``<metric>_sd``. Give ``fmt`` (e.g.
        ``"{:.3f} ± {:.3f}"``) for a printable table of strings, one column per metric.
        """
        g = self.folds.groupby("set", sort=False)[list(metrics)]
        mean, sd = g.mean(), g.std(ddof=1)
        if fmt is None:
            return pd.concat([mean.add_suffix("_mean"), sd.add_suffix("_sd")], axis=1)
        return pd.DataFrame(
            {m: [fmt.format(a, b) for a, b in zip(mean[m], sd[m])] for m in metrics},
            index=mean.index,
        )

    def oof_scores(self) -> dict:
        """Metrics of the pooled out-of-fold predictions."""
        ok = np.isfinite(self.oof_predictions)
        return agb_scores(self.y[ok], self.oof_predictions[ok])

    def plot(self, ax=None):
        """Predicted (out-of-fold) against observed, coloured by fold; returns the Figure."""
        return plot_predicted_observed(
            self.y, self.oof_predictions, groups=self.fold, ax=ax, title=self.label or None
        )


def spatial_cross_validate(
    estimator,
    X,
    y,
    cv,
    *,
    coords=None,
    coords_as_features=False,
    return_estimators=False,
    progress=None,
    label="",
    random_state=None,
    n_jobs=None,
) -> SpatialCVResult:
    """Cross-validate ``estimator`` and report training AND validation metrics per fold.

    Parameters
    ----------
    estimator : scikit-learn regressor
        Cloned for every fold.
    X : GeoDataFrame, DataFrame, PatchSet or array
        Samples with their coordinates (coordinates travel with X). Coordinate columns and
        geometry are dropped before fitting unless ``coords_as_features=True`` or the estimator
        reads coordinates itself (:func:`geoagb.base.uses_coords`: ResidualKrigingRegressor,
        KrigingRegressor, patch models).
    y : array-like of shape (n,)
        Target, e.g. AGB in Mg/ha.
    cv : splitter, int or iterable of (train, test)
        A geoagb splitter (e.g. :class:`SpatialBlockKFold`), any scikit-learn splitter, an
        int for random (shuffled) k-fold seeded with ``random_state``, or an iterable of
        ``(train, test)`` index pairs such as ``list(KFold(5).split(X))`` (read once).
    coords : pair of str or None, default None
        Coordinate columns of a DataFrame ``X``. Name them once: here, on the splitter or on a
        coordinate-aware estimator (``coords=``); None everywhere means ``("x", "y")`` (or a
        GeoDataFrame's geometry). Different names in two places raise an error.
    coords_as_features : bool, default False
        Give a plain learner the coordinate columns as features too.
    return_estimators : bool, default False
    progress : bool or None, default None
        Show a progress bar over folds. ``None``: only when stderr is a terminal.
    label : str
        Name of the run in progress bars and figure titles.
    random_state : int, RandomState, Generator or None, default None
        Seed of the random k-fold used when ``cv`` is an int.
    n_jobs : int or None, default None
        Thread budget (the policy of ``geoagb._threads``): None: ``OMP_NUM_THREADS``, 1 in a Dask
        worker, else half the cores; -1: every core. Folds run one after another; a learner
        whose ``n_jobs``/``nthread`` is None or -1 gets the budget (a positive value is kept),
        and BLAS/OpenMP pools are limited to it.

    Returns
    -------
    SpatialCVResult

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> from geoagb.datasets import make_plots
    >>> from geoagb.model_selection import SpatialBlockKFold
    >>> plots = make_plots(300, random_state=0)
    >>> X, y = plots.drop(columns="agb"), plots["agb"]
    >>> res = spatial_cross_validate(LinearRegression(), X, y,
    ...                              cv=SpatialBlockKFold(5, block_size=10_000, random_state=0),
    ...                              progress=False)
    >>> s = res.summary()
    >>> s.index.tolist(), bool(s.loc["train", "r2_mean"] >= s.loc["validation", "r2_mean"])
    (['train', 'validation'], True)
    """
    cv = as_splitter(cv, random_state)
    yv = np.asarray(y, dtype=float).ravel()
    if len(yv) != len(X):
        raise ValueError(f"X has {len(X)} samples but y has {len(yv)}.")
    estimator, cv, X_fit, _ = prepare_spatial_fit(estimator, X, cv, coords, coords_as_features)
    threads = resolve_threads(n_jobs)
    estimator = with_threads(estimator, threads)
    splits = list(cv.split(X, yv))
    oof = np.full(len(yv), np.nan)
    fold = np.full(len(yv), -1, dtype=np.int64)
    rows, fitted = [], []
    bar = tqdm(splits, desc=label or "folds", disable=progress_disabled(progress), leave=False)
    for k, (train, test) in enumerate(bar):
        with thread_budget(threads):
            est = clone(estimator).fit(_take(X_fit, train), yv[train])
            pred_tr = np.asarray(est.predict(_take(X_fit, train)), dtype=float).ravel()
            pred_te = np.asarray(est.predict(_take(X_fit, test)), dtype=float).ravel()
        oof[test] = pred_te
        fold[test] = k
        rows.append({"fold": k, "set": "train", "n": len(train), **agb_scores(yv[train], pred_tr)})
        rows.append(
            {"fold": k, "set": "validation", "n": len(test), **agb_scores(yv[test], pred_te)}
        )
        if return_estimators:
            fitted.append(est)
    return SpatialCVResult(pd.DataFrame(rows), oof, yv, fold, fitted, label)


@dataclass
class BlockSizeResult:
    """Result of :func:`block_size_sensitivity`: one :class:`SpatialCVResult` per block size."""

    results: dict

    def table(self, metrics=("r2", "rmse", "mae")) -> pd.DataFrame:
        """Mean and sd of train and validation metrics per block size (numeric columns)."""
        frames = []
        for key, res in self.results.items():
            s = res.summary(metrics, fmt=None)
            flat = {f"{st}_{c}": s.loc[st, c] for st in s.index for c in s.columns}
            frames.append(pd.Series(flat, name=key))
        out = pd.DataFrame(frames)
        out.index.name = "block_size"
        return out

    def plot(self, metric: str = "r2", ax=None):
        """Validation and training ``metric`` (mean +- sd) against block size, the Shenzhen
        urban-carbon study Fig. 3.
        """
        return plot_block_size_sensitivity(self.table((metric,)), metric=metric, ax=ax)


def block_size_sensitivity(
    estimator,
    X,
    y,
    block_sizes=(2_000, 5_000, 10_000),
    *,
    n_splits=10,
    random_state=None,
    origin="upper_left",
    coords=None,
    include_random=True,
    progress=None,
) -> BlockSizeResult:
    """The same model under spatial block CV at several block sizes (metres), plus random
    k-fold for contrast (``include_random``, keyed ``"random"``).

    The study design of the Shenzhen urban vegetation carbon study (Remote Sensing, 2026; see
    the References page): 10 folds of 2, 5 and 10 km blocks.

    Parameters
    ----------
    estimator, X, y, coords, progress
        As in :func:`spatial_cross_validate`.
    block_sizes : sequence of float, default (2000, 5000, 10000)
        Block sides, metres.
    n_splits : int, default 10
    random_state : int, RandomState, Generator or None, default None
        Seed of the block-to-fold assignment (the same for every block size).
    origin : "upper_left" or (x0, y0)
        Block grid origin.
    include_random : bool, default True

    Returns
    -------
    BlockSizeResult
        ``.table()`` and ``.plot()``; ``.skipped`` maps each block size left out to the reason.
        A block size whose folds leave a training set the estimator's variogram refuses
        (:class:`geoagb.kriging.VariogramError`, e.g. under 10 distinct locations) is left
        out of ``.results`` with a warning, instead of aborting the other block sizes.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> from geoagb.datasets import make_plots
    >>> plots = make_plots(300, random_state=0)
    >>> res = block_size_sensitivity(LinearRegression(), plots.drop(columns="agb"), plots["agb"],
    ...                              block_sizes=[5_000, 10_000], n_splits=4, random_state=0,
    ...                              progress=False)
    >>> list(res.results)
    [5000, 10000, 'random']
    """
    random_state = seed_int(random_state)  # one seed, reused for every block size

    results, skipped = {}, {}
    for bs in tqdm(
        block_sizes, desc="block sizes", disable=progress_disabled(progress), leave=False
    ):
        cv = SpatialBlockKFold(
            n_splits=n_splits,
            block_size=bs,
            origin=origin,
            random_state=random_state,
            coords=coords,
        )
        try:
            results[bs] = spatial_cross_validate(
                estimator, X, y, cv, coords=coords, progress=progress, label=f"{bs:g} m blocks"
            )
        except VariogramError as err:
            skipped[bs] = str(err).splitlines()[0]
            warnings.warn(
                f"block size {bs:g} m skipped: a training set of its folds gives no "
                f"variogram ({skipped[bs]}); use other block sizes or fewer folds.",
                UserWarning,
                stacklevel=2,
            )
    if include_random:
        results["random"] = spatial_cross_validate(
            estimator,
            X,
            y,
            KFold(n_splits, shuffle=True, random_state=random_state),
            coords=coords,
            progress=progress,
            label="random k-fold",
        )
    out = BlockSizeResult(results)
    out.skipped = skipped
    return out
