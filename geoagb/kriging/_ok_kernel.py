"""Compiled moving-neighbourhood ordinary kriging: one small SPD solve per target.

For a target with neighbours ``S`` (covariance matrix ``C``, right-hand side ``c``) the ordinary
kriging system ``[C 1; 1' 0] [lambda; mu] = [c; 1]`` is solved through the Cholesky factor of
``C`` alone (``C`` is symmetric positive definite for a valid model with distinct data):

    a = C^-1 c,  b = C^-1 1,  mu = (1'a - 1) / 1'b,  lambda = a - mu b,
    estimate = lambda . z,  variance = C(0) - lambda . c - mu        (gstat's definition).

That is about k^3 / 6 multiply-adds per target instead of the (k+1)^3 / 3 of a general LU
solve, with no (T, k, k) stacks in memory; targets run in parallel threads (numba ``prange``).
A target whose ``C`` is not numerically positive definite (a degenerate model) is flagged and
left to the general solver, which handles it with a pseudo-inverse.

Covered structures: spherical, exponential and gaussian (gstat's parameterisation, see
:mod:`geoagb.kriging._models`); other models use the general solver.
"""

from __future__ import annotations

import math
import os

import numba as nb
import numpy as np

from .._numba import njit as _njit

__all__ = ["KERNEL_MODELS", "ok_kernel"]

#: Model codes understood by the kernel.
KERNEL_MODELS = {"spherical": 0, "exponential": 1, "gaussian": 2}
_BLOCK = 256  # targets per parallel work item


@_njit(cache=True, inline="always", fastmath=True)
def _cov(h, code, psill, inv_range, nugget):
    if h == 0.0:
        return psill + nugget
    x = h * inv_range
    if code == 0:
        if x >= 1.0:
            return 0.0
        return psill * (1.0 - 1.5 * x + 0.5 * x * x * x)
    if code == 1:
        return psill * math.exp(-x)
    return psill * math.exp(-x * x)


@_njit(cache=True, fastmath=True)
def _ok_block(lo, hi, tx, xy, z, idx, code, psill, inv_range, nugget, mean, var, failed):
    """Targets ``lo`` to ``hi - 1`` in this thread; work buffers allocated once."""
    k = idx.shape[1]
    U = np.empty((k, k))
    a = np.empty(k)
    b = np.empty(k)
    c = np.empty(k)
    px = np.empty(k)
    py = np.empty(k)
    for t in range(lo, hi):
        _ok_one(
            t,
            tx,
            xy,
            z,
            idx,
            code,
            psill,
            inv_range,
            nugget,
            psill + nugget,
            xy.shape[0],
            k,
            U,
            a,
            b,
            c,
            px,
            py,
            mean,
            var,
            failed,
        )


@_njit(parallel=True, cache=True, fastmath=True)
def _ok_parallel(tx, xy, z, idx, code, psill, inv_range, nugget, mean, var, failed):
    T = idx.shape[0]
    n_blocks = (T + _BLOCK - 1) // _BLOCK
    for blk in nb.prange(n_blocks):
        _ok_block(
            blk * _BLOCK,
            min(T, (blk + 1) * _BLOCK),
            tx,
            xy,
            z,
            idx,
            code,
            psill,
            inv_range,
            nugget,
            mean,
            var,
            failed,
        )


