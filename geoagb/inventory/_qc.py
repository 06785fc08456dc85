"""Plot quality control: drop incomplete plots and plots that the imagery contradicts.

After the plot filter of FineKarstAGB (Li et al., 2026).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._random import seed_int

__all__ = ["filter_inconsistent_plots"]

_REPORT_COLUMNS = ["reason", "detail", "observed", "predicted", "relative_error"]
#: Smallest local spread of the studentized rule, as a fraction of the spread of all residuals.
_LOCAL_FLOOR = 0.5
#: Offset of the log scale, as a fraction of the median positive target: log(y + c).
_LOG_OFFSET = 0.25


def _scale(y: np.ndarray, scale: str):
    """The studentized rule's scale: ``(name, forward, back)``; ``"auto"`` is ``"log"`` when no
    value is negative (AGB: log(y + c), c a quarter of the median positive value, so that the
    spread does not grow with the value and zeros stay finite), else ``"identity"``.

    Examples
    --------
    >>> name, fwd, back = _scale(np.array([0.0, 10.0, 20.0, 30.0]), "auto")
    >>> name, fwd(np.array([0.0])).round(3).tolist(), round(float(back(fwd(7.0))), 9)
    ('log', [1.609], 7.0)
    >>> _scale(np.array([-1.0, 1.0]), "auto")[0]
    'identity'
    """
    if scale not in ("auto", "log", "identity"):
        raise ValueError(f"scale={scale!r} must be 'auto', 'log' or 'identity'.")
    if scale == "auto":
        scale = "log" if np.all(y >= 0) else "identity"
    if scale == "identity":
        return "identity", (lambda v: v), (lambda v: v)
    if np.any(y < 0):
        raise ValueError(
            f"scale='log' needs a target >= 0; the smallest is {np.min(y):g}. Pass "
            "scale='identity' (or 'auto') for a target that can be negative."
        )
    c = _LOG_OFFSET * (np.median(y[y > 0]) if np.any(y > 0) else 1.0)
    return "log", (lambda v: np.log(np.maximum(v, 0.0) + c)), (lambda v: np.exp(v) - c)


def _studentized(resid: np.ndarray, pred: np.ndarray, n_bins: int) -> np.ndarray:
    """Residuals divided by 1.4826 x MAD of the residuals in quantile bins of ``pred``.

    A bin's spread is floored at half the spread of all residuals, so that a bin of nearly
    identical residuals (e.g. many zero-AGB clearings predicted alike) does not turn every other
    plot in it into an outlier.

    Examples
    --------
    >>> r = np.array([1.0, -1.0, 2.0, -2.0, 10.0, 0.0])
    >>> _studentized(r, np.zeros(6), 1).round(2).tolist()
    [0.22, -0.67, 0.67, -1.12, 4.27, -0.22]
    """
    n_bins = max(1, min(int(n_bins), len(resid) // 10 or 1))
    edges = np.quantile(pred, np.linspace(0, 1, n_bins + 1)[1:-1])
    b = np.searchsorted(edges, pred, side="right")
    out = np.empty_like(resid, dtype=float)
    global_s = 1.4826 * np.median(np.abs(resid - np.median(resid)))
    for k in range(n_bins):
        m = b == k
        if not m.any():
            continue
        r = resid[m]
        s = 1.4826 * np.median(np.abs(r - np.median(r)))
        s = max(s, _LOCAL_FLOOR * global_s) if s > 0 else global_s
        out[m] = (r - np.median(r)) / max(s, np.finfo(float).tiny)
    return out


# filter_inconsistent_plots, step by step: settings, the record checks (incomplete, negative
# target, negative height), the out-of-fold forest, the misfit rule, the report.


def _qc_settings(plots, target, features, threshold, random_state, rule, height, relative_to):
    """Checked ``(features, height, columns, threshold, random_state)`` of
    :func:`filter_inconsistent_plots`: feature list, height column or None, the columns read
    (target, features, height; once each), the rule's default threshold and one int seed.
    """
    if not isinstance(plots, pd.DataFrame):
        raise TypeError(f"plots must be a DataFrame or GeoDataFrame; got {type(plots).__name__}.")
    features = [features] if isinstance(features, str) else list(features)
    if not features:
        raise ValueError(
            "features is empty; give at least one plot feature column, e.g. ('ndvi',)."
        )
    if height is None:
        height = "height_mean" if "height_mean" in plots.columns else None
    needed = [target] + features + ([height] if height is not None else [])
    missing = [c for c in dict.fromkeys(needed) if c not in plots.columns]
    if missing:
        raise ValueError(
            f"column(s) {missing} not found in plots (columns: {list(plots.columns)}); pass "
            "target=, features= or height= naming existing columns (features can be computed "
            "with geoagb.features.RasterFeatures.at_points)."
        )
    if rule not in ("studentized", "relative"):
        raise ValueError(f"rule={rule!r} must be 'studentized' or 'relative'.")
    if threshold is None:
        threshold = 3.0 if rule == "studentized" else 0.5
    if not (np.isfinite(threshold) and threshold > 0):
        raise ValueError(
            f"threshold={threshold!r} must be positive: a studentized residual "
            "(e.g. 3.0) or, with rule='relative', a relative error (0.5 = 50 %)."
        )
    random_state = seed_int(random_state)  # one int for the folds and the forest
    if relative_to not in ("observed", "predicted"):
        raise ValueError(f"relative_to={relative_to!r} must be 'observed' or 'predicted'.")
    return features, height, list(dict.fromkeys(needed)), threshold, random_state


def _incomplete(values, y_all):
    """Rows with a missing (NaN) value: mask and report rows (position, reason, detail,
    observed, predicted, statistic).
    """
    missing = values.isna().to_numpy()
    incomplete = missing.any(axis=1)
    cols = np.asarray(list(values.columns))
    rows = [
        (i, "incomplete", "missing " + ", ".join(cols[missing[i]]), y_all[i], np.nan, np.nan)
        for i in np.flatnonzero(incomplete)
    ]
    return incomplete, rows


def _negative_target(y_all, ok, target, drop_zero):
    """Rows of ``ok`` with ``target < 0`` (``<= 0`` with ``drop_zero``): mask and report rows.
    Only called for a target declared non-negative.
    """
    bad_y = ok & ((y_all <= 0) if drop_zero else (y_all < 0))
    sign = "<=" if drop_zero else "<"
    rows = [
        (i, "negative target", f"{target} = {y_all[i]:g} {sign} 0", y_all[i], np.nan, np.nan)
        for i in np.flatnonzero(bad_y)
    ]
    return bad_y, rows


def _negative_height(h_all, y_all, ok, height, target, drop_zero, nonnegative):
    """Rows of ``ok`` with a negative mean tree height, or (target declared non-negative) a zero
    one under positive AGB (any zero height with ``drop_zero``): mask and report rows.
    """
    bad_h = ok & (h_all < 0)
    if nonnegative:
        bad_h |= ok & ((h_all <= 0) & (y_all > 0) if not drop_zero else (h_all <= 0))
    rows = [
        (
            i,
            "negative height",
            f"{height} = {h_all[i]:g} with {target} = {y_all[i]:g}",
            y_all[i],
            np.nan,
            np.nan,
        )
        for i in np.flatnonzero(bad_h)
    ]
    return bad_h, rows


def _screen_records(values, target, height, drop_zero, nonnegative):
    """Step 1: ``(ok, rows)``, the records fit for the forest and a report row for each other
    one (incomplete, negative target, negative height, in this order of precedence). The sign
    of the target is only checked when it is declared non-negative.
    """
    y_all = values[target].to_numpy(dtype=float)
    incomplete, rows = _incomplete(values, y_all)
    ok = ~incomplete
    if nonnegative or drop_zero:
        bad_y, more = _negative_target(y_all, ok, target, drop_zero)
        rows += more
        ok &= ~bad_y
    if height is not None:
        h_all = values[height].to_numpy(dtype=float)
        bad_h, more = _negative_height(h_all, y_all, ok, height, target, drop_zero, nonnegative)
        rows += more
        ok &= ~bad_h
    return ok, rows


def _out_of_fold_prediction(X, y, *, target, cv, n_estimators, min_samples_leaf, random_state):
    """Step 2: out-of-fold predictions of ``y`` by a small random forest on ``X`` (``cv``
    shuffled folds), so that no plot predicts itself.
    """
    # sklearn submodules are imported at first use (import time)
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.model_selection import KFold, cross_val_predict

    if len(y) < 2 * cv:
        raise ValueError(
            f"only {len(y)} complete plots with a valid {target} remain; the random-forest check "
            f"needs at least {2 * cv} (2 x cv={cv}). Pass a smaller cv= or add plots."
        )
    forest = RandomForestRegressor(
        n_estimators=n_estimators,
        min_samples_leaf=min_samples_leaf,
        max_features=1.0,
        random_state=random_state,
        n_jobs=1,
    )
    folds = KFold(n_splits=cv, shuffle=True, random_state=random_state)
    return cross_val_predict(forest, X, y, cv=folds)


def _misfit(y, pred, rule, relative_to, n_bins, fwd):
    """Step 3's statistic: ``(stat, reason, what)``, |studentized residual| (on the scale
    ``fwd``) or relative error of the out-of-fold prediction, the report's reason and the
    denominator in words. A zero denominator gives NaN (never flagged): a zero target is a
    valid value that a relative error cannot judge.
    """
    if rule == "relative":
        denom = np.abs(y if relative_to == "observed" else pred)
        rel = np.full(len(y), np.nan)
        np.divide(np.abs(pred - y), denom, out=rel, where=denom > 0)
        return rel, "relative error", f"/ {relative_to}"
    z = _studentized(fwd(y) - fwd(pred), fwd(pred), n_bins)
    return np.abs(z), "studentized residual", "/ local robust sd"


def _report(plots, rows):
    """The report of dropped plots: one row per plot, in the order of ``plots``."""
    rows = sorted(rows, key=lambda r: r[0])
    report = pd.DataFrame(
        [r[1:] for r in rows], columns=_REPORT_COLUMNS, index=plots.index[[r[0] for r in rows]]
    )
    return report.astype({"observed": float, "predicted": float, "relative_error": float})


def filter_inconsistent_plots(
    plots,
    target="agb",
    features=("ndvi", "crown_cover", "height_mean"),
    threshold=None,
    random_state=None,
    *,
    rule="studentized",
    height=None,
    relative_to="observed",
    cv=5,
    n_estimators=200,
    min_samples_leaf=3,
    n_bins=5,
    drop_zero=False,
    nonnegative=False,
    scale="auto",
):
    """FineKarstAGB's plot quality control: keep the plots whose field AGB the imagery supports.

    1. Drop incomplete records (NaN in ``target`` or a feature) and plots with mean tree height
       ``< 0``. The target's sign is only checked when it is declared non-negative
       (``nonnegative=True``, AGB: ``target < 0`` is dropped): a generic target (an ordination
       axis, a residual) may be negative. Plots with zero AGB are real (clearings, young
       stands) and are kept unless ``drop_zero=True`` (then ``target <= 0`` is dropped, as in
       FineKarstAGB).
    2. Fit a small random forest of ``target`` on a few robust plot features (default: mean NDVI,
       crown cover, mean canopy height over the plot) and predict every plot **out of fold**
       (:func:`sklearn.model_selection.cross_val_predict`, ``cv`` shuffled folds), so that no plot
       predicts itself: a forest's in-sample prediction contains the plot's own value in its
       leaves and would hide exactly the plots it must find.
    3. Drop the plots the forest contradicts: field AGB measured in another epoch than the
       imagery (harvest, disturbance, regrowth) or plot records that are simply wrong.
       ``rule="studentized"`` (default): the out-of-fold residual divided by the robust spread
       of residuals among plots of similar predicted AGB (1.4826 x MAD within ``n_bins``
       quantile bins of the prediction, floored at half the spread of all residuals) exceeds
       ``threshold`` (default 3.0). For a target without negative values the forest and the
       residuals work on the scale ``log(target + c)``, ``c`` a quarter of the median positive
       value, where the spread no longer grows with the value (Box and Cox, 1964), so the
       richest plots of a heavy upper tail are not flagged merely for being large; a zero
       target (a clearing) is never flagged by this rule. A target with negative values is
       studentized as it is. ``rule="relative"``: FineKarstAGB's rule, relative error
       ``|predicted - observed| / |observed|`` above ``threshold`` (default 0.5); it flags
       mostly low-biomass plots, and a zero denominator gives NaN (not flagged).

    Parameters
    ----------
    plots : DataFrame or GeoDataFrame
        One row per plot with the ``target`` and ``features`` columns.
    target : str, default "agb"
        Field AGB column, Mg/ha.
    features : sequence of str, default ("ndvi", "crown_cover", "height_mean")
        Plot features for the forest.
    threshold : float or None
        Largest studentized residual kept (default 3.0), or with ``rule="relative"`` the largest
        relative error kept (default 0.5 = 50 %).
    random_state : int, RandomState, Generator or None, default None
        Seed of the folds and of the forest.
    rule : {"studentized", "relative"}, default "studentized"
    n_bins : int, default 5
        Quantile bins of the predicted AGB for the local spread (studentized rule).
    drop_zero : bool, default False
        Also drop plots with zero target (FineKarstAGB's ``AGB <= 0`` rule).
    nonnegative : bool, default False
        The target is declared non-negative (AGB, carbon density): ``target < 0`` is an
        invalid record ("negative target"), and so is a zero mean tree height under positive
        AGB. False (a generic target): no rule looks at the target's sign.
    scale : {"auto", "log", "identity"}, default "auto"
        Scale of the studentized rule; ``"auto"``: ``"log"`` when no complete plot has a
        negative target, else ``"identity"``. The ``predicted`` column is on the target's
        scale (back-transformed: a median, not a mean, under ``"log"``).
    height : str, optional
        Mean tree height column checked for ``<= 0``; default ``"height_mean"`` when present.
    relative_to : {"observed", "predicted"}, default "observed"
        Denominator of the relative error. With ``"observed"`` (FineKarstAGB) a plot with half the
        expected AGB has error 1.0 but one with twice the expected AGB only 0.5, so over-measured
        plots are found less often; ``"predicted"`` treats both directions alike.
    cv : int, default 5
        Number of folds for the out-of-fold predictions.
    n_estimators, min_samples_leaf : int
        Size of the (deliberately small, smooth) random forest.

    Returns
    -------
    kept : DataFrame or GeoDataFrame
        The plots that pass, same type, columns and index as ``plots``.
    report : pandas.DataFrame
        One row per dropped plot, indexed like ``plots``: ``reason`` (``"incomplete"``,
        ``"negative target"``, ``"negative height"``, ``"studentized residual"`` or
        ``"relative error"``), ``detail`` (text), ``observed``, ``predicted`` (out-of-fold, NaN
        for the records dropped in step 1) and ``relative_error`` (the statistic compared with
        ``threshold``: studentized residual or relative error).

    References
    ----------
    Li, Y., Bai, Y., Chen, Z. et al. FineKarstAGB: a 30 m resolution aboveground biomass
    dataset for Southwest China derived by upscaling plot-level inventory using sub-meter GaoFen
    satellite data; dataset in Science Data Bank, 2026, https://doi.org/10.57760/sciencedb.33452.
    Section 2.3.1: plots with relative prediction errors above 50 % were excluded.

    Examples
    --------
    >>> from geoagb.datasets import make_plots
    >>> plots, truth = make_plots(300, random_state=0, return_truth=True)
    >>> kept, report = filter_inconsistent_plots(plots, random_state=0, n_estimators=50)
    >>> len(kept) + len(report) == len(plots), sorted(report["reason"].unique())
    (True, ['studentized residual'])
    >>> planted = set(truth.index[truth["inconsistent"]])     # the 5 plots of another epoch
    >>> found = planted & set(report.index)
    >>> len(planted), len(found) >= 1, len(found) / len(report) > 0.5   # precision > 0.5
    (5, True, True)
    """
    features, height, cols, threshold, random_state = _qc_settings(
        plots, target, features, threshold, random_state, rule, height, relative_to
    )
    values = plots[cols].apply(pd.to_numeric, errors="coerce")
    ok, rows = _screen_records(values, target, height, drop_zero, nonnegative)

    X = values.loc[ok, features].to_numpy(dtype=float)
    y = values[target].to_numpy(dtype=float)[ok]
    scale, fwd, back = _scale(y, scale if rule == "studentized" else "identity")
    pred = back(
        _out_of_fold_prediction(
            X,
            fwd(y),
            target=target,
            cv=cv,
            n_estimators=n_estimators,
            min_samples_leaf=min_samples_leaf,
            random_state=random_state,
        )
    )
    rel, reason, what = _misfit(y, pred, rule, relative_to, n_bins, fwd)
    # a zero of a target without negative values is a clearing, valid whatever the imagery says
    bad_rel = (rel > threshold) & ~((y == 0) & (scale == "log"))
    positions = np.flatnonzero(ok)
    if scale == "log":
        what += " on the log scale"
    for i, yv, pv, rv in zip(positions[bad_rel], y[bad_rel], pred[bad_rel], rel[bad_rel]):
        detail = f"|{pv:.1f} - {yv:.1f}| {what} = {rv:.2f} > {threshold:g}"
        rows.append((i, reason, detail, yv, pv, rv))

    keep = ok.copy()
    keep[positions[bad_rel]] = False
    return plots.iloc[np.flatnonzero(keep)], _report(plots, rows)
