"""Accuracy metrics for AGB models, as functions and scorers.

All functions take ``(y_true, y_pred)`` in the same units (Mg/ha for AGB; any target) and
ignore nothing: NaN in either input raises. Scorers for ``cross_validate(scoring=...)`` are in :data:`SCORERS`
(higher is better; error metrics are negated, following scikit-learn's ``neg_`` convention).

References
----------
Li, Y. et al. FineKarstAGB: a 30 m resolution aboveground biomass dataset for Southwest China
derived by upscaling plot-level inventory using sub-meter GaoFen satellite data; dataset in
Science Data Bank, 2026, https://doi.org/10.57760/sciencedb.33452 (eqs. 8-11: r, R2, RMSE,
MAE, overall bias; Fig. 5c: errors by observed-AGB class).

Lishui CNN-Transformer + kriging study: forest AGB of Lishui City, Zhejiang, 2020, with
ordinary and co-kriging of the residuals (relative improvement of RMSE).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import make_scorer

__all__ = [
    "pearson_r",
    "r2",
    "rmse",
    "mae",
    "overall_bias",
    "absolute_bias",
    "relative_bias_defined",
    "format_bias",
    "mean_residual",
    "sd_residual",
    "regression_slope",
    "relative_improvement",
    "agb_scores",
    "binned_scores",
    "SCORERS",
    "DEFAULT_AGB_BINS",
]

#: Observed-AGB classes of FineKarstAGB (Li et al. 2026) Fig. 5c, Mg/ha: 0-50, 50-100, 100-150, 150-200, >200.
DEFAULT_AGB_BINS = (0.0, 50.0, 100.0, 150.0, 200.0, np.inf)


def _check(y_true, y_pred):
    yt = np.asarray(y_true, dtype=float).ravel()
    yp = np.asarray(y_pred, dtype=float).ravel()
    if yt.shape != yp.shape:
        raise ValueError(f"y_true has {yt.size} values but y_pred has {yp.size}; they must align.")
    if yt.size == 0:
        raise ValueError("empty inputs: metrics need at least one sample.")
    if not (np.all(np.isfinite(yt)) and np.all(np.isfinite(yp))):
        raise ValueError("y_true and y_pred must be finite; drop NaN/inf rows first.")
    return yt, yp


def pearson_r(y_true, y_pred) -> float:
    """Pearson correlation coefficient r between observed and predicted values.

    NaN when fewer than two samples or when either input is constant.

    Examples
    --------
    >>> pearson_r([1.0, 2.0, 3.0], [1.0, 3.0, 2.0])   # cov 1/3 over sqrt(2/3 * 2/3)
    0.5
    """
    yt, yp = _check(y_true, y_pred)
    if yt.size < 2 or np.ptp(yt) == 0 or np.ptp(yp) == 0:
        return float("nan")
    return float(np.corrcoef(yt, yp)[0, 1])


def r2(y_true, y_pred) -> float:
    """Coefficient of determination R2 = 1 - SS_res / SS_tot (can be negative).

    Examples
    --------
    >>> round(r2([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 5.0]), 6)   # 1 - 1 / 5
    0.8
    """
    yt, yp = _check(y_true, y_pred)
    ss_tot = np.sum((yt - yt.mean()) ** 2)
    if ss_tot == 0:
        return float("nan")
    return float(1.0 - np.sum((yt - yp) ** 2) / ss_tot)


def rmse(y_true, y_pred) -> float:
    """Root mean squared error, in the units of y (Mg/ha).

    Examples
    --------
    >>> round(rmse([10.0, 20.0], [13.0, 24.0]), 4)   # sqrt((3^2 + 4^2) / 2)
    3.5355
    """
    yt, yp = _check(y_true, y_pred)
    return float(np.sqrt(np.mean((yp - yt) ** 2)))


def mae(y_true, y_pred) -> float:
    """Mean absolute error, in the units of y (Mg/ha).

    Examples
    --------
    >>> mae([10.0, 20.0], [13.0, 24.0])   # (3 + 4) / 2
    3.5
    """
    yt, yp = _check(y_true, y_pred)
    return float(np.mean(np.abs(yp - yt)))


def relative_bias_defined(y_true) -> bool:
    """Whether a bias relative to the observed total means something for ``y_true``.

    True when the observations sum to more than zero and either none is negative (a
    non-negative quantity such as AGB or a count) or their mean is at least their standard
    deviation (a signed quantity far from zero). A centred target (mean near 0, values of both
    signs) gets False: its total is noise, and a bias relative to it is unbounded (e.g. 3e15 %).

    Examples
    --------
    >>> relative_bias_defined([100.0, 200.0]), relative_bias_defined([-1.0, 0.5, 0.6])
    (True, False)
    """
    yt = np.asarray(y_true, dtype=float).ravel()
    if yt.size == 0 or not np.sum(yt) > 0:
        return False
    return bool(np.min(yt) >= 0 or np.mean(yt) >= np.std(yt))


def absolute_bias(y_true, y_pred) -> float:
    """Absolute bias ``|mean(yhat - y)|``, in the units of y: the overall bias of any target.

    Examples
    --------
    >>> absolute_bias([100.0, 200.0], [110.0, 196.0])   # |10 - 4| / 2
    3.0
    """
    yt, yp = _check(y_true, y_pred)
    return float(abs(np.mean(yp - yt)))


def overall_bias(y_true, y_pred, relative="auto") -> float:
    """Overall bias ``|sum(yhat - y)| / |sum(y)|``, a fraction (0.0238 = 2.38 %).

    Parameters
    ----------
    y_true, y_pred : array-like
        Observed and predicted values, same units.
    relative : {"auto", True, False}, default "auto"
        ``"auto"``: the fraction where :func:`relative_bias_defined` (positive total, no
        negative observation or mean at least one standard deviation), NaN otherwise (use
        :func:`absolute_bias`); ``True``: the fraction whenever the total is not zero;
        ``False``: :func:`absolute_bias`, in the units of y.

    Returns
    -------
    float
        NaN when the observations sum to zero (or, with ``"auto"``, where the fraction is not
        defined).

    References
    ----------
    FineKarstAGB (Li et al., 2026), eq. 11; see the module docstring.

    Examples
    --------
    >>> round(overall_bias([100.0, 200.0], [110.0, 196.0]), 6)   # |10 - 4| / 300
    0.02
    >>> overall_bias([-10.0, 4.0, 6.0], [-9.0, 5.0, 7.0])   # centred: no percent
    nan
    >>> overall_bias([-10.0, 4.0, 6.0], [-9.0, 5.0, 7.0], relative=False)   # |3| / 3
    1.0
    """
    if relative not in ("auto", True, False):
        raise ValueError(f"relative={relative!r} must be 'auto', True or False.")
    yt, yp = _check(y_true, y_pred)
    if relative is False:
        return absolute_bias(yt, yp)
    denom = abs(np.sum(yt))
    if denom == 0 or (relative == "auto" and not relative_bias_defined(yt)):
        return float("nan")
    return float(abs(np.sum(yp - yt)) / denom)


def format_bias(y_true, y_pred, unit: str = "") -> str:
    """The bias as a report prints it: percent where defined, else absolute in ``unit``.

    Examples
    --------
    >>> format_bias([100.0, 200.0], [110.0, 196.0], "Mg/ha")
    'bias = 2.00 %'
    >>> format_bias([-10.0, 4.0, 6.0], [-9.0, 5.0, 7.0], "score")
    'bias = 1.00 score (absolute; % undefined for a mean near 0)'
    """
    rel = overall_bias(y_true, y_pred)
    if np.isfinite(rel):
        return f"bias = {100 * rel:.2f} %"
    return (
        f"bias = {absolute_bias(y_true, y_pred):.2f} {unit}".rstrip()
        + " (absolute; % undefined for a mean near 0)"
    )


def mean_residual(y_true, y_pred) -> float:
    """Mean of residuals y - yhat (positive: the model under-predicts).

    Examples
    --------
    >>> mean_residual([10.0, 20.0], [13.0, 24.0])   # mean of -3 and -4
    -3.5
    """
    yt, yp = _check(y_true, y_pred)
    return float(np.mean(yt - yp))


def sd_residual(y_true, y_pred) -> float:
    """Sample standard deviation (ddof=1) of residuals y - yhat; NaN for one sample.

    Examples
    --------
    >>> sd_residual([10.0, 20.0, 30.0], [12.0, 18.0, 30.0])   # residuals -2, 2, 0
    2.0
    """
    yt, yp = _check(y_true, y_pred)
    return float(np.std(yt - yp, ddof=1)) if yt.size > 1 else float("nan")


def regression_slope(y_true, y_pred) -> float:
    """Least-squares slope of predicted on observed values (1 is unbiased; < 1 is the usual
    compression of high AGB towards the mean).

    Examples
    --------
    >>> round(regression_slope([1.0, 2.0, 3.0], [2.0, 3.0, 3.0]), 6)   # cov 1/3 / var 2/3
    0.5
    """
    yt, yp = _check(y_true, y_pred)
    v = np.var(yt)
    if v == 0:
        return float("nan")
    return float(np.mean((yt - yt.mean()) * (yp - yp.mean())) / v)


def relative_improvement(rmse_base: float, rmse_new: float) -> float:
    """RI = (RMSE_base - RMSE_new) / RMSE_base; 0.1 means 10 % lower RMSE.

    The gain of a model over a baseline, e.g. of residual kriging over its learner alone.

    References
    ----------
    Lishui CNN-Transformer + kriging study (see the module docstring).

    Examples
    --------
    >>> relative_improvement(20.0, 15.0)   # (20 - 15) / 20
    0.25
    """
    if rmse_base <= 0:
        raise ValueError(f"rmse_base={rmse_base} must be > 0.")
    return float((rmse_base - rmse_new) / rmse_base)


_ALL = {
    "r": pearson_r,
    "r2": r2,
    "rmse": rmse,
    "mae": mae,
    "overall_bias": overall_bias,
    "mean_residual": mean_residual,
    "sd_residual": sd_residual,
    "slope": regression_slope,
}


def agb_scores(y_true, y_pred) -> dict[str, float]:
    """All metrics in one call: r, r2, rmse, mae, overall_bias (NaN where a percent is not
    defined, see :func:`overall_bias`; :func:`absolute_bias` then), mean_residual (its sign
    flipped, the absolute bias), sd_residual, slope.

    Examples
    --------
    >>> s = agb_scores([10, 20, 30], [12, 18, 33])
    >>> round(s["rmse"], 4), round(s["overall_bias"], 4)
    (2.3805, 0.05)
    """
    return {name: f(y_true, y_pred) for name, f in _ALL.items()}


def binned_scores(y_true, y_pred, bins=DEFAULT_AGB_BINS) -> pd.DataFrame:
    """Per observed-AGB class: count, median, 25th and 75th percentile and IQR of predictions,
    median observed, and RMSE.

    Classes are left-closed ``[lo, hi)``; empty classes are kept with count 0 and NaN statistics.

    References
    ----------
    FineKarstAGB (Li et al., 2026), Fig. 5c; see the module docstring.

    Examples
    --------
    >>> t = binned_scores([10, 20, 60, 120], [12, 18, 70, 100], bins=(0, 50, 100, np.inf))
    >>> t[["class", "n", "rmse"]].values.tolist()
    [['0-50', 2, 2.0], ['50-100', 1, 10.0], ['>100', 1, 20.0]]
    """
    yt, yp = _check(y_true, y_pred)
    edges = np.asarray(bins, dtype=float)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"bins={list(bins)} must be increasing class edges (at least two).")
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (yt >= lo) & (yt < hi)
        label = f">{lo:g}" if np.isinf(hi) else f"{lo:g}-{hi:g}"
        if sel.any():
            q25, q50, q75 = np.percentile(yp[sel], [25, 50, 75])
            rows.append(
                {
                    "class": label,
                    "n": int(sel.sum()),
                    "median_pred": q50,
                    "q25_pred": q25,
                    "q75_pred": q75,
                    "iqr_pred": q75 - q25,
                    "median_obs": float(np.median(yt[sel])),
                    "rmse": rmse(yt[sel], yp[sel]),
                }
            )
        else:
            rows.append(
                {
                    "class": label,
                    "n": 0,
                    "median_pred": np.nan,
                    "q25_pred": np.nan,
                    "q75_pred": np.nan,
                    "iqr_pred": np.nan,
                    "median_obs": np.nan,
                    "rmse": np.nan,
                }
            )
    return pd.DataFrame(rows)


#: Scorers for ``cross_validate(..., scoring=SCORERS)``; error metrics are negated.
SCORERS = {
    "r": make_scorer(pearson_r),
    "r2": make_scorer(r2),
    "neg_rmse": make_scorer(rmse, greater_is_better=False),
    "neg_mae": make_scorer(mae, greater_is_better=False),
    "neg_overall_bias": make_scorer(overall_bias, greater_is_better=False),
}
