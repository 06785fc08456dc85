r"""Compiled moving-neighbourhood ordinary kriging along a walk through the targets.

For a target with neighbours ``S`` (covariance matrix ``C = L L'``, right-hand side ``c``) the
ordinary kriging system ``[C 1; 1' 0] [lambda; mu] = [c; 1]`` reduces to inner products of
three forward substitutions, ``w_c = L^-1 c``, ``w_1 = L^-1 1`` and ``w_z = L^-1 z``:

    mu = (w_1 . w_c - 1) / (w_1 . w_1),
    estimate = w_z . w_c - mu w_z . w_1,
    variance = C(0) - w_c . w_c + mu w_1 . w_c - mu                (gstat's definition).

``w_1`` and ``w_z`` depend only on ``S``. Targets are visited along a Hilbert curve, so
consecutive targets (a map grid) mostly share their neighbours: where only a few data leave or
enter the set, the factor ``L`` and ``w_1, w_z`` are *updated* instead of rebuilt, deleting a datum by a
rank-one Cholesky update of the trailing block (Givens rotations; Golub & Van Loan 2013, 6.5.4)
and appending one by a forward substitution. A target then costs O(k^2) instead of the O(k^3)
of a fresh factorisation; the factor is rebuilt from scratch after :data:`REFRESH` updates so
that rounding cannot accumulate (results agree with fresh solves to ~1e-12).

The k nearest data of each target are selected inside the kernel from a candidate list per
tile of consecutive targets (every datum within ``d_k(centre) + 2 rho`` of the tile centre,
``rho`` the tile's radius, which holds the k nearest data of every target of the tile), so no
per-target KD-tree query is needed; a step of length ``s`` moves the k-th nearest distance by
at most ``s``, so only the candidates in that band around the previous target's k-th distance
need sorting (:func:`_band`).

A target whose ``C`` is not numerically positive definite (a degenerate model) is flagged and
left to the general solver, which handles it with a pseudo-inverse; so is a target with a tie at
the k-th neighbour distance (data on a grid), where the KD-tree decides which datum is used.

Covered structures: spherical, exponential and gaussian (gstat's parameterisation, see
:mod:`geoagb.kriging._models`); other models use the general solver.
"""

from __future__ import annotations

import math
import os

import numba as nb
import numpy as np

from .._numba import njit as _njit
from ._curve import bounds, hilbert

__all__ = ["KERNEL_MODELS", "REFRESH", "ok_walk"]

#: Model codes understood by the kernel.
KERNEL_MODELS = {"spherical": 0, "exponential": 1, "gaussian": 2}
#: Updates of one factor before it is rebuilt from scratch.
REFRESH = 256
TILE_CELL = 0.4  # tile side / median k-th neighbour distance
_TILES_PER_ITEM = 32  # tiles per parallel work item (each starts a fresh factor)


@_njit(cache=True, fastmath=True)
def _cov(h, code, psill, inv_range, nugget):
    """Covariance at distance ``h``, without data-dependent branches: the spherical polynomial
    is clamped at ``x = 1``, where it is exactly 0, instead of tested (a branch taken at random
    for data near the range cost 20 % of the walk), and the nugget is selected at ``h = 0``.
    """
    x = h * inv_range if h > 0.0 else 0.0
    if code == 0:
        x = min(x, 1.0)
        c = psill * (1.0 - 1.5 * x + 0.5 * x * x * x)
    elif code == 1:
        c = psill * math.exp(-x)
    else:
        c = psill * math.exp(-x * x)
    return c + (nugget if h == 0.0 else 0.0)


@_njit(cache=True, fastmath=True)
def _select(d, j, u, k):
    """Move the k smallest of ``d[:u]`` (with their ``j``) to the front (quickselect);
    ties broken by the smaller data index, as a stable sort would.
    """
    lo, hi = 0, u - 1
    while lo < hi:
        mid = (lo + hi) >> 1
        pd, pj = d[mid], j[mid]
        a, b = lo, hi
        while a <= b:
            while d[a] < pd or (d[a] == pd and j[a] < pj):
                a += 1
            while d[b] > pd or (d[b] == pd and j[b] > pj):
                b -= 1
            if a <= b:
                d[a], d[b] = d[b], d[a]
                j[a], j[b] = j[b], j[a]
                a += 1
                b -= 1
        if k - 1 <= b:
            hi = b
        elif k - 1 >= a:
            lo = a
        else:
            break


