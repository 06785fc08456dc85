"""BelowgroundModel: belowground carbon from aboveground carbon plus site covariates.

Belowground biomass of woody vegetation is driven mostly by aboveground biomass (BGB-AGB
R2 >= 0.85 in the records behind the 1 km China series), modulated by climate and soil. The model
is a random forest on AGB(C) and covariates, trained on in-situ BGB-AGB records, with two
safeguards built on the root:shoot ratio of :func:`geoagb.inventory.fit_belowground`
(``BGB = r AGB``, least squares through the origin):

* too few records (``< min_records``): the ratio alone (``mode_ = "ratio"``);
* AGB outside the training range: forests cannot extrapolate (they flatten at the largest
  training target), so with ``extrapolation="ratio"`` those cells get ``r AGB`` instead.

Records and maps must share a unit (MgC/ha for carbon, Mg/ha for biomass).
:func:`evaluate_belowground` reports R2 and RMSE under spatial block cross-validation
(:class:`geoagb.model_selection.SpatialBlockKFold`) when the records carry coordinates, next to
the ratio-only baseline on the same folds.

References
----------
Feng, X. (data contributor). Maps with 1 km resolution reveal increases in above- and
belowground forest biomass carbon pools in China over the past 20 years (dataset, 2002-2021).
CSTR 11738.11.NCDC.FIGSHARE.DB6534.2024: BGBC mapped by a random forest trained on in-situ
records from the literature.
Breiman, L. (2001). Random forests. Machine Learning, 45(1), 5-32.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.ensemble import RandomForestRegressor
from sklearn.utils.validation import check_is_fitted, validate_data

from .._coords import coord_names, get_coords
from .._progress import progress_disabled
from .._random import check_random_state
from ..inventory import belowground, fit_belowground
from ..model_selection import SpatialBlockKFold, spatial_cross_validate
from ..raster import atomic_geotiff, geotiff_profile, plan_windows, window_size_for_budget
from ._stack import StackSource, make_grid

__all__ = ["BelowgroundModel", "BelowgroundEvaluation", "evaluate_belowground"]


class BelowgroundModel(RegressorMixin, BaseEstimator):
    """Random forest BGB(C) ~ AGB(C) + covariates, with a root:shoot ratio fallback.

    Parameters
    ----------
    agb_feature : int or str, default 0
        Column of ``X`` holding AGB(C): an index, or a name when fitted on a DataFrame.
    n_estimators : int, default 300
    min_samples_leaf : int, default 3
    max_features : float, int or str, default 1.0
        Passed to :class:`sklearn.ensemble.RandomForestRegressor`.
    min_records : int, default 30
        Fewer training records: the root:shoot ratio alone is used (with a warning).
    root_shoot : float, optional
        Ratio of the fallback; default fitted on the records (through the origin).
    extrapolation : {"ratio", "forest"}, default "ratio"
        Prediction for AGB outside the training range: the ratio, or the forest as is.
    random_state : int, RandomState, Generator or None, default None
    n_jobs : int, optional

    Attributes
    ----------
    forest_ : RandomForestRegressor or None
    ratio_ : float
        Root:shoot ratio of the fallback (BGB / AGB).
    mode_ : {"forest", "ratio"}
    agb_index_ : int
        Column of AGB in ``X``.
    agb_range_ : (float, float)
        AGB range of the training records.
    n_features_in_, feature_names_in_

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> agb = rng.uniform(10, 100, 200); mat = rng.uniform(5, 20, 200)
    >>> bgb = 0.3 * agb ** 0.93 * np.exp(0.015 * (12 - mat))
    >>> m = BelowgroundModel(n_estimators=50, random_state=0).fit(np.c_[agb, mat], bgb)
    >>> m.mode_, round(m.ratio_, 2)
    ('forest', 0.22)
    >>> m.predict([[400.0, 12.0]]).round(1).tolist()      # beyond the records: ratio x AGB
    [87.9]
    """

    def __init__(
        self,
        agb_feature=0,
        *,
        n_estimators=300,
        min_samples_leaf=3,
        max_features=1.0,
        min_records=30,
        root_shoot=None,
        extrapolation="ratio",
        random_state=None,
        n_jobs=None,
    ):
        self.agb_feature = agb_feature
        self.n_estimators = n_estimators
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.min_records = min_records
        self.root_shoot = root_shoot
        self.extrapolation = extrapolation
        self.random_state = random_state
        self.n_jobs = n_jobs

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # biomass and carbon are >= 0: fit refuses a negative BGB (y) or a negative value in the
        # AGB column of X (agb_feature) with scikit-learn's "Negative values in data" error.
        # Covariates such as temperature may be negative: scikit-learn's tag has no per-column
        # form, and it is set for the AGB column
        tags.input_tags.positive_only = True
        tags.target_tags.positive_only = True
        return tags

    def _resolve_agb(self):
        f = self.agb_feature
        if isinstance(f, str):
            names = getattr(self, "feature_names_in_", None)
            if names is None or f not in list(names):
                raise ValueError(
                    f"agb_feature={f!r} is not a column of X (columns: "
                    f"{None if names is None else list(names)}); fit on a DataFrame with that "
                    "column, or give its index, e.g. agb_feature=0."
                )
            return int(list(names).index(f))
        i = int(f)
        if not 0 <= i < self.n_features_in_:
            raise ValueError(
                f"agb_feature={f} is out of range for X with {self.n_features_in_} column(s)."
            )
        return i

    def fit(self, X, y):
        """Fit the forest (and the ratio) on BGB-AGB records; returns self."""
        if self.extrapolation not in ("ratio", "forest"):
            raise ValueError(
                f"extrapolation={self.extrapolation!r} is not one of ('ratio', 'forest')."
            )
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        self.agb_index_ = self._resolve_agb()
        agb = X[:, self.agb_index_]
        if np.any(agb < 0) or np.any(y < 0):
            raise ValueError(
                "Negative values in data passed to BelowgroundModel: negative AGB or BGB in the "
                f"records (min AGB {agb.min():g} in column agb_feature={self.agb_feature!r}, min "
                f"BGB {y.min():g}). AGB(C) and BGB(C) are densities (MgC/ha or Mg/ha) and cannot "
                "be negative; covariates may be."
            )
        if self.root_shoot is None:
            self.ratio_ = (
                float(fit_belowground(agb, y, method="ratio").a)
                if len(y) >= 3 and np.dot(agb, agb) > 0
                else float(np.sum(y) / max(np.sum(agb), 1e-12))
            )
        else:
            belowground(1.0, root_shoot=self.root_shoot)  # validates the ratio (0, 5]
            self.ratio_ = float(self.root_shoot)
        self.agb_range_ = (float(agb.min()), float(agb.max()))
        if len(y) < int(self.min_records):
            warnings.warn(
                f"{len(y)} BGB-AGB records (< min_records={self.min_records}): using the root:shoot "
                f"ratio {self.ratio_:.3f} alone. Add records or lower min_records to fit the forest.",
                UserWarning,
                stacklevel=2,
            )
            self.forest_, self.mode_ = None, "ratio"
            return self
        self.forest_ = RandomForestRegressor(
            n_estimators=self.n_estimators,
            min_samples_leaf=self.min_samples_leaf,
            max_features=self.max_features,
            random_state=check_random_state(self.random_state),
            n_jobs=self.n_jobs,
        ).fit(X, y)
        self.mode_ = "forest"
        return self

    def predict(self, X):
        """BGB(C) for each row of X, unit of the training target."""
        check_is_fitted(self, "ratio_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        agb = X[:, self.agb_index_]
        ratio = self.ratio_ * agb
        if self.forest_ is None:
            return ratio
        pred = self.forest_.predict(X)
        if self.extrapolation == "ratio":
            lo, hi = self.agb_range_
            out = (agb < lo) | (agb > hi)
            pred[out] = ratio[out]
        return pred

    def predict_stack(
        self,
        agbc,
        covariates=None,
        *,
        out=None,
        years=None,
        memory_mb: float = 256.0,
        progress: bool | None = None,
        transform=None,
        crs=None,
    ):
        """BGB(C) of every year of an AGB(C) stack.

        Parameters
        ----------
        agbc : ndarray (T, H, W), str or Path
            Annual AGB(C) maps (unit of the records).
        covariates : dict of name -> (H, W) array or raster path, or a sequence, optional
            The other features, constant over the years: keyed by the training column names
            (DataFrame fit) or in training column order without the AGB column.
        out : str or Path, optional
            Write a stack GeoTIFF window by window (atomically) instead of returning an array.
        years : sequence of int, optional
            Years of the layers (default: the band descriptions of a file).
        memory_mb : float, default 256
        progress : bool or None, default None
        transform, crs : optional ``None``: only when stderr is a terminal.
            Grid of an in-memory stack written with ``out=``.

        Returns
        -------
        ndarray (T, H, W) float32 (NaN where AGB or a covariate is missing), or the Path of ``out``.
        """
        from rasterio.windows import Window
        from tqdm.auto import tqdm

        check_is_fitted(self, "ratio_")
        src = StackSource(agbc, years, transform=transform, crs=crs, name="agbc")
        covs = self._covariate_sources(covariates, src)
        T, (H, W) = src.count, src.shape
        side = (
            window_size_for_budget(T * 8 * (self.n_features_in_ + 2) + 64, memory_mb)
            if out is not None
            else max(H, W)
        )
        wins = plan_windows(W, H, side) if out is not None else [Window(0, 0, W, H)]
        res = None if out is not None else np.full((T, H, W), np.nan, np.float32)

        def compute(win):
            a = src.read(win).astype(np.float64)
            cols = []
            for j in range(self.n_features_in_):
                if j == self.agb_index_:
                    cols.append(a.reshape(-1))
                else:
                    c = covs[j].read(win)[0].astype(np.float64)
                    cols.append(np.broadcast_to(c, a.shape).reshape(-1))
            Xw = np.column_stack(cols)
            ok = np.all(np.isfinite(Xw), axis=1)
            pred = np.full(Xw.shape[0], np.nan)
            if ok.any():
                Xo = Xw[ok]
                if hasattr(self, "feature_names_in_"):
                    Xo = pd.DataFrame(Xo, columns=self.feature_names_in_)
                pred[ok] = self.predict(Xo)
            return pred.reshape(a.shape).astype(np.float32)

        if out is None:
            res[:] = compute(wins[0])
            return res

        if src.transform is None:
            raise ValueError(
                "out= needs the grid of the stack: pass transform= and crs= with an array."
            )
        profile = geotiff_profile(
            make_grid(src.transform, src.crs, W, H), count=T, window_size=side
        )
        names = (
            [str(int(y)) for y in src.years]
            if src.years is not None
            else [f"layer_{i}" for i in range(T)]
        )
        tags = dict(method="BelowgroundModel", mode=self.mode_, root_shoot=self.ratio_)
        with atomic_geotiff(out, profile, names, ["same as agbc"] * T, tags=tags) as dst:
            for win in tqdm(
                wins, desc="belowground", disable=progress_disabled(progress), leave=False
            ):
                dst.write(compute(win), window=win)
        from pathlib import Path

        return Path(out)

    def _covariate_sources(self, covariates, src):

        need = [j for j in range(self.n_features_in_) if j != self.agb_index_]
        names = list(
            getattr(self, "feature_names_in_", [f"x{j}" for j in range(self.n_features_in_)])
        )
        if not need:
            return {}
        if covariates is None:
            raise ValueError(
                f"the model was fitted with covariates {[names[j] for j in need]}; pass "
                "covariates={name: (H, W) array or raster path}."
            )
        if isinstance(covariates, dict):
            missing = [names[j] for j in need if names[j] not in covariates]
            if missing:
                raise ValueError(
                    f"covariates lacks {missing} (given: {list(covariates)}); the model "
                    f"was fitted on {names}."
                )
            items = {j: covariates[names[j]] for j in need}
        else:
            seq = list(covariates)
            if len(seq) != len(need):
                raise ValueError(
                    f"{len(seq)} covariate layers given for {len(need)} covariate columns "
                    f"{[names[j] for j in need]}."
                )
            items = dict(zip(need, seq))
        out = {}
        for j, v in items.items():
            s = StackSource(v, transform=src.transform, crs=src.crs, name=f"covariate {names[j]!r}")
            src.check_same_grid(s)
            out[j] = s
        return out


@dataclass
class BelowgroundEvaluation:
    """Result of :func:`evaluate_belowground`.

    Attributes
    ----------
    table : DataFrame
        Rows ``forest`` and ``root_shoot``: out-of-fold r2, rmse, r and validation-fold mean/sd of
        r2 and rmse.
    results : dict of str -> SpatialCVResult
    scheme : str
        The cross-validation used, e.g. ``"spatial blocks 20000 m, 5 folds"``.
    """

    table: pd.DataFrame
    results: dict
    scheme: str


def evaluate_belowground(
    records,
    model=None,
    *,
    target: str = "bgbc",
    features=None,
    coords=None,
    block_size: float | None = None,
    n_splits: int = 5,
    random_state=None,
    progress: bool | None = None,
) -> BelowgroundEvaluation:
    """R2 and RMSE of a :class:`BelowgroundModel` under spatial cross-validation, vs the ratio.

    Parameters
    ----------
    records : DataFrame or GeoDataFrame
        BGB-AGB records with the target, the features and (for spatial CV) coordinates.
    model : BelowgroundModel, optional
        Default ``BelowgroundModel(agb_feature=features[0], random_state=random_state)``.
    target : str, default "bgbc"
    features : sequence of str, optional
        Feature columns, AGB first (default: every column but the target and coordinates).
    coords : pair of str, default None
        Coordinate columns, metres (``None``: ``("x", "y")``). Without them (and no
        geometry) random k-fold is used.
    block_size : float, optional
        Block side, metres (default: a fifth of the larger extent of the records).
    n_splits : int, default 5
    random_state : int, RandomState, Generator or None
    progress : bool or None, default None

    Returns ``None``: only when stderr is a terminal.
    -------
    BelowgroundEvaluation

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> n = 150; agb = rng.uniform(10, 100, n); mat = rng.uniform(5, 20, n)
    >>> rec = pd.DataFrame({"x": rng.uniform(0, 5e4, n), "y": rng.uniform(0, 5e4, n), "agbc": agb,
    ...                     "mat": mat, "bgbc": 0.3 * agb ** 0.93 * np.exp(0.06 * (12 - mat))})
    >>> ev = evaluate_belowground(rec, BelowgroundModel(n_estimators=50, random_state=0),
    ...                           features=["agbc", "mat"], block_size=10_000, random_state=0)
    >>> ev.scheme
    'spatial blocks 10000 m, 5 folds'
    >>> bool(ev.table.loc["forest", "r2"] > ev.table.loc["root_shoot", "r2"])
    True
    """
    df = pd.DataFrame(records)
    if target not in df.columns:
        raise ValueError(
            f"target={target!r} is not a column of records (columns: {list(df.columns)})."
        )
    geom = getattr(records, "geometry", None)
    coords = coord_names(coords)
    has_xy = all(c in df.columns for c in coords)
    skip = (
        {target} | (set(coords) if has_xy else set()) | ({geom.name} if geom is not None else set())
    )
    feats = [c for c in df.columns if c not in skip] if features is None else list(features)
    if not feats:
        raise ValueError("no feature columns: give features=['agbc', ...] (AGB first).")
    est = (
        model
        if model is not None
        else BelowgroundModel(agb_feature=feats[0], random_state=random_state)
    )
    if isinstance(est, BelowgroundModel) and isinstance(est.agb_feature, int):
        est = est.set_params(agb_feature=feats[est.agb_feature])
    y = df[target].to_numpy(dtype=float)
    if has_xy or geom is not None:
        X = records[feats + ([geom.name] if geom is not None and not has_xy else list(coords))]

        xy = get_coords(X, coords if has_xy else None)
        if block_size is None:
            block_size = float(np.ptp(xy, axis=0).max()) / 5.0
        cv = SpatialBlockKFold(
            n_splits,
            block_size=block_size,
            random_state=random_state,
            coords=coords if has_xy else None,
        )
        scheme = f"spatial blocks {block_size:g} m, {n_splits} folds"
        kw = dict(coords=coords) if has_xy else {}
    else:
        X, cv, kw = df[feats], n_splits, {}
        scheme = f"random {n_splits}-fold (no coordinates)"
    ratio = BelowgroundModel(agb_feature=feats[0], min_records=10**9, root_shoot=None)
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the ratio model warns that it is ratio-only
        for name, e in (("forest", est), ("root_shoot", ratio)):
            results[name] = spatial_cross_validate(
                e, X, y, cv, progress=progress, label=name, random_state=random_state, **kw
            )
    rows = {}
    for name, res in results.items():
        oof = res.oof_scores()
        s = res.summary(metrics=("r2", "rmse"), fmt=None).loc["validation"]
        rows[name] = {
            "r2": oof["r2"],
            "rmse": oof["rmse"],
            "r": oof["r"],
            "r2_fold_mean": s["r2_mean"],
            "r2_fold_sd": s["r2_sd"],
            "rmse_fold_mean": s["rmse_mean"],
            "rmse_fold_sd": s["rmse_sd"],
        }
    return BelowgroundEvaluation(
        table=pd.DataFrame.from_dict(rows, orient="index"), results=results, scheme=scheme
    )
