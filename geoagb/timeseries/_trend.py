"""Per-pixel trend statistics: Mann-Kendall test, Theil-Sen slope, Pettitt change point.

For a series ``x_1 .. x_n`` observed in years ``t_1 < .. < t_n`` (missing years allowed: NaN,
+inf and -inf are all missing, so a fill value of inf gives the same result as NaN there):

* Mann-Kendall score ``S = sum_{i<j} sgn(x_j - x_i)``; ``var(S) = [n(n-1)(2n+5) - sum_g
  t_g(t_g-1)(2t_g+5)] / 18`` with ``t_g`` the size of each group of tied values;
  ``Z = (S - sgn S) / sqrt(var S)``; two-sided ``p = 2 (1 - Phi(|Z|))``; Kendall's
  ``tau = S / (n(n-1)/2)`` (Mann 1945; Kendall 1975).
* Hamed & Rao (1998) correction for serial correlation: ``var(S)`` multiplied by
  ``n/n* = 1 + 2 / (n(n-1)(n-2)) sum_k (n-k)(n-k-1)(n-k-2) rho_k``, summing the significant
  autocorrelations ``rho_k`` of the ranks of the series detrended by its Theil-Sen slope.
* Theil-Sen slope: median of ``(x_j - x_i) / (t_j - t_i)`` over all pairs (Theil 1950; Sen 1968),
  unit of ``x`` per year; intercept (Conover 1980) ``median(x) - median(t - t_1) * slope``, the
  value of the robust line in the first year.
* Pettitt (1979) change point: ``U_k = sum_{i<=k} sum_{j>k} sgn(x_i - x_j)``, ``K = max |U_k|``,
  ``p ~ 2 exp(-6 K^2 / (n^3 + n^2))``; reported as the first year of the new regime and the
  shift ``median(after) - median(before)``.

The statistics match ``pymannkendall`` (Hussain & Mahmud 2019) to rounding on complete series
(``original_test``, ``hamed_rao_modification_test``, ``sens_slope``; slopes per time step equal
slopes per year for consecutive years). With gaps, slopes use the true years (pymannkendall
detrends the Hamed-Rao series as if the remaining values were consecutive).

References
----------
Mann, H. B. (1945). Nonparametric tests against trend. Econometrica, 13(3), 245-259.
Kendall, M. G. (1975). Rank Correlation Methods. Charles Griffin, London.
Theil, H. (1950). A rank-invariant method of linear and polynomial regression analysis.
Proceedings of the Royal Netherlands Academy of Sciences, 53.
Sen, P. K. (1968). Estimates of the regression coefficient based on Kendall's tau. Journal of the
American Statistical Association, 63(324), 1379-1389.
Conover, W. J. (1980). Practical Nonparametric Statistics, 2nd ed. Wiley, New York.
Hamed, K. H., & Rao, A. R. (1998). A modified Mann-Kendall trend test for autocorrelated data.
Journal of Hydrology, 204(1-4), 182-196.
Pettitt, A. N. (1979). A non-parametric approach to the change-point problem. Journal of the
Royal Statistical Society, Series C (Applied Statistics), 28(2), 126-135.
Hussain, M. M., & Mahmud, I. (2019). pyMannKendall: a python package for non parametric Mann
Kendall family of trend tests. Journal of Open Source Software, 4(39), 1556.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import ndtr, ndtri
from sklearn.utils import Bunch

from ._kernels import MK_COLUMNS, PETTITT_COLUMNS, mk_block, pettitt_block

__all__ = ["mann_kendall", "sens_slope", "pettitt", "check_years", "UntestedWarning"]


class UntestedWarning(UserWarning):
    """No series (pixel) had enough finite years to be tested; everything returned is NaN.

    ``counts`` holds ``n_series``, ``n_empty`` (no finite value), ``n_short`` (1 to
    ``min_years - 1`` finite values), ``n_steps`` (time steps) and ``min_years``.
    """

    def __init__(self, message: str, counts: dict | None = None):
        super().__init__(message)
        self.counts = dict(counts or {})


def untested_counts(histogram, n_steps: int, min_years: int) -> dict:
    """Counts of :class:`UntestedWarning`; ``histogram[k]`` = series with k finite values."""
    h = np.asarray(histogram, dtype=np.int64).reshape(-1)
    return dict(
        n_series=int(h.sum()),
        n_empty=int(h[0]) if h.size else 0,
        n_short=int(h[1:].sum()),
        n_steps=int(n_steps),
        min_years=int(min_years),
    )


def untested_message(c: dict, what: str = "series", fix: str = "") -> str:
    """Why no series was tested, in one line (``c`` from :func:`untested_counts`)."""
    m, T = c["min_years"], c["n_steps"]
    if T < m:
        why = f"there are {T} time step(s) but min_years={m} finite values are needed"
    else:
        why = (
            f"of {c['n_series']} {what}, {c['n_empty']} have no finite value (NaN, +-inf or "
            f"nodata in every year) and {c['n_short']} have 1 to {m - 1} finite values, fewer than "
            f"min_years={m}"
        )
    return f"no {what} was tested ({why}); every statistic is NaN. " + (
        fix or "Give a longer series, check the missing values, or lower min_years (>= 3)."
    )


def _warn_if_untested(out_n_years, rows, min_n, what, stacklevel=3):
    if np.isfinite(out_n_years).any() or out_n_years.size == 0:
        return
    hist = np.bincount(np.isfinite(rows).sum(axis=1), minlength=rows.shape[1] + 1)
    c = untested_counts(hist, rows.shape[1], min_n)
    warnings.warn(UntestedWarning(untested_message(c, what), c), stacklevel=stacklevel)


def check_years(years, n_years: int) -> np.ndarray:
    """Years of a stack of ``n_years`` layers as float64, strictly increasing.

    ``None`` numbers the layers 0, 1, 2, ... (slopes are then per layer).

    Examples
    --------
    >>> check_years([2002, 2003, 2005], 3).tolist()
    [2002.0, 2003.0, 2005.0]
    """
    if years is None:
        return np.arange(n_years, dtype=np.float64)
    t = np.asarray(years, dtype=np.float64).reshape(-1)
    if t.size != n_years:
        raise ValueError(
            f"years has {t.size} values but the series has {n_years} time steps; give one year per "
            "layer (e.g. years=range(2002, 2022) for 20 annual maps)."
        )
    if not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise ValueError(
            f"years={t.tolist()} must be finite and strictly increasing (one layer per year)."
        )
    return t


def _check_alpha(alpha: float) -> float:
    a = float(alpha)
    if not 0.0 < a < 1.0:
        raise ValueError(f"alpha={alpha} must be a significance level in (0, 1), e.g. 0.05.")
    return a


def _as_rows(y):
    """(T, ...) -> float64 (n_pixels, T) rows, the trailing shape, and whether y was 1-D."""
    a = np.asarray(y, dtype=np.float64)
    if a.ndim == 0:
        raise ValueError("y must be a series (T,) or a stack (T, ...) of series; got a scalar.")
    shape = a.shape[1:]
    rows = np.ascontiguousarray(a.reshape(a.shape[0], -1).T)
    return rows, shape, a.ndim == 1


def _check_min_years(min_years, n):
    m = int(min_years)
    if m < 3:
        raise ValueError(
            f"min_years={min_years} must be >= 3 (the Hamed-Rao variance needs n >= 3)."
        )
    return m


def _unpack(out, columns, shape, scalar):
    res = Bunch()
    for i, c in enumerate(columns):
        v = out[:, i].reshape(shape)
        res[c] = float(v) if scalar else v
    return res


def mann_kendall(
    y,
    years=None,
    *,
    alpha: float = 0.05,
    hamed_rao: bool = False,
    lag: int | None = None,
    min_years: int = 4,
) -> Bunch:
    """Mann-Kendall trend test and Theil-Sen slope of one series or of every pixel of a stack.

    Parameters
    ----------
    y : array-like of shape (T,) or (T, ...)
        A series, or a stack whose first axis is time (e.g. (T, H, W) annual maps). NaN, +inf and
        -inf mark a missing year (the value is dropped, as a fill value would be).
    years : array-like of shape (T,), optional
        Strictly increasing years; default 0, 1, ..., T-1. Slopes are per year.
    alpha : float, default 0.05
        Two-sided significance level.
    hamed_rao : bool, default False
        Correct var(S) for serial correlation (Hamed & Rao 1998).
    lag : int, optional
        Number of lags of the Hamed-Rao correction (default: all, as pymannkendall).
    min_years : int, default 4
        Fewer finite values than this give NaN; when no series has enough, an
        :class:`UntestedWarning` says why (too few time steps, or how many series are empty).

    Returns
    -------
    Bunch of floats (series) or arrays of shape ``y.shape[1:]`` (stack): ``slope`` (unit of y per
    year), ``intercept`` (robust line in the first year), ``tau``, ``s``, ``var_s``, ``z``,
    ``p_value``, ``significant`` (``p < alpha``; NaN p is not significant) and ``n_years``.

    See Also
    --------
    trend_map : the same on a raster stack, in row chunks, with the change point.

    References
    ----------
    Mann (1945); Kendall (1975); Sen (1968); Hamed & Rao (1998), see the module docstring.

    Examples
    --------
    >>> r = mann_kendall([1.0, 2.0, 3.0, 5.0, 4.0, 6.0], years=range(2002, 2008))
    >>> r.s, round(r.tau, 4), round(r.p_value, 4), r.slope
    (13.0, 0.8667, 0.0242, 1.0)
    """
    a = _check_alpha(alpha)
    rows, shape, scalar = _as_rows(y)
    t = check_years(years, rows.shape[1])
    m = _check_min_years(min_years, rows.shape[1])
    lg = -1 if lag is None else int(lag)
    if lag is not None and lg < 1:
        raise ValueError(
            f"lag={lag} must be >= 1 (number of autocorrelation lags) or None for all."
        )
    zcrit = float(ndtri(1.0 - a / 2.0))
    out = mk_block(rows, t, bool(hamed_rao), lg, zcrit, m)
    _warn_if_untested(out[:, MK_COLUMNS.index("n_years")], rows, m, "series")
    res = _unpack(out, MK_COLUMNS, shape, scalar)
    z = np.asarray(res["z"], dtype=float)
    p = 2.0 * ndtr(-np.abs(z))
    sig = np.abs(z) > zcrit
    res["p_value"] = float(p) if scalar else p
    res["significant"] = bool(sig) if scalar else sig
    return res


def sens_slope(y, years=None, *, min_years: int = 3) -> tuple:
    """Theil-Sen slope (unit of y per year) and Conover intercept (value in the first year).

    Parameters
    ----------
    y : array-like of shape (T,) or (T, ...)
    years : array-like of shape (T,), optional
    min_years : int, default 3

    Returns
    -------
    slope, intercept : float or ndarray of shape ``y.shape[1:]``

    References
    ----------
    Sen (1968); Theil (1950); Conover (1980), see the module docstring.

    Examples
    --------
    >>> sens_slope([10.0, 12.0, 13.0, 16.0], years=[2000, 2001, 2002, 2003])  # slopes 1 1.5 2 2 2 3
    (2.0, 9.5)
    """
    r = mann_kendall(y, years, min_years=min_years)
    return r["slope"], r["intercept"]


def pettitt(y, years=None, *, detrend: bool = False, min_years: int = 4) -> Bunch:
    """Pettitt's change-point test of one series or of every pixel of a stack.

    Pettitt's statistic is rank-based: on a series that also trends (a forest degrading, then
    cleared) every pair is discordant and ``|U|`` peaks mid-series whatever the step. With
    ``detrend=True`` the test (K, p) runs on the series minus its Theil-Sen trend, and the year
    and the shift are those of the least-squares step-on-trend fit ``x = a + b t + delta
    [t >= t_k]`` (best k: first year ``t_k``, shift ``delta``), so that a step is dated where
    it is and a steady trend alone is not taken for one.

    Parameters
    ----------
    y : array-like of shape (T,) or (T, ...)
        NaN and +-inf mark a missing year.
    years : array-like of shape (T,), optional
    detrend : bool, default False
        Remove the step-on-trend slope first (see above); False is Pettitt's original test.
    min_years : int, default 4

    Returns
    -------
    Bunch: ``breakpoint_year`` (first year of the new regime; NaN for a constant series),
    ``breakpoint_k`` (K = max |U|), ``breakpoint_p`` (approximate p-value) and
    ``breakpoint_shift`` (median after - median before, unit of y; with ``detrend``, the step
    ``delta``).

    References
    ----------
    Pettitt, A. N. (1979). A non-parametric approach to the change-point problem. Applied
    Statistics, 28(2), 126-135.

    Examples
    --------
    >>> r = pettitt([5.0, 5.2, 4.9, 5.1, 1.0, 1.2, 0.9, 1.1], years=range(2010, 2018))
    >>> r.breakpoint_year, r.breakpoint_k, round(r.breakpoint_shift, 2)
    (2014.0, 16.0, -4.0)
    >>> x = [10.0, 9.5, 9.1, 8.4, 8.0, 7.6, 7.1, 1.4, 1.1, 0.4]   # decline, then a drop in 2017
    >>> years = range(2010, 2020)
    >>> pettitt(x, years).breakpoint_year, pettitt(x, years, detrend=True).breakpoint_year
    (2015.0, 2017.0)
    """
    rows, shape, scalar = _as_rows(y)
    t = check_years(years, rows.shape[1])
    m = _check_min_years(min_years, rows.shape[1])
    out = pettitt_block(rows, t, m, bool(detrend), np.empty(0))
    _warn_if_untested(out[:, PETTITT_COLUMNS.index("breakpoint_k")], rows, m, "series")
    return _unpack(out, PETTITT_COLUMNS, shape, scalar)
