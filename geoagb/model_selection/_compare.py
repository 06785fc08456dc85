"""compare_models: several estimators on identical spatial folds, repeated over fold seeds,
with paired differences and their confidence intervals.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from .._progress import progress_disabled
from .._random import check_generator
from .._threads import resolve_threads
from ..metrics import agb_scores
from ._split import FixedSplits, as_splitter
from ._validate import prepare_spatial_fit, spatial_cross_validate

__all__ = ["compare_models", "ModelComparison", "corrected_resampled_ttest", "sign_test"]

_METRICS = ("r2", "rmse", "mae")


def _sign(diff, metric: str) -> np.ndarray:
    """+1 where the model beats the baseline (lower error, higher r2), -1 where it loses."""
    d = np.asarray(diff, dtype=float)
    d = d[np.isfinite(d)]
    return np.sign(d) if metric == "r2" else -np.sign(d)


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test p-value of ``wins`` against ``losses`` (ties left out).

    Examples
    --------
    >>> round(sign_test(10, 0), 5)
    0.00195
    """
    n = int(wins) + int(losses)
    if n == 0:
        return 1.0
    return float(stats.binomtest(int(wins), n, 0.5).pvalue)


def corrected_resampled_ttest(diffs, n_train: float, n_test: float, confidence: float = 0.95):
    """Nadeau and Bengio's corrected resampled t-test of paired per-fold differences.

    The variance of the mean difference over ``J`` folds (of all repeats) is inflated by
    ``1 / J + n_test / n_train`` instead of ``1 / J``, because the training sets overlap.

    Parameters
    ----------
    diffs : array (J,)
        Per-fold differences (model minus baseline) of a metric.
    n_train, n_test : float
        Mean training and test set sizes.
    confidence : float, default 0.95

    Returns
    -------
    dict
        ``mean``, ``ci_low``, ``ci_high``, ``t``, ``p_value``, ``n_folds``.

    References
    ----------
    Nadeau, C. and Bengio, Y. (2003). Inference for the generalization error. Machine Learning
    52, 239-281.

    Examples
    --------
    >>> r = corrected_resampled_ttest([1.0, 2.0, 3.0, 2.0], n_train=80, n_test=20)
    >>> round(r["mean"], 3), round(r["t"], 3)
    (2.0, 3.464)
    """
    d = np.asarray(diffs, dtype=float)
    d = d[np.isfinite(d)]
    J = len(d)
    if J < 2:
        raise ValueError(f"{J} paired difference(s): the t-test needs at least 2 folds.")
    mean = float(d.mean())
    var = float(d.var(ddof=1))
    se = np.sqrt((1.0 / J + float(n_test) / float(n_train)) * var)
    q = stats.t.ppf(0.5 + confidence / 2.0, J - 1)
    t = mean / se if se > 0 else (np.inf if mean != 0 else 0.0)
    p = float(2 * stats.t.sf(abs(t), J - 1)) if np.isfinite(t) else 0.0
    return {
        "mean": mean,
        "ci_low": mean - q * se,
        "ci_high": mean + q * se,
        "t": float(t),
        "p_value": p,
        "n_folds": J,
    }


