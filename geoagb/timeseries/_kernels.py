"""Compiled per-pixel kernels: Mann-Kendall, Theil-Sen, Hamed-Rao and Pettitt on many series.

One numba loop over pixels (in blocks of pixels, so each block allocates its work
buffers once). A pixel's series is compacted to its finite values, keeping their years, so gaps
are allowed; NaN and +-inf are both missing (an infinite carbon density is a fill value, not a
measurement: counted, it would win every pairwise comparison). The formulas follow
``pymannkendall`` (Hussain & Mahmud 2019) line by line, so the results agree with it to rounding
on complete series; see :mod:`geoagb.timeseries._trend` for the statistics and their references.
Rows of pixels with fewer than ``min_n`` finite values come back as NaN.
"""

from __future__ import annotations

import numpy as np

from .._numba import njit

__all__ = ["MK_COLUMNS", "PETTITT_COLUMNS", "mk_block", "pettitt_block"]

#: Columns of :func:`mk_block`.
MK_COLUMNS = ("slope", "intercept", "tau", "s", "var_s", "z", "n_years")
#: Columns of :func:`pettitt_block`.
PETTITT_COLUMNS = ("breakpoint_year", "breakpoint_k", "breakpoint_p", "breakpoint_shift")

_BLOCK = 512


@njit(cache=True, error_model="numpy")
def _compact(row, t, xs, ts):
    n = 0
    for k in range(row.shape[0]):
        v = row[k]
        if np.isfinite(v):  # NaN and +-inf are missing years
            xs[n] = v
            ts[n] = t[k]
            n += 1
    return n


@njit(cache=True, error_model="numpy")
def _median_inplace(a, m):
    """Median of a[:m], reordering a[:m] (Hoare's quickselect, no allocation; numpy's median,
    mean of the two middle values, for even m).
    """
    k = m // 2
    lo, hi = 0, m - 1
    while lo < hi:
        mid = (lo + hi) // 2
        # median-of-three pivot
        if a[mid] < a[lo]:
            a[mid], a[lo] = a[lo], a[mid]
        if a[hi] < a[lo]:
            a[hi], a[lo] = a[lo], a[hi]
        if a[hi] < a[mid]:
            a[hi], a[mid] = a[mid], a[hi]
        pivot = a[mid]
        i, j = lo, hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break
    upper = a[k]
    if m % 2 == 1:
        return upper
    lower = a[0]
    for q in range(1, k):
        if a[q] > lower:
            lower = a[q]
    return (lower + upper) / 2.0


@njit(cache=True, error_model="numpy")
def _sort_inplace(a, n):
    """Insertion sort of a[:n] (annual series are short; numba's sort costs seconds to compile)."""
    for i in range(1, n):
        v = a[i]
        j = i - 1
        while j >= 0 and a[j] > v:
            a[j + 1] = a[j]
            j -= 1
        a[j + 1] = v


@njit(cache=True, error_model="numpy")
def _argsort(v, n, order):
    """order[:n] = indices that sort v[:n] (stable insertion sort)."""
    for i in range(n):
        order[i] = i
    for i in range(1, n):
        k = order[i]
        j = i - 1
        while j >= 0 and v[order[j]] > v[k]:
            order[j + 1] = order[j]
            j -= 1
        order[j + 1] = k


@njit(cache=True, error_model="numpy")
def _average_ranks(v, n, order, ranks):
    """Ranks 1..n of v[:n], ties given their average rank (scipy.stats.rankdata 'average')."""
    _argsort(v, n, order)
    i = 0
    while i < n:
        j = i
        while j + 1 < n and v[order[j + 1]] == v[order[i]]:
            j += 1
        r = 0.5 * (i + j) + 1.0
        for k in range(i, j + 1):
            ranks[order[k]] = r
        i = j + 1


