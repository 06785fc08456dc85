"""VOD calibration of an AGBC series inside regions (linear regression or quantile mapping).

Cover fractions miss carbon gained or lost *inside* a canopy (densification, thinning); the
microwave vegetation optical depth (VOD) sees it. In each region:

1. the VOD-to-AGBC relation ``f`` is fitted across the region's cells in the base year, where the
   benchmark AGBC is trusted, by two methods:

   * ``"linear"``: ``AGBC = a + b VOD`` (least squares);
   * ``"quantile"``: quantile mapping ``f = F_AGBC^-1 o F_VOD`` between the empirical
     distributions (monotone, follows VOD's saturation at high biomass), extended beyond the
     base-year range along the line through its outer 10 % quantiles;

2. the method with the lower cross-validated RMSE (k-fold over cells) is kept; the two-sample
   Kolmogorov-Smirnov distance between the out-of-fold predictions and the benchmark is
   reported too (quantile mapping preserves distributions, regression shrinks them);
3. the series is recalibrated with VOD's change since the base year:
   ``AGBC'_t = AGBC_base + f(VOD_t) - f(VOD_base)`` (clipped at 0), per cell;
4. before / after agreement with the VOD reference ``f(VOD_t)`` over the other years: Pearson r,
   RMSE and bias (series - reference, MgC/ha), and the Theil-Sen trend of the region-mean series
   (MgC/ha/yr) before, after and of the reference.

VOD products are coarse (about 25 km); resample them onto the AGBC grid first. Arrays are held
in memory (the regional fits need a region's cells at once).

References
----------
Feng, X. (data contributor). Maps with 1 km resolution reveal increases in above- and
belowground forest biomass carbon pools in China over the past 20 years (dataset, 2002-2021).
CSTR 11738.11.NCDC.FIGSHARE.DB6534.2024: the AGBC series of specific regions calibrated with a
long-term microwave VOD dataset.
Panofsky, H. A., & Brier, G. W. (1968). Some Applications of Statistics to Meteorology.
Pennsylvania State University (quantile mapping).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import ks_2samp
from sklearn.model_selection import KFold

from .._random import check_random_state
from ._trend import sens_slope

__all__ = ["LinearMapping", "QuantileMapping", "VODCalibration", "calibrate_vod", "METHODS"]


class LinearMapping:
    """``AGBC = intercept + slope * VOD`` by least squares.

    Examples
    --------
    >>> m = LinearMapping().fit([0.2, 0.4, 0.6], [20.0, 40.0, 60.0])
    >>> m.predict([0.5]).round(6).tolist()
    [50.0]
    """

    def fit(self, v, a):
        v, a = np.asarray(v, float), np.asarray(a, float)
        self.slope, self.intercept = (
            np.polyfit(v, a, 1) if np.ptp(v) > 0 else (0.0, float(a.mean()))
        )
        return self

    def predict(self, v):
        return self.intercept + self.slope * np.asarray(v, float)


class QuantileMapping:
    """``AGBC = F_AGBC^-1(F_VOD(VOD))`` from empirical quantiles, linear beyond the outer 10 %.

    Parameters
    ----------
    n_quantiles : int, default 101

    Examples
    --------
    >>> v = np.linspace(0, 1, 11); a = 100 * v ** 2            # any monotone relation
    >>> m = QuantileMapping(11).fit(v, a)
    >>> m.predict([0.5, 1.1]).round(1).tolist()                 # exact inside, linear beyond
    [25.0, 119.0]
    """

    def __init__(self, n_quantiles: int = 101):
        self.n_quantiles = n_quantiles

    def fit(self, v, a):
        p = np.linspace(0.0, 1.0, int(self.n_quantiles))
        self.qv = np.quantile(np.asarray(v, float), p)
        self.qa = np.quantile(np.asarray(a, float), p)
        k = max(1, int(round(0.1 * (len(p) - 1))))
        self._lo = self._edge_slope(self.qv[0], self.qv[k], self.qa[0], self.qa[k])
        self._hi = self._edge_slope(self.qv[-1 - k], self.qv[-1], self.qa[-1 - k], self.qa[-1])
        return self

    @staticmethod
    def _edge_slope(v0, v1, a0, a1):
        return (a1 - a0) / (v1 - v0) if v1 > v0 else 0.0

    def predict(self, v):
        v = np.asarray(v, float)
        qv, keep = np.unique(self.qv, return_index=True)  # np.interp needs increasing x
        out = np.interp(v, qv, self.qa[keep])
        lo, hi = v < self.qv[0], v > self.qv[-1]
        out[lo] = self.qa[0] + self._lo * (v[lo] - self.qv[0])
        out[hi] = self.qa[-1] + self._hi * (v[hi] - self.qv[-1])
        return out


#: Calibration methods by name.
METHODS = {"linear": LinearMapping, "quantile": QuantileMapping}


@dataclass
class VODCalibration:
    """Result of :func:`calibrate_vod`.

    Attributes
    ----------
    agbc : ndarray of shape (T, H, W)
        The series, recalibrated in the calibrated regions, MgC/ha.
    report : DataFrame
        One row per region: n_cells, calibrated, method, cv_rmse_<method>, ks_<method>,
        r_before, rmse_before, bias_before, r_after, rmse_after, bias_after (MgC/ha, against
        the VOD reference), trend_before, trend_after, trend_vod (MgC/ha/yr, region means).
    mappings : dict of region name -> fitted mapping
    years : ndarray
    base_year : int or tuple
    """

    agbc: np.ndarray
    report: pd.DataFrame
    mappings: dict
    years: np.ndarray
    base_year: object


def _agreement(series, ref):
    ok = np.isfinite(series) & np.isfinite(ref)
    x, y = series[ok], ref[ok]
    if x.size < 2:
        return np.nan, np.nan, np.nan
    r = float(np.corrcoef(x, y)[0, 1]) if np.ptp(x) > 0 and np.ptp(y) > 0 else np.nan
    return r, float(np.sqrt(np.mean((x - y) ** 2))), float(np.mean(x - y))


def _cv_scores(v, a, methods, n_splits, n_quantiles, rng):
    kf = KFold(n_splits=n_splits, shuffle=True, random_state=rng)
    oof = {m: np.empty_like(a) for m in methods}
    for tr, te in kf.split(v):
        for m in methods:
            est = QuantileMapping(n_quantiles) if m == "quantile" else METHODS[m]()
            oof[m][te] = est.fit(v[tr], a[tr]).predict(v[te])
    rmse = {m: float(np.sqrt(np.mean((oof[m] - a) ** 2))) for m in methods}
    ks = {m: float(ks_2samp(oof[m], a, method="asymp").statistic) for m in methods}
    return rmse, ks


def calibrate_vod(
    agbc,
    vod,
    regions,
    *,
    years,
    base_year,
    calibrate=None,
    methods=("linear", "quantile"),
    region_names=None,
    n_splits: int = 5,
    n_quantiles: int = 101,
    min_cells: int = 30,
    random_state=None,
) -> VODCalibration:
    """Recalibrate an annual AGBC series with VOD inside regions; report before/after agreement.

    Parameters
    ----------
    agbc : ndarray of shape (T, H, W)
        AGBC series, MgC/ha (e.g. from :func:`scale_by_cover`).
    vod : ndarray of shape (T, H, W)
        VOD on the same grid and years.
    regions : int ndarray of shape (H, W)
        Region codes (negative: outside every region, left unchanged).
    years : sequence of int
    base_year : int or (int, int)
        Year (or inclusive range, averaged) of the benchmark: where ``f`` is fitted.
    calibrate : sequence of region names or codes, optional
        Regions to recalibrate (default all); the others are reported only.
    methods : sequence of {"linear", "quantile"}
        Candidate mappings; the lowest cross-validated RMSE wins.
    region_names : sequence of str, optional
        Names of the codes 0, 1, ...
    n_splits : int, default 5
        Folds (over cells, shuffled) of the method choice.
    n_quantiles : int, default 101
    min_cells : int, default 30
        Regions with fewer valid cells are not calibrated.
    random_state : int, Generator, RandomState or None
        Seed of the folds.

    Returns
    -------
    VODCalibration

    References
    ----------
    See the module docstring (1 km China AGBC/BGBC 2002-2021 dataset; Panofsky & Brier 1968).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(2010, 2016)
    >>> base = rng.uniform(20, 80, (1, 10, 10))                       # MgC/ha in 2012
    >>> truth = base * (1 + 0.05 * (t - 2012))[:, None, None]         # densifying: +5 %/yr
    >>> vod = 0.01 * truth                                            # VOD sees it
    >>> flat = np.repeat(base, len(t), axis=0)                        # cover-based: flat
    >>> cal = calibrate_vod(flat, vod, np.zeros((10, 10), int), years=t, base_year=2012,
    ...                     random_state=0)
    >>> bool(np.allclose(cal.agbc, truth))
    True
    >>> cal.report.loc["0", ["trend_before", "trend_after"]].astype(float).round(2).tolist()
    [0.0, 2.64]
    """
    A = np.asarray(agbc, dtype=np.float64)
    V = np.asarray(vod, dtype=np.float64)
    if A.ndim != 3 or A.shape != V.shape:
        raise ValueError(
            f"agbc {A.shape} and vod {V.shape} must be (T, H, W) stacks of the same shape; "
            "resample VOD onto the AGBC grid and years first."
        )
    R = np.asarray(regions)
    if R.shape != A.shape[1:] or R.dtype.kind not in "iu":
        raise ValueError(
            f"regions must be an integer (H, W) array matching the maps {A.shape[1:]}; "
            f"got {R.dtype} {R.shape}."
        )
    t = np.asarray(years).astype(np.int64)
    if t.size != A.shape[0]:
        raise ValueError(f"{t.size} years for {A.shape[0]} layers; give one year per layer.")
    methods = tuple(methods)
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise ValueError(f"methods={methods} must be a non-empty subset of {tuple(METHODS)}.")
    if isinstance(base_year, (tuple, list)):
        bidx = np.flatnonzero((t >= int(base_year[0])) & (t <= int(base_year[1])))
    else:
        bidx = np.flatnonzero(t == int(base_year))
    if bidx.size == 0:
        raise ValueError(f"base_year={base_year} is not among the years {t.min()}-{t.max()}.")
    other = np.setdiff1d(np.arange(t.size), bidx)
    rng = check_random_state(random_state)
    codes = [int(c) for c in np.unique(R[R >= 0])]
    names = {c: (str(region_names[c]) if region_names is not None else str(c)) for c in codes}
    keys = None if calibrate is None else {str(x) for x in calibrate}
    wanted = {c for c in codes if keys is None or names[c] in keys or str(c) in keys}
    if calibrate is not None and not wanted:
        raise ValueError(
            f"calibrate={list(calibrate)} names no region; regions are {list(names.values())}."
        )
    out = A.copy()
    rows, mappings = {}, {}
    a_base_all, v_base_all = A[bidx].mean(axis=0), V[bidx].mean(axis=0)
    for c in codes:
        m = R == c
        a_b, v_b = a_base_all[m], v_base_all[m]
        ok = np.isfinite(a_b) & np.isfinite(v_b)
        row = {"n_cells": int(ok.sum()), "calibrated": False, "method": None}
        if ok.sum() >= max(min_cells, 2 * n_splits):
            rmse, ks = _cv_scores(v_b[ok], a_b[ok], methods, n_splits, n_quantiles, rng)
            best = min(methods, key=lambda k: (rmse[k], k != "linear"))
            row["method"] = best
            for k in methods:
                row[f"cv_rmse_{k}"], row[f"ks_{k}"] = rmse[k], ks[k]
            f = (QuantileMapping(n_quantiles) if best == "quantile" else METHODS[best]()).fit(
                v_b[ok], a_b[ok]
            )
            mappings[names[c]] = f
            series, vt = A[:, m], V[:, m]
            ref = f.predict(vt)
            cal = np.maximum(a_b + ref - f.predict(v_b), 0.0)
            if c in wanted:
                out[:, m] = cal
                row["calibrated"] = True
            after = out[:, m]
            for tag, s in (("before", series), ("after", after)):
                r, e, bias = _agreement(s[other], ref[other])
                row[f"r_{tag}"], row[f"rmse_{tag}"], row[f"bias_{tag}"] = r, e, bias
            for tag, s in (("before", series), ("after", after), ("vod", ref)):
                row[f"trend_{tag}"] = float(sens_slope(np.nanmean(s, axis=1), t)[0])
        rows[names[c]] = row
    report = pd.DataFrame.from_dict(rows, orient="index").rename_axis("region")
    return VODCalibration(
        agbc=out.astype(np.float32), report=report, mappings=mappings, years=t, base_year=base_year
    )