@_njit(cache=True, fastmath=True)
def _band(px, py, c0, c1, cand, xy, k, lo2, hi2, d, j, bd, bj):
    """The k nearest of the candidates ``cand[c0:c1]`` when the k-th nearest squared distance
    is known to lie in ``[lo2, hi2]``: those nearer than ``lo2`` are in, those beyond ``hi2``
    out, and only the few in between are sorted. Fills ``d[:k], j[:k]``; returns the largest
    selected and the smallest unselected squared distance, or (-1, 0) when the bounds do not
    hold (rounding), for the caller to select from scratch.

    Stepping ``s`` from a target whose k-th nearest distance is ``r`` moves every distance by
    at most ``s``, so the new k-th nearest distance lies in ``[r - s, r + s]``: the band holds
    about ``4 pi r s`` times the data density, a handful of data on a map grid, where a
    quickselect over all candidates mispredicts about every other branch.
    """
    a = 0
    b = 0
    dout = np.inf
    dinmax = 0.0
    for c in range(c0, c1):
        q = cand[c]
        dx = xy[q, 0] - px
        dy = xy[q, 1] - py
        dd = dx * dx + dy * dy
        if dd < lo2:
            d[a] = dd
            j[a] = q
            a += 1
            dinmax = max(dinmax, dd)
        elif dd <= hi2:
            bd[b] = dd
            bj[b] = q
            b += 1
        else:
            dout = min(dout, dd)
    need = k - a
    if need < 0 or need > b:
        return -1.0, 0.0
    for i in range(1, b):  # insertion sort of the band by (distance, index)
        dv = bd[i]
        jv = bj[i]
        r = i - 1
        while r >= 0 and (bd[r] > dv or (bd[r] == dv and bj[r] > jv)):
            bd[r + 1] = bd[r]
            bj[r + 1] = bj[r]
            r -= 1
        bd[r + 1] = dv
        bj[r + 1] = jv
    for i in range(need):
        d[a + i] = bd[i]
        j[a + i] = bj[i]
    dmax = dinmax
    if need > 0:
        dmax = max(dmax, bd[need - 1])
    dnext = dout
    if need < b:
        dnext = min(dnext, bd[need])
    return dmax, dnext


@_njit(cache=True, fastmath=True)
def _forward(L, di, m, rhs, out):
    """``out = L^-1 rhs`` for the lower-triangular ``L`` with reciprocal diagonal ``di``.

    Two rows at a time (row-wise dot products), multiplying by ``di`` instead of dividing: the
    substitution is a chain of dependent rows, and this halves its length (0.25 -> 0.12 us at
    k = 32 on the benchmark machine).
    """
    p = 0
    while p + 1 < m:
        s0 = rhs[p]
        s1 = rhs[p + 1]
        for q in range(p):
            oq = out[q]
            s0 -= L[p, q] * oq
            s1 -= L[p + 1, q] * oq
        o0 = s0 * di[p]
        out[p] = o0
        out[p + 1] = (s1 - L[p + 1, p] * o0) * di[p + 1]
        p += 2
    if p < m:
        s0 = rhs[p]
        for q in range(p):
            s0 -= L[p, q] * out[q]
        out[p] = s0 * di[p]


@_njit(cache=True, fastmath=True)
def _refactor(S, m, xy, z, vg, L, di, cols, fx, fy, w1, wz, ones, zs):
    """Factor of the data ``S[:m]`` from scratch; False if not numerically positive definite.

    ``vg`` is the structure ``(code, psill, inv_range, nugget, c00)``, one tuple of scalars.
    """
    code, psill, inv_range, nugget, c00 = vg
    for i in range(m):
        cols[i] = S[i]
        fx[i] = xy[S[i], 0]
        fy[i] = xy[S[i], 1]
    for p in range(m):
        xp = fx[p]
        yp = fy[p]
        for j in range(p):
            dx = xp - fx[j]
            dy = yp - fy[j]
            v = _cov(math.sqrt(dx * dx + dy * dy), code, psill, inv_range, nugget)
            for q in range(j):
                v -= L[p, q] * L[j, q]
            L[p, j] = v * di[j]
        v = c00
        for q in range(p):
            v -= L[p, q] * L[p, q]
        if v <= 1e-12 * c00:
            return False
        L[p, p] = math.sqrt(v)
        di[p] = 1.0 / L[p, p]
    for i in range(m):
        ones[i] = 1.0
        zs[i] = z[cols[i]]
    _forward(L, di, m, ones, w1)
    _forward(L, di, m, zs, wz)
    return True


