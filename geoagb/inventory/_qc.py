"""Plot quality control: drop incomplete plots and plots that the imagery contradicts (seed 000)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["filter_inconsistent_plots"]

_REPORT_COLUMNS = ["reason", "detail", "observed", "predicted", "relative_error"]


def filter_inconsistent_plots(plots, target="agb", features=("ndvi", "crown_cover", "height_mean"),
                              threshold=0.5, random_state=0, *, height=None, relative_to="observed",
                              cv=5, n_estimators=200, min_samples_leaf=3):
    """Seed 000's plot quality control: keep the plots whose field AGB the imagery supports.

    1. Drop incomplete records (NaN in ``target`` or a feature), plots with ``target <= 0`` and
       plots with mean tree height ``<= 0``.
    2. Fit a small random forest of ``target`` on a few robust plot features (default: mean NDVI,
       crown cover, mean canopy height over the plot) and predict every plot **out of fold**
       (:func:`sklearn.model_selection.cross_val_predict`, ``cv`` shuffled folds), so that no plot
       predicts itself: a forest's in-sample prediction contains the plot's own value in its
       leaves and would hide exactly the plots it must find.
    3. Drop plots whose relative error ``|predicted - observed| / observed`` exceeds
       ``threshold`` (50 % in seed 000): field AGB measured in another epoch than the imagery
       (harvest, disturbance, regrowth) or plot records that are simply wrong.

    Parameters
    ----------
    plots : DataFrame or GeoDataFrame
        One row per plot with the ``target`` and ``features`` columns.
    target : str, default "agb"
        Field AGB column, Mg/ha.
    features : sequence of str, default ("ndvi", "crown_cover", "height_mean")
        Plot features for the forest.
    threshold : float, default 0.5
        Largest relative error kept (0.5 = 50 %).
    random_state : int, default 0
        Seed of the folds and of the forest.
    height : str, optional
        Mean tree height column checked for ``<= 0``; default ``"height_mean"`` when present.
    relative_to : {"observed", "predicted"}, default "observed"
        Denominator of the relative error. With ``"observed"`` (seed 000) a plot with half the
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
        ``"non-positive target"``, ``"non-positive height"`` or ``"relative error"``), ``detail``
        (text), ``observed``, ``predicted`` (out-of-fold, NaN for the records dropped in step 1)
        and ``relative_error``.

    References
    ----------
    Seed 000 (FineKarstAGB), section 2.3.1: plots with relative prediction errors above 50 %
    were excluded.

    Examples
    --------
    >>> from geoagb.datasets import make_plots
    >>> plots, truth = make_plots(300, random_state=0, return_truth=True)
    >>> kept, report = filter_inconsistent_plots(plots)
    >>> len(kept) + len(report) == len(plots), sorted(report["reason"].unique())
    (True, ['relative error'])
    """
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.model_selection import KFold, cross_val_predict

    if not isinstance(plots, pd.DataFrame):
        raise TypeError(f"plots must be a DataFrame or GeoDataFrame; got {type(plots).__name__}.")
    features = [features] if isinstance(features, str) else list(features)
    if not features:
        raise ValueError("features is empty; give at least one plot feature column, e.g. ('ndvi',).")
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
    if not (np.isfinite(threshold) and threshold > 0):
        raise ValueError(f"threshold={threshold!r} must be a positive relative error, e.g. 0.5 for 50 %.")
    if relative_to not in ("observed", "predicted"):
        raise ValueError(f"relative_to={relative_to!r} must be 'observed' or 'predicted'.")

    cols = list(dict.fromkeys(needed))
    values = plots[cols].apply(pd.to_numeric, errors="coerce")
    y_all = values[target].to_numpy(dtype=float)
    rows = []  # (position, reason, detail, observed, predicted, relative error)

    missing = values.isna().to_numpy()
    incomplete = missing.any(axis=1)
    for i in np.flatnonzero(incomplete):
        rows.append((i, "incomplete", "missing " + ", ".join(np.asarray(cols)[missing[i]]),
                     y_all[i], np.nan, np.nan))
    ok = ~incomplete
    bad_y = ok & (y_all <= 0)
    for i in np.flatnonzero(bad_y):
        rows.append((i, "non-positive target", f"{target} = {y_all[i]:g} <= 0", y_all[i], np.nan, np.nan))
    ok &= ~bad_y
    if height is not None:
        h_all = values[height].to_numpy(dtype=float)
        bad_h = ok & (h_all <= 0)
        for i in np.flatnonzero(bad_h):
            rows.append((i, "non-positive height", f"{height} = {h_all[i]:g} <= 0", y_all[i], np.nan, np.nan))
        ok &= ~bad_h

    n_ok = int(ok.sum())
    if n_ok < 2 * cv:
        raise ValueError(
            f"only {n_ok} complete plots with positive {target} remain; the random-forest check "
            f"needs at least {2 * cv} (2 x cv={cv}). Lower cv or add plots."
        )
    X = values.loc[ok, features].to_numpy(dtype=float)
    y = y_all[ok]
    forest = RandomForestRegressor(n_estimators=n_estimators, min_samples_leaf=min_samples_leaf,
                                   max_features=1.0, random_state=random_state, n_jobs=1)
    folds = KFold(n_splits=cv, shuffle=True, random_state=random_state)
    pred = cross_val_predict(forest, X, y, cv=folds)
    denom = y if relative_to == "observed" else np.maximum(pred, np.finfo(float).tiny)
    rel = np.abs(pred - y) / denom
    bad_rel = rel > threshold
    positions = np.flatnonzero(ok)
    for i, yv, pv, rv in zip(positions[bad_rel], y[bad_rel], pred[bad_rel], rel[bad_rel]):
        detail = f"|{pv:.1f} - {yv:.1f}| / {relative_to} = {rv:.2f} > {threshold:g}"
        rows.append((i, "relative error", detail, yv, pv, rv))

    keep = ok.copy()
    keep[positions[bad_rel]] = False
    rows.sort(key=lambda r: r[0])
    report = pd.DataFrame([r[1:] for r in rows], columns=_REPORT_COLUMNS,
                          index=plots.index[[r[0] for r in rows]])
    report = report.astype({"observed": float, "predicted": float, "relative_error": float})
    return plots.iloc[np.flatnonzero(keep)], report