@njit(cache=True, error_model="numpy")
def _mk_one(xs, ts, n, hamed_rao, lag, zcrit, slopes, buf, order, ranks, out):
    # Mann-Kendall score S
    s = 0.0
    for i in range(n - 1):
        xi = xs[i]
        for j in range(i + 1, n):
            d = xs[j] - xi
            if d > 0:
                s += 1.0
            elif d < 0:
                s -= 1.0
    # variance of S with the ties correction (Kendall 1975)
    for k in range(n):
        buf[k] = xs[k]
    _sort_inplace(buf, n)
    nf = float(n)
    var_s = nf * (nf - 1.0) * (2.0 * nf + 5.0)
    i = 0
    while i < n:
        j = i
        while j + 1 < n and buf[j + 1] == buf[i]:
            j += 1
        tp = float(j - i + 1)
        if tp > 1.0:
            var_s -= tp * (tp - 1.0) * (2.0 * tp + 5.0)
        i = j + 1
    var_s /= 18.0
    tau = s / (0.5 * nf * (nf - 1.0))
    # Theil-Sen slope: median of the pairwise slopes (Sen 1968); Conover's intercept
    m = 0
    for i in range(n - 1):
        for j in range(i + 1, n):
            slopes[m] = (xs[j] - xs[i]) / (ts[j] - ts[i])
            m += 1
    slope = _median_inplace(slopes, m)
    t0 = ts[0]
    for k in range(n):
        buf[k] = xs[k]
    med_x = _median_inplace(buf, n)
    for k in range(n):
        buf[k] = ts[k] - t0
    intercept = med_x - _median_inplace(buf, n) * slope
    # Hamed & Rao (1998): inflate var(S) by the autocorrelation of the ranks of the detrended series
    if hamed_rao:
        for k in range(n):
            buf[k] = xs[k] - (ts[k] - t0 + 1.0) * slope
        _average_ranks(buf, n, order, ranks)
        mean = 0.0
        for k in range(n):
            mean += ranks[k]
        mean /= nf
        for k in range(n):
            ranks[k] -= mean
        acov0 = 0.0
        for k in range(n):
            acov0 += ranks[k] * ranks[k]
        acov0 /= nf
        nlag = n if lag < 0 else min(lag + 1, n)
        bound = zcrit / np.sqrt(nf)
        sni = 0.0
        for lg in range(1, nlag):
            c = 0.0
            for k in range(n - lg):
                c += ranks[k] * ranks[k + lg]
            ac = (c / nf) / acov0
            if not (ac <= bound and ac >= -bound):
                sni += (nf - lg) * (nf - lg - 1.0) * (nf - lg - 2.0) * ac
        var_s = var_s * (1.0 + 2.0 / (nf * (nf - 1.0) * (nf - 2.0)) * sni)
    if s > 0:
        z = (s - 1.0) / np.sqrt(var_s)
    elif s < 0:
        z = (s + 1.0) / np.sqrt(var_s)
    else:
        z = 0.0
    out[0] = slope
    out[1] = intercept
    out[2] = tau
    out[3] = s
    out[4] = var_s
    out[5] = z
    out[6] = nf


