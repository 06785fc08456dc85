"""Correlation screening of candidate features (the layout of Table A4 of the Shenzhen urban
vegetation carbon study, Remote Sensing 2026).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .._coords import drop_coords
from ._indices import INDEX_BANDS, SENSOR_BANDS
from ._terrain import TERRAIN_VARIABLES

__all__ = ["screen_features", "feature_category"]

_BANDS = {
    "coastal",
    "blue",
    "green",
    "red",
    "nir",
    "swir1",
    "swir2",
    "rededge1",
    "rededge2",
    "rededge3",
    "nir_narrow",
    "pan",
}
_TERRAIN = set(TERRAIN_VARIABLES) | {"dem", "elev", "height_above_channel"}
_STRUCTURE = ("height", "chm", "crown", "canopy", "cover", "lidar")


def feature_category(name: str) -> str:
    """A Table A4 category guessed from a feature name.

    "vegetation index", "texture", "band ratio", "spectral band", "topography",
    "canopy structure" or "other".

    Examples
    --------
    >>> [feature_category(n) for n in ["ndvi", "nir_glcm7_mean", "ratio_red_nir", "B4", "twi"]]
    ['vegetation index', 'texture', 'band ratio', 'spectral band', 'topography']
    """
    n = str(name).lower()
    if n in INDEX_BANDS or n in ("mndwi", "gndvi", "msavi", "ndre"):
        return "vegetation index"
    if "_glcm" in n or n.startswith("glcm"):
        return "texture"
    if n.startswith("ratio_") or re.fullmatch(r"tr\d+", n):
        return "band ratio"
    ids = {k.lower() for t in SENSOR_BANDS.values() for k in t}
    if n in _BANDS or n in ids or re.fullmatch(r"(sr_)?b0*\d+a?", n):
        return "spectral band"
    if n in _TERRAIN or n.startswith(("slope", "aspect", "curv", "tpi", "twi", "hli", "relief")):
        return "topography"
    if any(s in n for s in _STRUCTURE):
        return "canopy structure"
    return "other"


def screen_features(
    X,
    y,
    alpha: float = 0.05,
    method: str = "fdr_bh",
    collinearity_threshold: float | None = None,
    coords=None,
    categories: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Pearson correlation of each feature with the target, adjusted p-values, selection.

    For every numeric feature column: r and its two-sided p-value
    (:func:`scipy.stats.pearsonr`, rows with NaN in the feature or the target left out),
    p-values adjusted for multiple testing over all features
    (:func:`statsmodels.stats.multitest.multipletests`, Benjamini-Hochberg by default). A
    feature is selected when ``p_adj < alpha`` and, with ``collinearity_threshold``, when no
    feature more correlated with the target (in absolute value) is already selected with which
    it has ``|r| > collinearity_threshold`` (greedy pruning by decreasing ``|r|`` with y).

    Parameters
    ----------
    X : DataFrame or GeoDataFrame
        Candidate features; geometry and the ``coords`` columns are ignored, as are
        non-numeric columns.
    y : array-like
        Target (e.g. AGB, Mg/ha), aligned with ``X``.
    alpha : float, default 0.05
        Significance level for the adjusted p-values.
    method : str, default "fdr_bh"
        Any ``multipletests`` method ("bonferroni", "holm", "fdr_by", ...).
    collinearity_threshold : float, optional
        E.g. 0.9 to keep one feature of each group of near-duplicates (NDVI / SAVI ...).
    coords : pair of str, default None
        Coordinate columns to skip (``None``: ``("x", "y")``).
    categories : dict feature -> category, optional
        Overrides :func:`feature_category`.

    Returns
    -------
    DataFrame
        Columns ``feature, r, p, p_adj, category, selected, n, note`` (``n`` rows used,
        ``note`` why a feature was not selected), sorted by decreasing ``|r|``; the layout of
        Table A4 of the Shenzhen study.

    References
    ----------
    Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery rate: a practical and
    powerful approach to multiple testing. Journal of the Royal Statistical Society, Series B
    57, 289-300.

    Estimation of urban above-ground vegetation carbon density and analysis of
    topography-modulated spectral responses in Shenzhen, China. Remote Sensing, 2026 (the
    Shenzhen study; Table A4).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"ndvi": rng.normal(size=200), "noise": rng.normal(size=200)})
    >>> y = 2 * X["ndvi"] + rng.normal(size=200)
    >>> screen_features(X, y)[["feature", "selected"]].values.tolist()
    [['ndvi', True], ['noise', False]]
    """
    from scipy.stats import pearsonr
    from statsmodels.stats.multitest import multipletests

    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"X must be a DataFrame of features; got {type(X).__name__}.")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha} must be in (0, 1), e.g. 0.05.")
    if collinearity_threshold is not None and not 0 < collinearity_threshold <= 1:
        raise ValueError(
            f"collinearity_threshold={collinearity_threshold} must be in (0, 1], e.g. 0.9, or None."
        )
    F = drop_coords(X, coords)
    F = F.select_dtypes(include=[np.number, "bool"]).astype(float)
    yv = np.asarray(y, dtype=float).ravel()
    if len(yv) != len(F):
        raise ValueError(f"y has {len(yv)} values but X has {len(F)} rows.")
    rows = []
    for col in F.columns:
        x = F[col].to_numpy()
        ok = np.isfinite(x) & np.isfinite(yv)
        r = p = np.nan
        if ok.sum() >= 3 and np.ptp(x[ok]) > 0 and np.ptp(yv[ok]) > 0:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = pearsonr(x[ok], yv[ok])
            r, p = float(res.statistic), float(res.pvalue)
        rows.append((str(col), r, p, int(ok.sum())))
    out = pd.DataFrame(rows, columns=["feature", "r", "p", "n"])
    out["p_adj"] = np.nan
    finite = out["p"].notna().to_numpy()
    if finite.any():
        out.loc[finite, "p_adj"] = multipletests(
            out.loc[finite, "p"].to_numpy(), alpha=alpha, method=method
        )[1]
    cats = dict(categories or {})
    out["category"] = [cats.get(f, feature_category(f)) for f in out["feature"]]
    out = out.reindex(out["r"].abs().sort_values(ascending=False, na_position="last").index)
    selected, notes, kept = [], [], []
    for f, r, p_adj in zip(out["feature"], out["r"], out["p_adj"]):
        if not np.isfinite(r):
            selected.append(False)
            notes.append("constant or too few values")
            continue
        if not p_adj < alpha:
            selected.append(False)
            notes.append(f"p_adj={p_adj:.3g} >= {alpha:g}")
            continue
        if collinearity_threshold is not None:
            clash = None
            for k in kept:
                both = F[[f, k]].dropna()
                if len(both) > 2:
                    rr = float(np.corrcoef(both[f], both[k])[0, 1])
                    if abs(rr) > collinearity_threshold:
                        clash = (k, rr)
                        break
            if clash is not None:
                selected.append(False)
                notes.append(f"|r|={abs(clash[1]):.3f} with {clash[0]}")
                continue
        kept.append(f)
        selected.append(True)
        notes.append("")
    out["selected"] = selected
    out["note"] = notes
    return out[["feature", "r", "p", "p_adj", "category", "selected", "n", "note"]].reset_index(
        drop=True
    )
