"""Window task for tabular learners (and residual kriging): features per cell -> AGB per cell.

For each output window the feature source computes the (F, h, w) features with the recipe used
at the plots; valid cells (all features finite, inside the mask) become the rows of a design
matrix with the columns the estimator was fitted on (cell-centre coordinates are available as
``x`` and ``y``); the estimator predicts them.

Uncertainty (the ``agb_std`` band) comes from, in order:

* residual kriging (duck-typed: ``predict_residual`` and ``learner_features``): the kriging
  standard deviation of the residual (combined in quadrature with the learner's own std when it
  has one); the kriged residual is also written as a ``residual`` band;
* an estimator whose ``predict`` takes ``return_std`` (Gaussian process, geoagb models);
* a scikit-learn random forest / extra-trees regressor (or a Pipeline ending in one): the standard
  deviation of the per-tree predictions, a common spread measure for forests;
* otherwise none: the map has no std band and a warning says so.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pandas as pd

from .. import kriging
from ..applicability import (
    APPLICABILITY_BANDS,
    APPLICABILITY_UNITS,
    applicability_bands,
    check_applicability,
)
from ..raster import OutputGrid
from ._masks import mask_window

__all__ = ["TabularTask", "uncertainty_kind", "is_residual_kriging"]


def is_residual_kriging(estimator) -> bool:
    """True for residual-kriging meta-estimators (``predict_residual`` + ``learner_features``)."""
    return hasattr(estimator, "predict_residual") and hasattr(estimator, "learner_features")


def _check_names(names) -> list[str]:
    if isinstance(names, str):
        raise TypeError(f"feature_names={names!r} must be a list of names, e.g. [{names!r}].")
    names = [str(n) for n in names]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"feature_names lists {dup} more than once; give each fitted column once.")
    return names


def _n_features_in(est):
    n_in = getattr(est, "n_features_in_", None)
    if n_in is None and hasattr(est, "steps"):
        n_in = getattr(est.steps[0][1], "n_features_in_", None)
    return n_in


def _final_step(estimator):
    from sklearn.pipeline import Pipeline

    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator


def _is_forest(est) -> bool:
    from sklearn.ensemble._forest import ForestRegressor

    return isinstance(est, ForestRegressor)


def uncertainty_kind(estimator) -> str | None:
    """How the map's std band is obtained: "kriging", "native", "forest" or None."""
    if is_residual_kriging(estimator):
        return "kriging"
    last = _final_step(estimator)
    try:
        params = inspect.signature(last.predict).parameters
    except (TypeError, ValueError):  # pragma: no cover - exotic callables
        params = {}
    if "return_std" in params:
        return "native"
    if _is_forest(last):
        return "forest"
    return None


def _forest_predict_std(estimator, X):
    from sklearn.pipeline import Pipeline

    mean = estimator.predict(X)
    if isinstance(estimator, Pipeline):
        Xt = estimator[:-1].transform(X)
        forest = estimator.steps[-1][1]
    else:
        Xt, forest = X, estimator
    Xt = np.asarray(Xt, dtype=np.float32)  # what the trees of a fitted forest were grown on
    per_tree = np.stack([t.predict(Xt) for t in forest.estimators_])
    if per_tree.ndim == 3:  # multi-output forest: map the first output
        per_tree = per_tree[..., 0]
    return mean, per_tree.std(axis=0)