@_njit(cache=True, fastmath=True)
def _delete(L, di, m, i, cols, fx, fy, w1, wz, cs, sn):
    """Remove factor position ``i``: rank-one update of the trailing block with its column.

    Row by row, two rows at a time: row ``p`` takes the Givens rotations of rows ``i+1 .. p-1``
    (kept in ``cs``, ``sn``) and yields rotation ``p``, and is written one row and one column
    up, so the update and the removal of row and column ``i`` are one contiguous pass (the
    same rotations in the same order as the column sweep of Golub & Van Loan 2013, 6.5.4; 1.4-
    2.6x faster for deletions more than a few positions from the end, at k = 32-50).
    """
    t1 = w1[i]
    tz = wz[i]
    p = i + 1
    while p < m:
        two = p + 1 < m
        xp = L[p, i]
        xq = L[p + 1, i] if two else 0.0
        for q in range(i):
            L[p - 1, q] = L[p, q]
        if two:
            for q in range(i):
                L[p, q] = L[p + 1, q]
        for r in range(i + 1, p):
            c = cs[r]
            s = sn[r]
            lpr = L[p, r]
            L[p - 1, r - 1] = c * lpr + s * xp
            xp = c * xp - s * lpr
            if two:
                lqr = L[p + 1, r]
                L[p, r - 1] = c * lqr + s * xq
                xq = c * xq - s * lqr
        for row in range(p, p + 2 if two else p + 1):
            if row == p + 1:  # the second row also takes rotation p
                lqp = L[row, p]
                L[p, p - 1] = cs[p] * lqp + sn[p] * xq
                xq = cs[p] * xq - sn[p] * lqp
                xp = xq
            a = L[row, row]
            h = math.sqrt(a * a + xp * xp)
            c = a / h
            s = xp / h
            cs[row] = c
            sn[row] = s
            L[row - 1, row - 1] = h
            di[row - 1] = 1.0 / h
            a1 = w1[row]
            w1[row - 1] = c * a1 + s * t1
            t1 = c * t1 - s * a1
            az = wz[row]
            wz[row - 1] = c * az + s * tz
            tz = c * tz - s * az
            cols[row - 1] = cols[row]
            fx[row - 1] = fx[row]
            fy[row - 1] = fy[row]
        p += 2


@_njit(cache=True, fastmath=True)
def _append(q, L, di, m, xy, z, vg, cols, fx, fy, w1, wz, cq, lq):
    """Append datum ``q`` at position ``m``; False if the factor would lose definiteness."""
    code, psill, inv_range, nugget, c00 = vg
    qx = xy[q, 0]
    qy = xy[q, 1]
    for p in range(m):
        dx = qx - fx[p]
        dy = qy - fy[p]
        cq[p] = _cov(math.sqrt(dx * dx + dy * dy), code, psill, inv_range, nugget)
    _forward(L, di, m, cq, lq)
    d2 = c00
    s1 = 1.0
    sz = z[q]
    for p in range(m):
        d2 -= lq[p] * lq[p]
        s1 -= lq[p] * w1[p]
        sz -= lq[p] * wz[p]
        L[m, p] = lq[p]
    if d2 <= 1e-12 * c00:
        return False
    d = math.sqrt(d2)
    L[m, m] = d
    di[m] = 1.0 / d
    w1[m] = s1 * di[m]
    wz[m] = sz * di[m]
    cols[m] = q
    fx[m] = qx
    fy[m] = qy
    return True


@_njit(cache=True, fastmath=True)
def _scan(px, py, c0, c1, cand, xy, ub2, k, d, j):
    """The ``k`` nearest of candidates ``cand[c0:c1]`` closer than ``sqrt(ub2)``, by selection.

    Fills ``d[:ms]`` (squared distances) and ``j[:ms]`` (data); returns ``ms`` (0: none), the
    largest selected and the smallest unselected squared distance (``inf``: none left over).
    """
    u = 0
    for c in range(c0, c1):
        q = cand[c]
        dx = xy[q, 0] - px
        dy = xy[q, 1] - py
        dd = dx * dx + dy * dy
        if dd < ub2:
            d[u] = dd
            j[u] = q
            u += 1
    ms = min(k, u)
    if ms == 0:
        return 0, 0.0, np.inf
    dnext = np.inf
    if u > ms:
        _select(d, j, u, ms)
        for i in range(ms, u):
            dnext = min(dnext, d[i])
    dmax = d[0]
    for i in range(1, ms):
        dmax = max(dmax, d[i])
    return ms, dmax, dnext