@dataclass
class ModelComparison:
    """Result of :func:`compare_models`.

    Attributes
    ----------
    folds : DataFrame
        One row per repeat, fold and model: n_test and the validation metrics of that fold.
    pooled : DataFrame
        One row per repeat and model: metrics of the pooled out-of-fold predictions of that
        repeat (``pooled_*``) and the mean over its folds (``fold_mean_*``).
    oof_predictions : dict
        Model name -> array (n_repeats, n) of out-of-fold predictions.
    y : ndarray
    baseline : str
        Model that paired differences are taken against.
    n_train, n_test : float
        Mean training and test fold sizes.
    """

    folds: pd.DataFrame
    pooled: pd.DataFrame
    oof_predictions: dict
    y: np.ndarray
    baseline: str
    n_train: float
    n_test: float

    def summary(self) -> pd.DataFrame:
        """Mean and sd over repeats of the pooled and fold-mean metrics, one row per model.

        ``pooled_r2`` is R2 of all out-of-fold predictions of a repeat together;
        ``fold_mean_r2`` the mean of the per-fold R2 (lower with small, spatially separated test
        folds whose own variance is small). Both are averaged over the repeats.
        ``repeats_won`` / ``repeats_lost``: fold seeds whose pooled RMSE is lower / higher than
        the baseline's (0 for the baseline itself); see :meth:`paired` for the tests.
        """
        cols = [c for c in self.pooled.columns if c.startswith(("pooled_", "fold_mean_"))]
        g = self.pooled.groupby("model", sort=False)[cols]
        out = pd.concat([g.mean(), g.std(ddof=1).add_suffix("_sd")], axis=1)
        rmse = self.pooled.pivot_table(
            index="repeat", columns="model", values="pooled_rmse", sort=False
        )
        diff = rmse.sub(rmse[self.baseline], axis=0)
        out["repeats_won"] = [int((diff[m] < 0).sum()) for m in out.index]
        out["repeats_lost"] = [int((diff[m] > 0).sum()) for m in out.index]
        return out

    def paired(self, metric: str = "rmse", confidence: float = 0.95) -> pd.DataFrame:
        """Per model, the paired difference ``model - baseline`` of a fold metric over all folds
        and repeats, with the corrected resampled t-test's confidence interval and p-value,
        and beside it the counts of folds and fold seeds won, lost and tied.

        A fold seed (repeat) is won when the model's pooled out-of-fold metric of that repeat
        beats the baseline's (lower rmse/mae, higher r2). ``sign_p`` is the two-sided exact
        sign test over the repeats (ties left out): with 10 seeds won of 10 it is 0.002, where
        the corrected t-test, which also counts the spread of the differences and the overlap
        of training sets, can stay above 0.05.

        Returns
        -------
        DataFrame
            One row per model: ``mean``, ``ci_low``, ``ci_high``, ``t``, ``p_value``,
            ``n_folds``, ``folds_won``, ``folds_lost``, ``folds_tied``, ``repeats_won``,
            ``repeats_lost``, ``repeats_tied``, ``sign_p``.
        """
        if metric not in self.folds.columns:
            raise ValueError(f"metric={metric!r}; choose one of {list(_METRICS)}.")
        wide = self.folds.pivot_table(
            index=["repeat", "fold"], columns="model", values=metric, sort=False
        )
        rows = []
        for name in wide.columns:
            if name == self.baseline:
                continue
            res = corrected_resampled_ttest(
                wide[name] - wide[self.baseline], self.n_train, self.n_test, confidence
            )
            rows.append(
                {"model": name, "baseline": self.baseline, "metric": metric, **res,
                 **self._wins(name, wide[name] - wide[self.baseline], metric)}
            )  # fmt: skip
        return pd.DataFrame(rows).set_index("model")

    def _wins(self, name: str, fold_diff, metric: str) -> dict:
        pooled = self.pooled.pivot_table(
            index="repeat", columns="model", values=f"pooled_{metric}", sort=False
        )
        by_fold = _sign(fold_diff, metric)
        by_rep = _sign(pooled[name] - pooled[self.baseline], metric)
        won, lost = int((by_rep > 0).sum()), int((by_rep < 0).sum())
        return {
            "folds_won": int((by_fold > 0).sum()),
            "folds_lost": int((by_fold < 0).sum()),
            "folds_tied": int((by_fold == 0).sum()),
            "repeats_won": won,
            "repeats_lost": lost,
            "repeats_tied": int((by_rep == 0).sum()),
            "sign_p": sign_test(won, lost),
        }

    def plot(self, metric: str = "rmse", ax=None, title: str | None = None):
        """Paired differences to the baseline with their 95 % confidence intervals."""
        import matplotlib.pyplot as plt

        tab = self.paired(metric)
        if ax is None:
            fig, ax = plt.subplots(figsize=(6.4, 0.6 + 0.55 * max(len(tab), 1)))
        else:
            fig = ax.figure
        ypos = np.arange(len(tab))
        err = np.vstack([tab["mean"] - tab["ci_low"], tab["ci_high"] - tab["mean"]])
        colors = ["tab:green" if (m < 0) == (metric != "r2") else "tab:red" for m in tab["mean"]]
        ax.errorbar(tab["mean"], ypos, xerr=err, fmt="none", ecolor="0.3", capsize=4)
        ax.scatter(tab["mean"], ypos, c=colors, zorder=3)
        ax.axvline(0.0, color="0.5", lw=1, ls="--")
        ax.set_yticks(ypos, tab.index)
        J = int(tab["n_folds"].iloc[0]) if len(tab) else 0
        ax.set_xlabel(
            f"{metric} difference to {self.baseline} (bars: 95 % CI, corrected "
            f"resampled t-test over {J} folds)"
        )
        ax.set_title(title or f"Paired comparison, {metric}")
        fig.tight_layout()
        return fig


