"""Batched kriging solver shared by ordinary kriging and co-kriging.

One routine solves, for every target, the (co-)kriging system

    [ C   F ] [ lambda ]   [ c ]
    [ F^T 0 ] [  mu    ] = [ f ]

where ``C`` holds the (cross-)covariances between the data used for that target, ``c`` their
covariances with the primary variable at the target, ``F`` the unbiasedness constraints (one
column per variable with an unknown mean: weights of the primary sum to 1, of a secondary to 0)
and ``f = (1, 0, ...)``. The estimate is ``lambda . z`` and the kriging variance is
``C_00(0) - lambda . c - mu . f`` (gstat's definition).

Memory and speed:

* global neighbourhood: the system is factorised once; targets are processed in chunks, so
  memory is O(n x chunk) instead of O(n x n_targets);
* moving neighbourhood: a KD-tree gives the k nearest data of each target; systems of a chunk
  of targets are built and solved together as a (chunk, m, m) stack, memory O(chunk x m^2);
  targets are visited along a Hilbert curve (:mod:`geoagb.kriging._curve`), and where targets
  are dense relative to the data (a map grid) groups of neighbouring targets share one
  factorisation of the union of their neighbourhoods (:mod:`geoagb.kriging._tiles`), with
  exact per-target results;
* ordinary kriging with a spherical, exponential or gaussian model (the common case) skips the
  stacks and the per-target KD-tree queries: a compiled kernel (:mod:`geoagb.kriging._ok_kernel`)
  walks the targets along the Hilbert curve, selects each target's k nearest data from a candidate
  list per tile and updates one Cholesky factor as data leave and enter the neighbourhood,
  memory O(n + k^2) per thread; targets it does not solve (a matrix not positive definite, a
  tie at the k-th neighbour distance) go to the batched path above.

Covariances are given per pair of variables by :class:`CovTable` (a linear model of
coregionalisation, or any symmetric table of models).
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.spatial import cKDTree
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from . import _models
from ._tiles import TILE, solve_tiles

__all__ = ["CovTable", "krige"]

#: Models the compiled kernel handles (kept in step with geoagb.kriging._ok_kernel, which is
#: imported, with numba, only when a neighbourhood kriging runs).
KERNEL_MODELS = ("spherical", "exponential", "gaussian")

_CHUNK_BYTES = 2**24  # ~16 MB for the stack of kriging matrices of one chunk


class CovTable:
    """Direct and cross covariance models of V variables: ``C_uv(h) = nugget_uv [h = 0] +
    psill_uv rho_uv(h)``.

    Parameters
    ----------
    grid : list of lists of Variogram, V x V, symmetric
        ``grid[u][v]`` is the (cross-)variogram of variables u and v (fitted or from_params).
    """

    def __init__(self, grid):
        V = len(grid)
        self.V = V
        self.entries = {}
        for u in range(V):
            for v in range(u, V):
                g = grid[u][v]
                self.entries[u, v] = (
                    g.model_,
                    float(g.psill_),
                    float(g.range_),
                    float(g.kappa_),
                    float(g.nugget_),
                )

    def _entry(self, u, v):
        return self.entries[(u, v) if u <= v else (v, u)]

    def c0(self, u: int, v: int) -> float:
        """Covariance at distance 0 (nugget included)."""
        _, psill, _, _, nug = self._entry(u, v)
        return psill + nug

    def cov(self, u: int, v: int, D: np.ndarray, cache: dict, tag: str) -> np.ndarray:
        """Covariance at distances ``D``; correlations are cached per structure under ``tag``."""
        model, psill, rng, kappa, nug = self._entry(u, v)
        key = (tag, model, rng, kappa)
        if key not in cache:
            cache[key] = _models.correlation(model, D, rng, kappa)
        out = psill * cache[key]
        if nug != 0.0:
            out = out + nug * (D == 0)
        return out

    def is_lmc(self) -> bool:
        """True when every entry shares one structure (model, range, kappa)."""
        return len({(m, r, k) for m, _, r, k, _ in self.entries.values()}) == 1

    def matrices(self):
        """Nugget and partial-sill coregionalisation matrices (V, V)."""
        N = np.empty((self.V, self.V))
        S = np.empty((self.V, self.V))
        for (u, v), (_, psill, _, _, nug) in self.entries.items():
            N[u, v] = N[v, u] = nug
            S[u, v] = S[v, u] = psill
        return N, S


def _dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    dx = a[..., 0] - b[..., 0]
    dy = a[..., 1] - b[..., 1]
    return np.sqrt(dx * dx + dy * dy)


class _Layout:
    """Where each unknown sits in a system: k data locations x nd data variables (variable
    major), then nc collocated entries, then one unbiasedness constraint per group.

    ``groups`` lists groups of variables whose weights sum together to 1 (group holding the
    primary) or 0 (others); a variable in no group has a known mean (no constraint). Default:
    one group per variable (ordinary co-kriging).
    """

    def __init__(self, k, data_vars, colloc_vars, groups=None):
        self.k, self.dv, self.cv = k, list(data_vars), list(colloc_vars)
        present = sorted(set(self.dv) | set(self.cv))
        groups = [[v] for v in present] if groups is None else groups
        self.groups = [g for g in ([v for v in grp if v in present] for grp in groups) if g]
        if groups and not any(0 in g for g in self.groups):
            raise ValueError(
                "the primary variable (0) must carry the unbiasedness constraint "
                "(or give groups=[] for simple kriging with a known mean)."
            )
        self.ne = k * len(self.dv)
        self.m = self.ne + len(self.cv) + len(self.groups)


def _assemble(table, L, P, valid, tx, with_lhs=True, rhs_P=None):
    """Kriging matrices (B, m, m) and right-hand sides (B, m).

    P: (B, k, 2) data coordinates per system; valid: (B, k) bool; tx: (B, 2) targets (only for
    the right-hand side and collocated entries); rhs_P: coordinates for the right-hand side
    when they differ from P's batch (sharing path).
    """
    k, dv, cv = L.k, L.dv, L.cv
    Pr = P if rhs_P is None else rhs_P
    B = Pr.shape[0]
    cache: dict = {}
    d0 = _dist(Pr, tx[:, None, :])
    rhs = np.zeros((B, L.m))
    for a, u in enumerate(dv):
        rhs[:, a * k : (a + 1) * k] = table.cov(u, 0, d0, cache, "d0")
    for c, u in enumerate(cv):
        rhs[:, L.ne + c] = table.c0(u, 0)
    for q, grp in enumerate(L.groups):
        rhs[:, L.ne + len(cv) + q] = 1.0 if 0 in grp else 0.0
    A = None
    if with_lhs:
        Bl = P.shape[0]
        D = _dist(P[:, :, None, :], P[:, None, :, :])
        A = np.zeros((Bl, L.m, L.m))
        for a, u in enumerate(dv):
            for b, v in enumerate(dv):
                if b < a:
                    A[:, a * k : (a + 1) * k, b * k : (b + 1) * k] = A[
                        :, b * k : (b + 1) * k, a * k : (a + 1) * k
                    ].transpose(0, 2, 1)
                else:
                    A[:, a * k : (a + 1) * k, b * k : (b + 1) * k] = table.cov(u, v, D, cache, "D")
        for c, u in enumerate(cv):  # collocated entries: only without sharing (Bl == B)
            r = L.ne + c
            for b, v in enumerate(dv):
                cov_t = table.cov(u, v, d0, cache, "d0")
                A[:, r, b * k : (b + 1) * k] = A[:, b * k : (b + 1) * k, r] = cov_t
            for c2, w in enumerate(cv):
                A[:, r, L.ne + c2] = table.c0(u, w)
        ve = np.tile(valid, (1, len(dv)))
        if cv:  # a collocated value duplicating a datum of the same variable (target on a datum)
            on_datum = ((d0 == 0) & valid).any(axis=1)
            ve = np.concatenate(
                [
                    ve,
                    np.repeat(~on_datum[:, None], len(cv), axis=1)
                    | np.array([u not in dv for u in cv])[None, :],
                ],
                axis=1,
            )
        for q, grp in enumerate(L.groups):
            r = L.ne + len(cv) + q
            for v in grp:
                if v in dv:
                    a = dv.index(v)
                    A[:, r, a * k : (a + 1) * k] = A[:, a * k : (a + 1) * k, r] = valid
                if v in cv:
                    c = cv.index(v)
                    A[:, r, L.ne + c] = A[:, L.ne + c, r] = 1.0
        if not ve.all():  # missing neighbours: decouple them (identity row, zero weight)
            bad = ~ve
            ne = ve.shape[1]
            A[:, :ne, :][bad] = 0.0
            A[:, :, :ne] *= ve[:, None, :]
            bb, ee = np.nonzero(bad)
            A[bb, ee, ee] = 1.0
            for q in range(len(L.groups)):  # a constraint with no datum left (target out of reach)
                r = L.ne + len(cv) + q
                empty = ~A[:, r, :r].any(axis=1)
                A[empty, r, r] = 1.0
            if A.shape[0] == rhs.shape[0]:
                rhs[:, :ne] *= ve
    return A, rhs


def _solve(A, rhs):
    try:
        return np.linalg.solve(A, rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:
        warnings.warn(
            "singular kriging system(s) (duplicate locations or a degenerate model); "
            "using the pseudo-inverse for this chunk",
            RuntimeWarning,
            stacklevel=3,
        )
        return np.einsum("bij,bj->bi", np.linalg.pinv(A), rhs)


def krige(
    targets,
    xy,
    Z,
    table: CovTable,
    *,
    data_vars=(0,),
    groups=None,
    colloc=None,
    colloc_vars=(),
    n_neighbors=None,
    max_distance=None,
    tree=None,
    chunk_size=None,
    return_var=True,
    return_weights=False,
    progress=None,
    n_jobs=None,
):
    """Krige the primary variable (0) at ``targets``.

    Parameters
    ----------
    targets : (T, 2) array
        Target coordinates, metres.
    xy : (n, 2) array
        Data coordinates (distinct), metres.
    Z : (n, nd) array
        Data values, one column per entry of ``data_vars``; a variable in no constraint group
        must already be centred on its known mean.
    table : CovTable
        Covariance models.
    data_vars : sequence of int
        Variable id of each column of ``Z`` (0 = primary).
    groups : list of lists of int or None
        Unbiasedness constraints: the weights of the variables of a group sum to 1 (group with
        the primary) or 0. None: one group per variable (ordinary co-kriging); ``[[0, 1]]``:
        one joint constraint (standardised collocated co-kriging, secondary shifted to the
        primary mean); ``[]``: no constraint (simple kriging; ``Z`` centred on its known mean).
    colloc : (T, nc) array or None
        Values at the targets themselves (collocated co-kriging), centred like ``Z``.
    colloc_vars : sequence of int
        Variable id of each column of ``colloc``.
    n_neighbors : int or None
        Nearest data locations per target (None: all).
    max_distance : float or None
        Only data within this distance (metres) are used; targets with none get NaN.
    tree : scipy.spatial.cKDTree or None
        KD-tree of ``xy`` (built when None).
    chunk_size : int or None
        Targets per batch (None: sized to about 16 MB of matrices).
    return_var : bool
        Also return the kriging variance.
    return_weights : bool
        Also return ``(index, weights)``: data indices (T, k) and weights (T, k * nd).
    progress : bool or None
        tqdm progress bar over chunks (None: only for more than 5 chunks on a terminal).
    n_jobs : int or None
        Threads solving chunks in parallel (None: 1; -1: all cores). The chunks
        are planned from the data and targets alone, so results are the same, bit for bit,
        for every ``n_jobs``.

    Returns
    -------
    mean : (T,) array
    var : (T,) array, only with ``return_var``
    (index, weights) : only with ``return_weights``
    """
    tx_all = np.ascontiguousarray(targets, dtype=float)
    T, n = len(tx_all), len(xy)
    colloc = None if colloc is None else np.asarray(colloc, dtype=float).reshape(T, -1)
    nc = 0 if colloc is None else colloc.shape[1]
    k = n if n_neighbors is None else min(int(n_neighbors), n)
    is_global = k >= n and max_distance is None
    L = _Layout(k, data_vars, colloc_vars if nc else (), groups)
    c00 = table.c0(0, 0)
    mean = np.full(T, np.nan)
    var = np.full(T, np.nan) if return_var else None
    W = np.zeros((T, L.ne)) if return_weights else None
    nbr = np.zeros((T, k), dtype=np.intp) if return_weights else None

    if is_global and nc == 0:
        from scipy.linalg import LinAlgWarning, lu_factor, lu_solve

        P = xy[None]
        A, _ = _assemble(table, L, P, np.ones((1, n), bool), xy[:1])
        with warnings.catch_warnings():
            warnings.simplefilter("error", category=LinAlgWarning)
            try:
                lu = lu_factor(A[0])
                singular = False
            except (LinAlgWarning, ValueError):
                singular = True
        if singular:
            warnings.warn(
                "singular global kriging system; using the pseudo-inverse",
                RuntimeWarning,
                stacklevel=2,
            )
            Ainv = np.linalg.pinv(A[0])
        vals = Z.T.reshape(-1)
        chunk = chunk_size or max(1, _CHUNK_BYTES // (8 * L.m * 3))
        for s in range(0, T, chunk):
            tx = tx_all[s : s + chunk]
            _, rhs = _assemble(
                table, L, np.broadcast_to(P, (len(tx), n, 2)), None, tx, with_lhs=False
            )
            x = (Ainv @ rhs.T).T if singular else lu_solve(lu, rhs.T).T
            mean[s : s + chunk] = x[:, : L.ne] @ vals
            if return_var:
                var[s : s + chunk] = c00 - np.einsum("ij,ij->i", x, rhs)
            if return_weights:
                W[s : s + chunk] = x[:, : L.ne]
                nbr[s : s + chunk] = np.arange(n)
        return _pack(mean, var, nbr, W)

    _neighbourhood(
        tx_all,
        xy,
        Z,
        table,
        L,
        colloc=colloc,
        tree=tree,
        k=k,
        max_distance=max_distance,
        chunk_size=chunk_size,
        return_var=return_var,
        return_weights=return_weights,
        progress=progress,
        out=(mean, var, W, nbr),
        n_jobs=n_jobs,
    )
    return _pack(mean, var, nbr, W)


def _pack(mean, var, nbr, W):
    """mean, then the variance (clipped at 0) and the (indices, weights) pair when asked for."""
    out = [mean]
    if var is not None:
        out.append(np.maximum(var, 0.0))
    if W is not None:
        out.append((nbr, W))
    return out[0] if len(out) == 1 else tuple(out)


def _neighbourhood(
    tx_all,
    xy,
    Z,
    table,
    L,
    *,
    colloc,
    tree,
    k,
    max_distance,
    chunk_size,
    return_var,
    return_weights,
    progress,
    out,
    n_jobs=None,
):
    """Moving-neighbourhood kriging, filling ``out = (mean, var, W, nbr)`` in place (``nbr``:
    neighbour indices).
    """
    mean, var, W, nbr = out
    T, n = len(tx_all), len(xy)
    nd = len(L.dv)
    nc = 0 if colloc is None else colloc.shape[1]
    c00 = table.c0(0, 0)
    tree = cKDTree(xy) if tree is None else tree
    ub = np.inf if max_distance is None else np.nextafter(float(max_distance), np.inf)
    if T > 1:
        from ._curve import hilbert

        order, q, scale, lo = hilbert(tx_all)
    else:
        order, q, scale, lo = np.arange(T), None, None, None
    chunk = chunk_size or max(16, _CHUNK_BYTES // (8 * L.m * L.m))
    workers = _n_workers(n_jobs)
    kernel = _kernel_params(table, L, nc, return_weights)
    if kernel is not None:  # compiled per-target Cholesky solves; general path only for failures
        order = _krige_kernel(
            tx_all,
            xy,
            Z[:, 0],
            tree,
            k=k,
            ub=ub,
            params=kernel,
            order=order,
            curve=(q, scale, lo),
            out=(mean, var),
            workers=workers,
            progress=progress,
        )
        T = len(order)

    def run(s):
        sel = order[s : s + chunk]
        tx = tx_all[sel]
        _, idx = tree.query(tx, k=k, distance_upper_bound=ub)
        idx = np.sort(idx.reshape(len(tx), k), axis=1)  # canonical order; missing (== n) last
        valid = idx < n
        if nc == 0 and not return_weights and len(tx) >= 8 * TILE and valid.all():
            res = solve_tiles(_assemble, table, _Layout, L, xy, Z, tx=tx, idx=idx, c00=c00)
            if res is not None:
                mean[sel] = res[0]
                if return_var:
                    var[sel] = res[1]
                left = np.isnan(res[0])
                if not left.any():
                    return
                sel, tx, idx, valid = sel[left], tx[left], idx[left], valid[left]
        idx_c = np.where(valid, idx, 0)
        A, rhs = _assemble(table, L, xy[idx_c], valid, tx)
        rhs[:, : L.ne] *= np.tile(valid, (1, nd))
        x = _solve(A, rhs)
        vals = np.concatenate([Z[idx_c, a] * valid for a in range(nd)], axis=1)
        est = np.einsum("ij,ij->i", x[:, : L.ne], vals)
        if nc:
            est += np.einsum("ij,ij->i", x[:, L.ne : L.ne + nc], colloc[sel])
        none = ~valid.any(axis=1)
        est[none] = np.nan
        mean[sel] = est
        if return_var:
            v = c00 - np.einsum("ij,ij->i", x, rhs)
            v[none] = np.nan
            var[sel] = v
        if return_weights:
            W[sel] = x[:, : L.ne]
            nbr[sel] = idx

    if T == 0:  # the compiled kernel solved every target
        return
    starts = range(0, T, chunk)
    disable = (True if len(starts) <= 5 else None) if progress is None else not progress
    # Small dense systems: BLAS threading only adds overhead (and oversubscribes shared CPUs).
    # (Entered only here: finding the BLAS libraries costs ~7 ms a call, a tenth of a
    # kernel-only prediction of 1e5 targets.)
    with threadpool_limits(limits=1, user_api="blas"):
        _run_chunks(run, starts, workers, disable)


def _run_chunks(run, starts, workers, disable):
    """``run(s)`` for every chunk start, on ``workers`` threads, with a progress bar."""
    from concurrent.futures import ThreadPoolExecutor

    if workers == 1:
        for s in tqdm(starts, desc="kriging", unit="chunk", leave=False, disable=disable):
            run(s)
    else:  # chunks write disjoint slices; numpy releases the GIL in the heavy parts
        with ThreadPoolExecutor(workers) as ex:
            for _ in tqdm(
                ex.map(run, starts),
                total=len(starts),
                desc="kriging",
                unit="chunk",
                leave=False,
                disable=disable,
            ):
                pass


def _kernel_params(table, L, nc, return_weights):
    """(model, psill, range, nugget) when the compiled ordinary-kriging kernel applies, else None."""
    if table.V != 1 or L.dv != [0] or nc or L.groups != [[0]] or return_weights:
        return None
    model, psill, rng, _, nug = table._entry(0, 0)
    return (model, psill, rng, nug) if model in KERNEL_MODELS else None


def _krige_kernel(
    tx_all, xy, z, tree, *, k, ub, params, order, out, workers, progress, curve, chunk=1 << 16
):
    """Ordinary kriging of all targets with :func:`ok_walk`, in chunks of ``chunk`` targets
    along ``order`` (memory O(chunk + n) per thread), filling ``out = (mean, var)``; returns the
    targets (in ``order``) it could not solve.
    """
    from ._ok_kernel import ok_walk

    mean, var = out
    failed = []
    starts = range(0, len(order), chunk)
    disable = (True if len(starts) <= 5 else None) if progress is None else not progress
    for s in tqdm(starts, desc="kriging", unit="chunk", leave=False, disable=disable):
        sel = order[s : s + chunk]
        q, scale, lo = curve
        sub = None if q is None else (q[sel], scale, lo)
        m, v, bad = ok_walk(tx_all[sel], xy, z, tree, k, ub, *params, n_threads=workers, curve=sub)
        mean[sel] = m
        if var is not None:
            var[sel] = v
        failed.append(sel[bad])
    return np.concatenate(failed) if failed else np.empty(0, dtype=np.intp)


def _n_workers(n_jobs) -> int:
    import os

    if n_jobs is None:
        return 1
    n_cpu = os.cpu_count() or 1
    return max(1, n_cpu + 1 + int(n_jobs)) if n_jobs < 0 else max(1, int(n_jobs))