class TabularTask:
    """Read features for an output window and predict AGB (mean, std[, residual]) per cell.

    Parameters
    ----------
    estimator : fitted regressor
    source : RasterFeatures-like (``feature_names``, ``grid``, ``on_window``)
    grid : OutputGrid
    mask_items : list
        Normalised masks (see :mod:`geoagb.mapping._masks`).
    return_std : bool
        Write an uncertainty band when the estimator can give one.
    nodata : float
        Output value for cells not mapped.
    feature_names : sequence of str, optional
        Names of the columns of an estimator fitted on a bare array, in order (see
        :func:`geoagb.mapping.predict_raster`).
    """

    def __init__(
        self,
        estimator,
        source,
        grid: OutputGrid,
        mask_items,
        return_std=True,
        nodata=np.nan,
        feature_names=None,
        applicability=None,
    ):
        self.estimator = estimator
        self.fitted_names = None if feature_names is None else _check_names(feature_names)
        self.source = source
        self.grid = grid
        self.mask_items = mask_items
        self.nodata = nodata
        self._plan_columns()
        self.kind = uncertainty_kind(estimator) if return_std else None
        if return_std and self.kind is None:
            warnings.warn(
                f"{type(estimator).__name__} gives no uncertainty (its predict has no return_std "
                "and it is not a random forest or residual kriging); the map has no agb_std band. "
                "Pass return_std=False to silence this, or use e.g. RandomForestRegressor or "
                "geoagb.kriging.ResidualKrigingRegressor for a std band.",
                UserWarning,
                stacklevel=4,
            )
        self.band_names = ["agb"] + (["agb_std"] if self.kind else [])
        if is_residual_kriging(estimator) and self.kind:
            self.band_names.append("residual")
        self.units = ["Mg/ha"] * len(self.band_names)
        self.applicability = applicability
        if applicability is not None:  # DI and AOA bands, see geoagb.applicability
            check_applicability(applicability, self.columns)
            self.band_names += list(APPLICABILITY_BANDS)
            self.units += list(APPLICABILITY_UNITS)

    # design matrix ---------------------------------------------------------------------------
    def _plan_columns(self) -> None:
        est = self.estimator
        feats = list(self.source.feature_names)
        from .._coords import coords_param

        coords = coords_param(est) or ("x", "y")
        if not (
            isinstance(coords, (tuple, list))
            and len(coords) == 2
            and all(isinstance(c, str) for c in coords)
        ):
            coords = ("x", "y")
        self.coord_names = tuple(coords)
        names_in = getattr(est, "feature_names_in_", None)
        available = feats + [c for c in self.coord_names if c not in feats]
        given = self.fitted_names
        named_fit = names_in is not None
        if given is not None and names_in is not None and [str(c) for c in names_in] != given:
            raise ValueError(
                f"feature_names={given} differs from the columns {type(est).__name__} was fitted "
                f"on ({[str(c) for c in names_in]}); drop feature_names (the fitted names are used) "
                "or pass exactly those names."
            )
        if given is not None and names_in is None:
            n_in = _n_features_in(est)
            if n_in is not None and int(n_in) != len(given):
                raise ValueError(
                    f"feature_names has {len(given)} names ({given}) but {type(est).__name__} was "
                    f"fitted on {n_in} columns; give one name per fitted column, in order."
                )
            names_in = given
        if names_in is not None:
            wanted = [str(c) for c in names_in]
            if is_residual_kriging(est):
                wanted += [c for c in self.coord_names if c not in wanted]
            missing = [c for c in wanted if c not in available]
            if missing:
                raise ValueError(
                    f"{type(est).__name__} was fitted on column(s) {missing} that the mapping "
                    f"features do not provide (features: {feats}; cell-centre coordinates are "
                    f"available as {list(self.coord_names)}). Map with the same feature recipe "
                    "used at the plots (RasterFeatures(...).feature_names must include every "
                    "fitted column), or refit on the available features."
                )
            self.columns = wanted
            # a model fitted on a bare array gets a plain array, in its fitted column order
            self.as_frame = named_fit or is_residual_kriging(est)
        elif is_residual_kriging(est):
            self.columns = available
            self.as_frame = True
        else:
            n_in = _n_features_in(est)
            n_txt = f"{n_in} unnamed columns" if n_in is not None else "unnamed columns"
            raise ValueError(
                f"{type(est).__name__} was fitted on {n_txt} (a bare array, no "
                "feature_names_in_), so the mapping features cannot be matched to them by name; "
                f"matching by position would silently give a wrong map if the order differs. The "
                f"features available are {feats}: pass feature_names=[...] (CLI: --feature-names "
                "a,b,...) naming the fitted columns in order, or refit on a DataFrame whose "
                "columns are the feature names."
            )
        self._col_index = {c: (feats.index(c) if c in feats else None) for c in self.columns}
        # a cell is mapped when the features the model uses are valid (others may be nodata)
        self._used = sorted({i for i in self._col_index.values() if i is not None})

    def design(self, rows: np.ndarray, xs: np.ndarray, ys: np.ndarray):
        """Design matrix for valid cells: ``rows`` (n, F) features, ``xs``/``ys`` centres (n,)."""
        n = rows.shape[0]
        out = np.empty((n, len(self.columns)), dtype=np.float64)
        for j, c in enumerate(self.columns):
            i = self._col_index[c]
            if i is not None:
                out[:, j] = rows[:, i]
            elif c == self.coord_names[0]:
                out[:, j] = xs
            else:
                out[:, j] = ys
        return pd.DataFrame(out, columns=self.columns) if self.as_frame else out

    # memory model -----------------------------------------------------------------------------
    @property
    def bytes_per_cell(self) -> float:
        """Working bytes per output cell: inputs and features at input resolution, design matrix."""
        f2 = self.grid.factor**2
        n_feat = len(self.source.feature_names)
        srcs = getattr(self.source, "sources", None)
        n_in = (len(srcs) if isinstance(srcs, dict) else 0) + 4  # raw inputs read besides features
        return 4.0 * f2 * (n_in + 2 * n_feat) + 8.0 * 3 * len(self.columns) + 64

    # the two steps ------------------------------------------------------------------------------
    def read(self, win):
        """Features, mask and design matrix of output window ``win`` (runs in the reader thread,
        so that building the design matrix overlaps the model's predict of the previous window).
        """
        factor = self.grid.factor
        feats = self.source.on_window(
            self.grid.input_window(win), out_resolution=self.grid.resolution if factor > 1 else None
        )
        feats = np.asarray(feats)
        if feats.shape[1:] != (int(win.height), int(win.width)):
            raise RuntimeError(
                f"the feature source returned shape {feats.shape[1:]} for an output window of "
                f"{(int(win.height), int(win.width))} cells; its on_window(out_resolution=...) must "
                "average features over each output cell."
            )
        keep = mask_window(self.mask_items, self.grid, win)
        valid = np.all(np.isfinite(feats[self._used]), axis=0)
        if keep is not None:
            valid &= keep
        if not valid.any():
            return valid, None
        rows = feats.reshape(feats.shape[0], -1)[:, valid.ravel()].T
        del feats
        xs, ys = self.grid.cell_centres(win)
        return valid, self.design(rows, xs[valid], ys[valid])

    @staticmethod
    def cells(inputs):
        """``(valid, X)``: the (h, w) mask of cells to map and their design matrix (None if empty)."""
        return inputs

    def compute(self, inputs) -> np.ndarray:
        valid, X = self.cells(inputs)
        out = np.full((len(self.band_names),) + valid.shape, self.nodata, dtype=np.float32)
        if X is None:
            return out
        values = list(self.predict(X))
        if getattr(self, "applicability", None) is not None:
            values += applicability_bands(self.applicability, X, self.columns)
        for band, v in zip(out, values):
            band[valid] = v
        return out

    def predict(self, X) -> list[np.ndarray]:
        """Mean (and std, residual) for design matrix ``X``."""
        est = self.estimator
        if self.kind == "kriging":
            # the learner's prediction plus the kriged residual; std = kriging std, combined in
            # quadrature with the learner's own std when it has one (ResidualKrigingRegressor's rule)
            base, learner_std = kriging.learner_prediction(
                est.estimator_, est.learner_features(X), len(X), return_std=True
            )
            res, std = est.predict_residual(X, return_std=True)
            res = np.asarray(res, dtype=float).ravel()
            std = np.asarray(std, dtype=float).ravel()
            if learner_std is not None:
                std = np.sqrt(std**2 + learner_std**2)
            return [base + res, std, res]
        if self.kind == "native":
            mean, std = est.predict(X, return_std=True)
            return [np.asarray(mean, dtype=float).ravel(), np.asarray(std, dtype=float).ravel()]
        if self.kind == "forest":
            return list(_forest_predict_std(est, X))
        return [np.asarray(est.predict(X), dtype=float).ravel()]