@_njit(cache=True, fastmath=True)
def _nearest_first(d, j, ms, S):
    """Insertion sort of ``d[:ms]`` (with ``j``) by distance; ``S[:ms]`` takes the sorted data."""
    for i in range(1, ms):
        dv = d[i]
        ji = j[i]
        r = i - 1
        while r >= 0 and d[r] > dv:
            d[r + 1] = d[r]
            j[r + 1] = j[r]
            r -= 1
        d[r + 1] = dv
        j[r + 1] = ji
    for i in range(ms):
        S[i] = j[i]


@_njit(cache=True, fastmath=True)
def _neighbours(px, py, ppx, ppy, rprev, c0, c1, cand, xy, k, ub2, d, j, bd, bj):
    """The nearest data of target ``(px, py)`` among candidates ``cand[c0:c1]``.

    From the band of the previous target (``ppx, ppy``, k-th distance ``rprev``; -1: none) when
    it holds, else by a full scan. Returns ``ms`` (0: none within ``sqrt(ub2)``), the largest
    selected and the smallest unselected squared distance; ``d[:ms]``, ``j[:ms]`` hold them.
    """
    if rprev >= 0.0:
        # the k-th nearest distance moves by at most the step from the previous target
        sx = px - ppx
        sy = py - ppy
        st = math.sqrt(sx * sx + sy * sy)
        hi = (rprev + st) * (1.0 + 1e-12)
        if hi * hi < ub2:
            lo = (rprev - st) * (1.0 - 1e-12)
            lo2 = lo * lo if lo > 0.0 else -1.0
            dmax, dnext = _band(px, py, c0, c1, cand, xy, k, lo2, hi * hi, d, j, bd, bj)
            if dmax >= 0.0:
                return k, dmax, dnext
    return _scan(px, py, c0, c1, cand, xy, ub2, k, d, j)


@_njit(cache=True, fastmath=True)
def _rebuild(in_f, d, j, ms, S, m, xy, z, vg, L, di, cols, fx, fy, w1, wz, ones, zs):
    """A fresh factor of the target's ``ms`` data (replacing the ``m`` in it); ``(size, ok)``."""
    for p in range(m):
        in_f[cols[p]] = False
    # nearest first: the data that leave the set later sit at the end of the factor, where
    # deleting them is cheap
    _nearest_first(d, j, ms, S)
    ok = _refactor(S, ms, xy, z, vg, L, di, cols, fx, fy, w1, wz, ones, zs)
    m = ms if ok else 0
    for p in range(m):
        in_f[cols[p]] = True
    return m, ok


@_njit(cache=True)
def _factor_arrays(k):
    """Work arrays of a factor of up to ``k + 1`` data.

    ``L`` (lower triangle), ``di`` (``1 / diag(L)``), ``cols`` (the data, in factor order), ``fx``,
    ``fy`` (their coordinates), ``w1``, ``wz`` (``L^-1 1``, ``L^-1 z``), and scratch vectors ``wc``,
    ``ct``, ``ones``, ``zs``, ``x``.
    """
    L = np.zeros((k + 1, k + 1))
    cols = np.empty(k + 1, dtype=np.intp)
    v = [np.empty(k + 1) for _ in range(10)]
    return L, v[0], cols, v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9]


@_njit(cache=True)
def _scan_arrays(u):
    """Squared distances and data of up to ``u`` candidates, twice (selection and band)."""
    return np.empty(u), np.empty(u, dtype=np.intp), np.empty(u), np.empty(u, dtype=np.intp)