@njit(cache=True, nogil=True, error_model="numpy")
def mk_block(X, t, hamed_rao, lag, zcrit, min_n):
    """Mann-Kendall statistics and Theil-Sen slope of every row of ``X`` (n_pixels, n_years).

    ``t`` holds the years (float64); ``lag`` < 0 means every lag (Hamed-Rao); ``zcrit`` is the
    two-sided normal quantile of the significance level (Hamed-Rao's bound on the ACF).
    Returns an (n_pixels, 7) array with the columns :data:`MK_COLUMNS`.
    """
    npix, T = X.shape
    out = np.full((npix, 7), np.nan)
    nblocks = (npix + _BLOCK - 1) // _BLOCK
    for b in range(nblocks):
        xs = np.empty(T)
        ts = np.empty(T)
        buf = np.empty(T)
        ranks = np.empty(T)
        order = np.empty(T, np.int64)
        slopes = np.empty(max(1, T * (T - 1) // 2))
        res = np.empty(7)
        for p in range(b * _BLOCK, min(npix, (b + 1) * _BLOCK)):
            n = _compact(X[p], t, xs, ts)
            if n < min_n:
                continue
            _mk_one(xs, ts, n, hamed_rao, lag, zcrit, slopes, buf, order, ranks, res)
            for c in range(7):
                out[p, c] = res[c]
    return out


@njit(cache=True, error_model="numpy")
def _step_trend(xs, ts, n, min_seg, res):
    """Least-squares step on a trend, ``x = a + b t + delta [t >= t_k]``, best k (each segment at
    least ``min_seg`` values): res = (b, k, delta); NaN when no fit.
    """
    t0 = ts[0]
    s_t = s_tt = s_x = s_tx = 0.0
    for i in range(n):
        u = ts[i] - t0
        s_t += u
        s_tt += u * u
        s_x += xs[i]
        s_tx += u * xs[i]
    nf = float(n)
    best_sse = np.inf
    res[0] = res[1] = res[2] = np.nan
    # after-segment sums, built from the end
    n2 = 0.0
    s_t2 = s_x2 = 0.0
    s_xx = 0.0
    for i in range(n):
        s_xx += xs[i] * xs[i]
    for k in range(n - 1, min_seg - 1, -1):
        u = ts[k] - t0
        n2 += 1.0
        s_t2 += u
        s_x2 += xs[k]
        if n2 < min_seg:
            continue
        # normal equations [[n, St, n2], [St, Stt, St2], [n2, St2, n2]] beta = [Sx, Stx, Sx2]
        a11, a12, a13 = nf, s_t, n2
        a22, a23, a33 = s_tt, s_t2, n2
        det = (
            a11 * (a22 * a33 - a23 * a23)
            - a12 * (a12 * a33 - a23 * a13)
            + a13 * (a12 * a23 - a22 * a13)
        )
        if abs(det) < 1e-12:
            continue
        r1, r2, r3 = s_x, s_tx, s_x2
        c1 = (
            r1 * (a22 * a33 - a23 * a23) - a12 * (r2 * a33 - a23 * r3) + a13 * (r2 * a23 - a22 * r3)
        )
        c2 = (
            a11 * (r2 * a33 - a23 * r3) - r1 * (a12 * a33 - a23 * a13) + a13 * (a12 * r3 - r2 * a13)
        )
        c3 = (
            a11 * (a22 * r3 - r2 * a23) - a12 * (a12 * r3 - r2 * a13) + r1 * (a12 * a23 - a22 * a13)
        )
        b0, b1, b2 = c1 / det, c2 / det, c3 / det
        sse = s_xx - (b0 * r1 + b1 * r2 + b2 * r3)
        if sse < best_sse:
            best_sse = sse
            res[0], res[1], res[2] = b1, float(k), b2


@njit(cache=True, nogil=True, error_model="numpy")
def pettitt_block(X, t, min_n, detrend, sen):
    """Pettitt (1979) change point of every row of ``X`` (n_pixels, n_years).

    ``U_t = sum_{i<=t} sum_{j>t} sgn(x_i - x_j)``, ``K = max |U_t|`` at the last index of the
    first segment; returns (n_pixels, 4): the first year of the new regime, K, the approximate
    p-value ``min(1, 2 exp(-6 K^2 / (n^3 + n^2)))`` and the shift median(after) - median(before).
    With ``detrend`` the test runs on ``x - s t`` (``s`` the Theil-Sen slope) and the year and
    shift are those of the best least-squares step-on-trend fit ``x = a + b t + delta [t >= t_k]``
    (first year ``t_k``, shift ``delta``), so that a steady trend does not mask or fake a step.
    ``sen`` holds the Theil-Sen slopes when already known (e.g. from :func:`mk_block`), else it is
    an empty array and they are computed here.
    """
    npix, T = X.shape
    out = np.full((npix, 4), np.nan)
    nblocks = (npix + _BLOCK - 1) // _BLOCK
    for b in range(nblocks):
        xs = np.empty(T)
        ts = np.empty(T)
        st = np.empty(3)
        slopes = np.empty(max(1, T * (T - 1) // 2))
        for p in range(b * _BLOCK, min(npix, (b + 1) * _BLOCK)):
            n = _compact(X[p], t, xs, ts)
            if n < min_n:
                continue
            fitted = False
            if detrend:
                _step_trend(xs, ts, n, 2, st)
                fitted = np.isfinite(st[0])
                if sen.size:
                    s_slope = sen[p]
                else:
                    m = 0
                    for i in range(n - 1):
                        for j in range(i + 1, n):
                            slopes[m] = (xs[j] - xs[i]) / (ts[j] - ts[i])
                            m += 1
                    s_slope = _median_inplace(slopes, m)
                t0 = ts[0]
                for i in range(n):
                    xs[i] -= s_slope * (ts[i] - t0)
            u = 0.0
            k = 0.0
            best = -1
            for i in range(n - 1):
                v = 0.0
                xi = xs[i]
                for j in range(n):
                    d = xi - xs[j]
                    if d > 0:
                        v += 1.0
                    elif d < 0:
                        v -= 1.0
                u += v
                if abs(u) > k:
                    k = abs(u)
                    best = i
            nf = float(n)
            out[p, 1] = k
            out[p, 2] = min(1.0, 2.0 * np.exp(-6.0 * k * k / (nf**3 + nf**2)))
            if fitted:
                out[p, 0] = ts[int(st[1])]
                out[p, 3] = st[2]
            elif best >= 0:
                out[p, 0] = ts[best + 1]
                after = _median_inplace(xs[best + 1 : n], n - best - 1)  # disjoint slices
                out[p, 3] = after - _median_inplace(xs[: best + 1], best + 1)
            else:
                out[p, 3] = 0.0
    return out