def _reseeded(cv, seed):
    """A copy of splitter ``cv`` with ``random_state=seed`` (where it has one)."""
    params = cv.get_params() if hasattr(cv, "get_params") else {}
    if "random_state" not in params and not hasattr(cv, "random_state"):
        return cv
    out = copy.deepcopy(cv)
    out.random_state = seed
    if hasattr(out, "shuffle") and out.shuffle is False:
        return cv  # an unshuffled KFold ignores its seed
    return out


def compare_models(
    estimators,
    X,
    y,
    cv,
    *,
    n_repeats: int = 5,
    random_state=None,
    baseline: str | None = None,
    coords=None,
    progress: bool | None = None,
    n_jobs=None,
) -> ModelComparison:
    """Run several estimators on identical spatial folds, repeated over fold seeds.

    For each of ``n_repeats`` seeds the splitter is re-seeded and its folds computed once;
    every estimator is then cross-validated on exactly those folds (with
    :func:`spatial_cross_validate`, so the coordinate rule applies: coordinate-aware estimators
    such as :class:`~geoagb.kriging.ResidualKrigingRegressor` and
    :class:`~geoagb.kriging.KrigingRegressor` see the coordinates, plain learners do not).

    Parameters
    ----------
    estimators : dict of name -> estimator
        E.g. ``{"XGBoost": xgb, "XGBoost + RK": ResidualKrigingRegressor(xgb),
        "kriging alone": KrigingRegressor()}``.
    X, y
        As in :func:`spatial_cross_validate`.
    cv : splitter, int or iterable of (train, test)
        E.g. ``SpatialBlockKFold(5, block_size=5_000)``; its ``random_state`` is replaced by
        each repeat's seed. An int is a shuffled k-fold; an iterable of ``(train, test)``
        pairs is one fixed set of folds (then a single repeat is run).
    n_repeats : int, default 5
        Fold seeds.
    random_state : int, RandomState, Generator or None, default None
        Draws the fold seeds.
    baseline : str or None
        Model the paired differences refer to (default: the first).
    coords : pair of str or None
        Coordinate column names (see :func:`spatial_cross_validate`).
    progress : bool or None, default None
        Show a progress bar; ``None``: only when stderr is a terminal.
    n_jobs : int or None, default None
        Thread budget of every learner (see :func:`spatial_cross_validate`).

    Returns
    -------
    ModelComparison
        ``.summary()`` (pooled and fold-mean metrics, fold seeds won and lost),
        ``.paired("rmse")`` (differences with confidence intervals, the corrected t-test and
        the sign test over fold seeds), ``.plot()``.

    References
    ----------
    Nadeau, C. and Bengio, Y. (2003). Inference for the generalization error. Machine Learning
    52, 239-281.

    Examples
    --------
    >>> from sklearn.linear_model import LinearRegression
    >>> from sklearn.dummy import DummyRegressor
    >>> from geoagb.datasets import make_plots
    >>> from geoagb.model_selection import SpatialBlockKFold
    >>> plots = make_plots(200, random_state=0)
    >>> X, y = plots.drop(columns="agb"), plots["agb"]
    >>> cmp = compare_models({"mean": DummyRegressor(), "linear": LinearRegression()}, X, y,
    ...                      SpatialBlockKFold(4, block_size=10_000), n_repeats=2,
    ...                      random_state=0, progress=False)
    >>> bool(cmp.paired("rmse").loc["linear", "mean"] < 0)
    True
    """
    if not isinstance(estimators, dict) or not estimators:
        raise TypeError(
            "estimators must be a non-empty dict of name -> estimator, e.g. "
            "{'XGBoost': XGBRegressor(), 'XGBoost + RK': "
            "ResidualKrigingRegressor(XGBRegressor())}."
        )
    names = list(estimators)
    baseline = names[0] if baseline is None else baseline
    if baseline not in estimators:
        raise ValueError(f"baseline={baseline!r} is not one of the models {names}.")
    if int(n_repeats) < 1:
        raise ValueError(f"n_repeats={n_repeats!r} must be >= 1.")
    rng = check_generator(random_state)
    cv = as_splitter(cv)
    if isinstance(cv, FixedSplits) and int(n_repeats) > 1:
        warnings.warn(
            f"cv is a fixed list of folds: n_repeats={n_repeats} would repeat identical folds; "
            "one repeat is run. Give a splitter with a random_state for several fold seeds.",
            UserWarning,
            stacklevel=2,
        )
        n_repeats = 1
    threads = resolve_threads(n_jobs)
    yv = np.asarray(y, dtype=float).ravel()
    seeds = rng.integers(0, 2**31 - 1, int(n_repeats))
    fold_rows, pooled_rows = [], []
    oof = {name: np.full((int(n_repeats), len(yv)), np.nan) for name in names}
    n_tr, n_te = [], []
    bar = tqdm(
        total=int(n_repeats) * len(names),
        desc="compare",
        disable=progress_disabled(progress),
        leave=False,
    )
    for rep, seed in enumerate(seeds):
        cvr = _reseeded(cv, int(seed))
        # resolve coordinate names with the first estimator, then freeze the folds

        _, cvr, _, _ = prepare_spatial_fit(estimators[names[0]], X, cvr, coords)
        splits = [(np.asarray(a), np.asarray(b)) for a, b in cvr.split(X, yv)]
        n_tr += [len(a) for a, _ in splits]
        n_te += [len(b) for _, b in splits]
        fixed = FixedSplits(splits)
        for name in names:
            res = spatial_cross_validate(
                estimators[name], X, yv, fixed, coords=coords, progress=False, label=name,
                n_jobs=threads,
            )  # fmt: skip
            oof[name][rep] = res.oof_predictions
            val = res.folds[res.folds["set"] == "validation"]
            for _, row in val.iterrows():
                fold_rows.append(
                    {
                        "repeat": rep,
                        "fold": int(row["fold"]),
                        "model": name,
                        "n_test": int(row["n"]),
                        **{m: float(row[m]) for m in _METRICS},
                    }
                )
            ok = np.isfinite(res.oof_predictions)
            pooled = agb_scores(yv[ok], res.oof_predictions[ok])
            pooled_rows.append(
                {
                    "repeat": rep,
                    "model": name,
                    **{f"pooled_{m}": pooled[m] for m in _METRICS},
                    **{f"fold_mean_{m}": float(val[m].mean()) for m in _METRICS},
                }
            )
            bar.update(1)
    bar.close()
    return ModelComparison(
        pd.DataFrame(fold_rows),
        pd.DataFrame(pooled_rows),
        oof,
        yv,
        baseline,
        float(np.mean(n_tr)),
        float(np.mean(n_te)),
    )
