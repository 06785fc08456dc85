r"""Exact SHAP interaction values of depth-limited tree ensembles through per-leaf pattern tables.

Why this module exists: XGBoost's ``pred_interactions`` (which ``shap.TreeExplainer`` also calls
for XGBoost models) reruns TreeSHAP once per feature with that feature forced on and off, so its
cost is about ``2 p`` times that of the SHAP values; on 2 CPU cores it takes 0.2 to 0.35 s per
row for 500 trees of depth 6 and 30 features. Here the same numbers (to float32 rounding) come
out at the cost of reading one table entry per leaf: about 1.5 ms per row, 140 to 210 times
faster in ``benchmarks/bench_shap.py``. Working memory is bounded whatever ``n``: a float64
accumulator of at most 64 MB per batch plus the leaf tables (kept between batches up to 256 MB,
else rebuilt per chunk of trees).

The method. Path-dependent TreeSHAP explains the game ``v(S) = sum_l v_l(S)`` with one product
game per leaf (see :mod:`._ensemble`): ``v_l(S) = w prod_{f in F} (f in S ? z_f : b_f)`` over the
``d`` distinct features ``F`` of the path, ``z_f in {0, 1}``. Shapley values and Shapley
interaction values are linear in the game, and a feature not on the path is a null player of
``v_l``, so each leaf adds, for every pair of its path features,

* ``phi_s = w (z_s - b_s) sum_k c_d(k) E_k(F \\ s)``, with ``c_d(k) = k! (d - 1 - k)! / d!``;
* ``Phi_sr = 1/2 w (z_s - b_s)(z_r - b_r) sum_k c_{d-1}(k) E_k(F \\ {s, r})`` for ``s != r``
  (Lundberg et al.'s convention: half the Shapley interaction index);
* ``Phi_ss = phi_s - sum_{r != s} Phi_sr``,

where ``E_k(R)`` is the coefficient of ``t^k`` in ``prod_{g in R} (b_g + z_g t)``. These depend on
the sample only through the ``d`` bits ``z``, so each leaf gets a table of ``2^d x d x d`` values
built once (polynomial products and exact divisions, ``O(2^d d^3)``; the symmetric pairs are
stored once, ``d (d + 1) / 2`` values); a sample then walks each path (``<= depth`` comparisons,
in float32 as XGBoost does) to find its bit pattern and adds those table entries. Leaves are
processed in chunks whose tables fit in the CPU cache, samples in parallel (numba).

References
----------
Lundberg, S. M. et al. (2020). From local explanations to global understanding with explainable
AI for trees. Nature Machine Intelligence 2, 56-67 (path-dependent TreeSHAP and its interaction
values).
"""

from __future__ import annotations

import math

import numpy as np

from .._progress import show_progress
from ._ensemble import LeafPaths

__all__ = ["leaf_table_interactions", "MAX_UNIQUE_FEATURES"]

#: Paths with more distinct features than this make tables too large (2^d d^2 per leaf);
#: such models go to XGBoost's own ``pred_interactions``.
MAX_UNIQUE_FEATURES = 10

try:  # numba is a dependency of shap, hence always present with geoagb
    import numba as _nb

    from .._numba import njit as _njit

    _prange = _nb.prange
    HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    HAVE_NUMBA = False


def _coefficients(d_max: int) -> np.ndarray:
    """``C[d, k] = k! (d - 1 - k)! / d!`` for ``0 <= k < d <= d_max``: Shapley weights."""
    c = np.zeros((d_max + 1, max(d_max, 1)))
    for d in range(1, d_max + 1):
        for k in range(d):
            c[d, k] = math.factorial(k) * math.factorial(d - 1 - k) / math.factorial(d)
    return c