@_njit(cache=True, fastmath=True)
def _ok_one(
    t,
    tx,
    xy,
    z,
    idx,
    code,
    psill,
    inv_range,
    nugget,
    c00,
    n,
    k,
    U,
    a,
    b,
    c,
    px,
    py,
    mean,
    var,
    failed,
):
    m = 0
    while m < k and idx[t, m] < n:
        m += 1
    if m == 0:
        mean[t] = np.nan
        var[t] = np.nan
        return
    for i in range(m):
        j = idx[t, i]
        px[i] = xy[j, 0]
        py[i] = xy[j, 1]
        dx = px[i] - tx[t, 0]
        dy = py[i] - tx[t, 1]
        c[i] = _cov(math.sqrt(dx * dx + dy * dy), code, psill, inv_range, nugget)
    # upper triangle of C, then its Cholesky factor U (C = U'U) in place, right-looking: every
    # update is a contiguous row operation
    for i in range(m):
        U[i, i] = c00
        for j in range(i + 1, m):
            dx = px[i] - px[j]
            dy = py[i] - py[j]
            U[i, j] = _cov(math.sqrt(dx * dx + dy * dy), code, psill, inv_range, nugget)
    for j in range(m):
        d = U[j, j]
        if d <= 1e-12 * c00:
            failed[t] = True
            return
        d = math.sqrt(d)
        U[j, j] = d
        inv = 1.0 / d
        for q in range(j + 1, m):
            U[j, q] *= inv
        for p in range(j + 1, m):
            f = U[j, p]
            for q in range(p, m):
                U[p, q] -= f * U[j, q]
    # U'y = rhs (forward), then U x = y (backward), for a = C^-1 c and b = C^-1 1
    for i in range(m):
        a[i] = c[i]
        b[i] = 1.0
    for i in range(m):
        ai = a[i] / U[i, i]
        bi = b[i] / U[i, i]
        a[i] = ai
        b[i] = bi
        for q in range(i + 1, m):
            a[q] -= U[i, q] * ai
            b[q] -= U[i, q] * bi
    for i in range(m - 1, -1, -1):
        sa = a[i]
        sb = b[i]
        for q in range(i + 1, m):
            sa -= U[i, q] * a[q]
            sb -= U[i, q] * b[q]
        a[i] = sa / U[i, i]
        b[i] = sb / U[i, i]
    sum_a = 0.0
    sum_b = 0.0
    for i in range(m):
        sum_a += a[i]
        sum_b += b[i]
    mu = (sum_a - 1.0) / sum_b
    est = 0.0
    lc = 0.0
    for i in range(m):
        lam = a[i] - mu * b[i]
        est += lam * z[idx[t, i]]
        lc += lam * c[i]
    mean[t] = est
    var[t] = c00 - lc - mu


def ok_kernel(tx, xy, z, idx, model, psill, range_, nugget, n_threads=1):
    """Ordinary kriging of targets ``tx`` from their sorted neighbour indices ``idx``.

    Parameters
    ----------
    tx : (T, 2) array
        Targets (metres).
    xy : (n, 2) array
        Data coordinates (distinct).
    z : (n,) array
        Data values.
    idx : (T, k) int array
        Neighbour indices per target; missing neighbours are ``n`` and come last.
    model : str
        One of :data:`KERNEL_MODELS`.
    psill, range_, nugget : float
        Structure in gstat's parameterisation.
    n_threads : int
        Threads for the loop over targets.

    Returns
    -------
    mean, var : (T,) arrays
        NaN for targets with no neighbour.
    failed : (T,) bool array
        Targets whose covariance matrix was not numerically positive definite (not solved).
    """
    T = len(tx)
    mean = np.empty(T)
    var = np.empty(T)
    failed = np.zeros(T, dtype=np.bool_)
    inv_range = 1.0 / float(range_) if range_ > 0 else np.inf
    args = (
        np.ascontiguousarray(tx, dtype=np.float64),
        np.ascontiguousarray(xy, dtype=np.float64),
        np.ascontiguousarray(z, dtype=np.float64),
        np.ascontiguousarray(idx, dtype=np.intp),
        KERNEL_MODELS[model],
        float(psill),
        inv_range,
        float(nugget),
        mean,
        var,
        failed,
    )
    threads = max(1, min(int(n_threads), nb.config.NUMBA_NUM_THREADS, os.cpu_count() or 1))
    if threads == 1 or T <= _BLOCK:  # no thread pool to start (the parallel version loads slower)
        _ok_block(0, T, *args)
    else:
        prev = nb.get_num_threads()
        nb.set_num_threads(threads)
        try:
            _ok_parallel(*args)
        finally:
            nb.set_num_threads(prev)
    return mean, np.maximum(var, 0.0), failed