@_njit(cache=True, fastmath=True)
def _walk(
    t0, t1, tx, tile_of, cptr, cand, xy, z, k, ub, code, psill, inv_range, nugget, mean, var, failed
):
    """Targets ``t0`` to ``t1 - 1`` (consecutive along the walk), one factor carried along."""
    n = xy.shape[0]
    c00 = psill + nugget
    vg = (code, psill, inv_range, nugget, c00)
    ub2 = ub * ub
    umax = 0
    for t in range(t0, t1):
        tl = tile_of[t]
        umax = max(umax, cptr[tl + 1] - cptr[tl])
    L, di, cols, fx, fy, w1, wz, wc, ct, ones, zs, x = _factor_arrays(k)
    d, j, bd, bj = _scan_arrays(max(umax, 1))
    rprev = -1.0  # k-th nearest distance of the previous target (-1: none to start from)
    ppx = ppy = 0.0
    S = np.empty(k, dtype=np.intp)  # the current target's data
    in_f = np.zeros(n, dtype=np.bool_)  # datum is in the current factor
    in_s = np.zeros(n, dtype=np.bool_)  # datum is in the current target's set
    m = 0  # size of the current factor
    age = REFRESH  # updates since the factor was built (forces a build first)
    for t in range(t0, t1):
        tl = tile_of[t]
        px = tx[t, 0]
        py = tx[t, 1]
        c0, c1 = cptr[tl], cptr[tl + 1]
        ms, dmax, dnext = _neighbours(
            px, py, ppx, ppy, rprev, c0, c1, cand, xy, k, ub2, d, j, bd, bj
        )
        if ms == 0:
            mean[t] = np.nan
            var[t] = np.nan
            rprev = -1.0
            continue
        # a tie at the k-th distance: which datum is "nearest" is the KD-tree's choice, so the
        # general solver (which asks the KD-tree) takes this target
        if dnext - dmax <= 2e-12 * dmax:
            failed[t] = True
            rprev = -1.0
            continue
        rprev = math.sqrt(dmax) if ms == k else -1.0
        ppx = px
        ppy = py
        for i in range(ms):
            S[i] = j[i]
            in_s[j[i]] = True
        n_del = 0
        for p in range(m):
            if not in_s[cols[p]]:
                n_del += 1
        n_add = ms - (m - n_del)
        if m == 0 or age + n_del + n_add > REFRESH or 2 * (n_del + n_add) > ms:
            m, ok = _rebuild(in_f, d, j, ms, S, m, xy, z, vg, L, di, cols, fx, fy, w1, wz, ones, zs)
            age = 0
        else:
            ok = True
            p = m - 1
            while p >= 0:
                if not in_s[cols[p]]:
                    in_f[cols[p]] = False
                    _delete(L, di, m, p, cols, fx, fy, w1, wz, x, wc)
                    m -= 1
                p -= 1
            for i in range(ms):
                q = S[i]
                if not in_f[q]:
                    if not _append(q, L, di, m, xy, z, vg, cols, fx, fy, w1, wz, ct, x):
                        ok = False
                        break
                    in_f[q] = True
                    m += 1
            if not ok:
                for p in range(m):
                    in_f[cols[p]] = False
                m = 0
            age += n_del + n_add
        for i in range(ms):
            in_s[S[i]] = False
        if not ok:
            failed[t] = True
            continue
        for p in range(m):
            dx = fx[p] - px
            dy = fy[p] - py
            ct[p] = _cov(math.sqrt(dx * dx + dy * dy), code, psill, inv_range, nugget)
        _forward(L, di, m, ct, wc)
        s1c = 0.0
        s11 = 0.0
        szc = 0.0
        sz1 = 0.0
        scc = 0.0
        for p in range(m):
            s1c += w1[p] * wc[p]
            s11 += w1[p] * w1[p]
            szc += wz[p] * wc[p]
            sz1 += wz[p] * w1[p]
            scc += wc[p] * wc[p]
        mu = (s1c - 1.0) / s11
        mean[t] = szc - mu * sz1
        var[t] = c00 - scc + mu * s1c - mu


@_njit(parallel=True, cache=True, fastmath=True)
def _walk_parallel(
    bounds, tx, tile_of, cptr, cand, xy, z, k, ub, code, psill, inv_range, nugget, mean, var, failed
):
    for w in nb.prange(len(bounds) - 1):
        _walk(
            bounds[w],
            bounds[w + 1],
            tx,
            tile_of,
            cptr,
            cand,
            xy,
            z,
            k,
            ub,
            code,
            psill,
            inv_range,
            nugget,
            mean,
            var,
            failed,
        )