if HAVE_NUMBA:

    @_njit(cache=True, nogil=True)
    def _divide(p, m, b, z, q):  # pragma: no cover - compiled
        """``q = p / (b + z t)`` for ``p`` of formal degree ``m`` (exact division)."""
        if z == 1:
            q[m - 1] = p[m]
            for k in range(m - 1, 0, -1):
                q[k - 1] = p[k] - b * q[k]
        else:
            for k in range(m):
                q[k] = p[k] / b

    @_njit(cache=True, nogil=True)
    def _tri(s, t, d):  # pragma: no cover - compiled
        """Position of ``(s, t)``, ``s <= t``, in a row-major upper triangle of side ``d``."""
        return s * d - s * (s - 1) // 2 + (t - s)

    @_njit(parallel=True, cache=True)
    def _build_tables(
        lo, hi, value, n_unique, zero_fraction, offsets, coef, table
    ):  # pragma: no cover
        for j in _prange(hi - lo):
            leaf = lo + j
            d = n_unique[leaf]
            if d == 0:
                continue
            w = value[leaf]
            b = zero_fraction[leaf]
            g = np.empty(d + 1)
            q = np.empty(d + 1)
            r = np.empty(d + 1)
            z = np.empty(d, dtype=np.int64)
            dd = d * (d + 1) // 2
            for code in range(1 << d):
                for s in range(d):
                    z[s] = (code >> s) & 1
                # g = prod_s (b_s + z_s t)
                g[0] = 1.0
                for k in range(1, d + 1):
                    g[k] = 0.0
                for s in range(d):
                    for k in range(s + 1, 0, -1):
                        g[k] = g[k] * b[s] + g[k - 1] * z[s]
                    g[0] = g[0] * b[s]
                base = offsets[leaf] + code * dd
                for s in range(d):
                    ds = z[s] - b[s]
                    _divide(g, d, b[s], z[s], q)  # q: degree d - 1
                    phi = 0.0
                    for k in range(d):
                        phi += coef[d, k] * q[k]
                    phi *= w * ds
                    off = 0.0
                    for t in range(d):
                        if t == s:
                            continue
                        _divide(q, d - 1, b[t], z[t], r)  # r: degree d - 2
                        acc = 0.0
                        for k in range(d - 1):
                            acc += coef[d - 1, k] * r[k]
                        val = 0.5 * w * ds * (z[t] - b[t]) * acc
                        if t > s:
                            table[base + _tri(s, t, d)] = val
                        off += val
                    table[base + _tri(s, s, d)] = phi - off

    @_njit(parallel=True, cache=True)
    def _accumulate(
        x,
        lo,
        hi,
        n_unique,
        features,
        depth,
        node_feature,
        node_slot,
        threshold,
        goes_left,
        default_left,
        offsets,
        table,
        out,
    ):  # pragma: no cover - compiled
        n = x.shape[0]
        for i in _prange(n):
            oi = out[i]
            xi = x[i]
            for leaf in range(lo, hi):
                d = n_unique[leaf]
                if d == 0:
                    continue
                code = (1 << d) - 1
                for k in range(depth[leaf]):
                    v = xi[node_feature[leaf, k]]
                    if np.isnan(v):
                        left = default_left[leaf, k]
                    else:
                        left = v < threshold[leaf, k]
                    if left != goes_left[leaf, k]:
                        code &= ~(1 << node_slot[leaf, k])
                base = offsets[leaf] + code * (d * (d + 1) // 2)
                for s in range(d):
                    fs = features[leaf, s]
                    for t in range(s, d):
                        oi[fs, features[leaf, t]] += table[base]
                        base += 1

    @_njit(parallel=True, cache=True)
    def _symmetrize(acc):  # pragma: no cover - compiled
        """In place: each pair was accumulated once, at (a, b) or (b, a); add the two."""
        n, p, _ = acc.shape
        for i in _prange(n):
            for a in range(p):
                for b in range(a + 1, p):
                    v = acc[i, a, b] + acc[i, b, a]
                    acc[i, a, b] = v
                    acc[i, b, a] = v


def _chunks(paths: LeafPaths, table_bytes: int):
    """Split the trees into consecutive leaf ranges whose tables hold about ``table_bytes``."""
    size = (2**paths.n_unique) * (paths.n_unique * (paths.n_unique + 1) // 2)  # float64 per leaf
    out = []
    lo = 0
    acc = 0
    ptr = paths.tree_ptr
    for t in range(len(ptr) - 1):
        acc += int(size[ptr[t] : ptr[t + 1]].sum())
        if acc * 8 >= table_bytes:
            out.append((lo, int(ptr[t + 1])))
            lo = int(ptr[t + 1])
            acc = 0
    if lo < ptr[-1]:
        out.append((lo, int(ptr[-1])))
    return out, size


def leaf_table_interactions(
    paths: LeafPaths,
    X: np.ndarray,
    batch_size: int | None = None,
    dtype=np.float32,
    table_bytes: int = 4 << 20,
    cache_bytes: int = 256 << 20,
    progress: bool | None = None,
):
    """SHAP values and SHAP interaction values of a tree ensemble, without the intercept.

    Parameters
    ----------
    paths : LeafPaths
        The ensemble (see :func:`geoagb.explain._ensemble.leaf_paths_from_xgboost`).
    X : array (n, p)
        Samples; compared with the thresholds in float32, NaN is missing.
    batch_size : int, optional
        Rows per batch (the float64 accumulator holds ``batch_size * p * p`` values); default:
        as many as fit in 64 MB.
    dtype : numpy dtype, default float32
        Of the returned interaction values (XGBoost's own precision; halves memory).
    table_bytes : int
        Size of one chunk of leaf tables (about the CPU cache).
    cache_bytes : int
        Keep all chunk tables between batches when they fit in this many bytes.
    progress : bool or None, default None
        Show a tqdm bar over batches. ``None``: only when stderr is a terminal.

    Returns
    -------
    values : ndarray (n, p) float64
        SHAP values, the row sums of ``interactions`` computed in float64.
    interactions : ndarray (n, p, p)
        SHAP interaction values; ``values + expected value`` sums to the margin prediction.
    """
    if not HAVE_NUMBA:  # pragma: no cover
        raise ImportError("the fast interaction path needs numba (a dependency of shap)")
    x = np.ascontiguousarray(X, dtype=np.float32)
    n, p = x.shape
    if p != paths.n_features:
        raise ValueError(f"X has {p} columns but the model was fitted on {paths.n_features}.")
    if batch_size is None:
        batch_size = max(1, (64 << 20) // (8 * max(p, 1) ** 2))
    batch_size = int(min(max(batch_size, 1), max(n, 1)))
    coef = _coefficients(max(paths.max_unique, 1))
    chunks, size = _chunks(paths, table_bytes)
    offsets = np.zeros(paths.n_leaves, dtype=np.int64)
    tables = {}
    keep = int(size.sum()) * 8 <= cache_bytes
    for lo, hi in chunks:
        offsets[lo:hi] = np.concatenate([[0], np.cumsum(size[lo:hi])[:-1]])

    def table_for(lo, hi):
        if (lo, hi) in tables:
            return tables[(lo, hi)]
        tab = np.empty(int(size[lo:hi].sum()), dtype=np.float64)
        _build_tables(lo, hi, paths.value, paths.n_unique, paths.zero_fraction, offsets, coef, tab)
        if keep:
            tables[(lo, hi)] = tab
        return tab

    values = np.empty((n, p), dtype=np.float64)
    inter = np.empty((n, p, p), dtype=dtype)
    starts = range(0, n, batch_size)
    if show_progress(progress):
        from tqdm.auto import tqdm

        starts = tqdm(starts, desc="SHAP interactions", unit="batch")
    for start in starts:
        xb = x[start : start + batch_size]
        acc = np.zeros((xb.shape[0], p, p), dtype=np.float64)
        for lo, hi in chunks:
            _accumulate(
                xb,
                lo,
                hi,
                paths.n_unique,
                paths.features,
                paths.depth,
                paths.node_feature,
                paths.node_slot,
                paths.threshold,
                paths.goes_left,
                paths.default_left,
                offsets,
                table_for(lo, hi),
                acc,
            )
        _symmetrize(acc)  # each pair was stored once (upper triangle in leaf order)
        values[start : start + xb.shape[0]] = acc.sum(axis=2)
        inter[start : start + xb.shape[0]] = acc
    return values, inter