@_njit(cache=True)
def _candidates(cx, cy, radius, xy, x0, y0, g, nx, ny, cell_ptr, cell_pts, count_only, cptr, cand):
    """Data within ``radius[t]`` of tile centre ``t`` from a bucket grid of the data (cell side
    ``g``); counts per tile when ``count_only``, else fills ``cand`` at offsets ``cptr``.
    """
    for t in range(len(cx)):
        r = radius[t]
        r2 = r * r
        i0 = max(int(math.floor((cx[t] - r - x0) / g)), 0)
        i1 = min(int(math.floor((cx[t] + r - x0) / g)), nx - 1)
        j0 = max(int(math.floor((cy[t] - r - y0) / g)), 0)
        j1 = min(int(math.floor((cy[t] + r - y0) / g)), ny - 1)
        c = 0 if count_only else cptr[t]
        for i in range(i0, i1 + 1):
            for j in range(j0, j1 + 1):
                cell = i * ny + j
                for p in range(cell_ptr[cell], cell_ptr[cell + 1]):
                    q = cell_pts[p]
                    dx = xy[q, 0] - cx[t]
                    dy = xy[q, 1] - cy[t]
                    if dx * dx + dy * dy <= r2:
                        if not count_only:
                            cand[c] = q
                        c += 1
        if count_only:
            cptr[t + 1] = c


def _tiles(tx, q, scale, lo, tree, k, ub, n, workers, cell=TILE_CELL):
    """Tiles of consecutive targets and their candidate data (CSR ``cptr``, ``cand``).

    ``q`` are the targets' quantised coordinates of the Hilbert curve that ordered them
    (``x = lo + q * scale``). A tile is one aligned quadtree cell of that curve, whose side is
    about ``cell`` times the median distance to the k-th nearest datum, so its targets are
    consecutive and its candidate list (every datum within ``d_k(centre) + 2 rho`` of the cell
    centre, ``rho`` its half diagonal) is little larger than one neighbourhood; where targets
    are sparse relative to the data, the side is at least three target spacings instead.
    """
    T = len(tx)
    n_probe = min(T, 256)
    probe = tx[np.linspace(0, T - 1, n_probe).astype(np.intp)]
    dk, _ = tree.query(probe, k=min(k, n), workers=workers)
    dk = np.asarray(dk).reshape(n_probe, -1)[:, -1]
    dk = float(np.median(dk[np.isfinite(dk)])) if np.isfinite(dk).any() else float(ub)
    # ... and at least ~3 targets across, so that a tile's search serves several targets
    span = bounds(tx)[1]
    spacing = math.sqrt(max(float(span[0] * span[1]), float(span.max()) ** 2 / T) / T)
    quanta = max(cell * dk, 3.0 * spacing) / max(float(scale.max()), 1e-300)
    level = int(np.clip(np.floor(np.log2(max(quanta, 1.0))), 0, 16))
    cq = q >> np.uint64(level)
    new = np.ones(T, dtype=bool)
    new[1:] = (cq[1:] != cq[:-1]).any(axis=1)
    tile_of = np.cumsum(new) - 1
    cq = cq[new].astype(np.float64)
    half = 0.5 * float(1 << level) * scale
    centre = lo + (cq * float(1 << level)) * scale + half
    rho = float(np.hypot(*half))
    dkc, _ = tree.query(centre, k=min(k, n), workers=workers)
    dkc = np.asarray(dkc).reshape(len(centre), -1)[:, -1]
    radius = np.minimum(dkc + 2.0 * rho, ub + rho) * (1 + 1e-12) + 1e-9
    # bucket grid of the data, cells about the typical radius / 2
    dlo = tree.mins
    g = max(0.5 * float(np.median(radius[np.isfinite(radius)])), 1e-9)
    nx, ny = (np.floor((tree.maxes - dlo) / g).astype(np.int64) + 1).tolist()
    xy = tree.data
    ci = np.minimum(((xy - dlo) / g).astype(np.int64), [nx - 1, ny - 1])
    cid = ci[:, 0] * ny + ci[:, 1]
    cell_pts = np.argsort(cid, kind="stable").astype(np.intp)
    cell_ptr = np.zeros(nx * ny + 1, dtype=np.intp)
    np.cumsum(np.bincount(cid, minlength=nx * ny), out=cell_ptr[1:])
    nt = len(centre)
    cptr = np.zeros(nt + 1, dtype=np.intp)
    args = (centre[:, 0].copy(), centre[:, 1].copy(), radius, xy, dlo[0], dlo[1], g, nx, ny)
    _candidates(*args, cell_ptr, cell_pts, True, cptr, cell_pts[:0])
    np.cumsum(cptr[1:], out=cptr[1:])
    cand = np.empty(int(cptr[-1]), dtype=np.intp)
    _candidates(*args, cell_ptr, cell_pts, False, cptr, cand)
    return tile_of, cptr, cand


def _work_items(tile_of: np.ndarray, T: int) -> np.ndarray:
    """Bounds (target positions) of the work items: runs of :data:`_TILES_PER_ITEM` consecutive
    tiles, the last one shorter. A function of the tiles alone, never of the thread count.

    Examples
    --------
    >>> _work_items(np.repeat(np.arange(70), 2), 140).tolist()
    [0, 64, 128, 140]
    """
    nt = int(tile_of[-1]) + 1
    first = np.searchsorted(tile_of, np.arange(0, nt, _TILES_PER_ITEM))
    return np.append(first, T).astype(np.intp)


def ok_walk(tx, xy, z, tree, k, ub, model, psill, range_, nugget, n_threads=1, curve=None):
    """Ordinary kriging of targets ``tx`` (in walk order: Hilbert curve) from their k nearest data.

    Parameters
    ----------
    tx : (T, 2) array
        Targets (metres), consecutive targets close to each other.
    xy : (n, 2) array
        Data coordinates (distinct).
    z : (n,) array
        Data values.
    tree : scipy.spatial.cKDTree
        KD-tree of ``xy``.
    k : int
        Neighbours per target.
    ub : float
        Only data closer than ``ub`` are used (``inf``: no limit).
    model : str
        One of :data:`KERNEL_MODELS`.
    psill, range_, nugget : float
        Structure in gstat's parameterisation.
    n_threads : int
        Threads picking up the work items (runs of :data:`_TILES_PER_ITEM` tiles, planned
        from the targets and data alone); the results do not depend on it.
    curve : (q, scale, lo), optional
        The quantised coordinates of the Hilbert curve that ordered ``tx`` (see
        :func:`geoagb.kriging._curve.hilbert`); computed here when not given.

    Returns
    -------
    mean, var : (T,) arrays
        NaN for targets with no datum within ``ub``.
    failed : (T,) bool array
        Targets not solved here: covariance matrix not numerically positive definite, or a tie
        at the k-th neighbour distance.
    """
    T, n = len(tx), len(xy)
    tx = np.ascontiguousarray(tx, dtype=np.float64)
    xy = np.ascontiguousarray(xy, dtype=np.float64)
    mean = np.empty(T)
    var = np.empty(T)
    failed = np.zeros(T, dtype=np.bool_)
    if T == 0:
        return mean, var, failed
    threads = max(1, min(int(n_threads), nb.config.NUMBA_NUM_THREADS, os.cpu_count() or 1))
    if curve is None:
        order, q, scale, lo = hilbert(tx)
        tx = tx[order]
        curve = (q[order], scale, lo)
        m, v, f = ok_walk(tx, xy, z, tree, k, ub, model, psill, range_, nugget, n_threads, curve)
        inv = np.empty_like(order)
        inv[order] = np.arange(T)
        return m[inv], v[inv], f[inv]
    tile_of, cptr, cand = _tiles(tx, *curve, tree, k, ub, n, threads)
    inv_range = 1.0 / float(range_) if range_ > 0 else np.inf
    args = (
        tx,
        tile_of,
        cptr,
        cand,
        xy,
        np.ascontiguousarray(z, dtype=np.float64),
        int(k),
        float(ub),
        KERNEL_MODELS[model],
        float(psill),
        inv_range,
        float(nugget),
        mean,
        var,
        failed,
    )
    # The work items (runs of _TILES_PER_ITEM tiles, each starting a fresh factor) depend on
    # the targets and data only; threads merely pick them up, so every n_threads gives the
    # same, bit-for-bit, results.
    bounds = _work_items(tile_of, T)
    if threads == 1 or len(bounds) <= 2:  # no thread pool to start
        for w in range(len(bounds) - 1):
            _walk(bounds[w], bounds[w + 1], *args)
    else:
        prev = nb.get_num_threads()
        nb.set_num_threads(threads)
        try:
            _walk_parallel(bounds, *args)
        finally:
            nb.set_num_threads(prev)
    return mean, np.maximum(var, 0.0), failed
