r"""Moving-neighbourhood kriging of many targets with shared factorisations ("tiles").

Targets close to each other have nearly the same k nearest data. A *tile* is a group of G
consecutive targets along the Hilbert curve; ``U`` is the union of their neighbour sets (u data,
slightly more than k). The kriging matrix ``A_U`` of the union is inverted once per tile, and
the exact system of each target, which uses only its own k neighbours ``S`` (``R = U \\ S`` are
left out), is recovered from ``A_U^-1`` with the bordering identity

    x = y + A_U^-1[:, R] zeta,   y = A_U^-1 b,   zeta = -(A_U^-1[R, R])^-1 y_R,

which forces the weights of ``R`` to zero and solves the k-neighbour system exactly. Per
target this costs one matrix-vector product with the shared inverse (a batched GEMM) and an
``r x r`` solve, ``r = u - k``, instead of factorising an ``(k+1) x (k+1)`` matrix. Where
targets are sparse relative to the data (``u`` much larger than ``k``) the caller falls back
to direct solves.
"""

from __future__ import annotations

import numpy as np

__all__ = ["solve_tiles", "TILE"]

#: Targets per tile.
TILE = 16
_TILES_PER_BATCH = 48


def _union_rows(idx_tiles: np.ndarray, n: int):
    """Sorted unique indices of each tile row, padded with ``n`` (dummy) to a common width."""
    s = np.sort(idx_tiles, axis=1)
    new = np.ones_like(s, dtype=bool)
    new[:, 1:] = s[:, 1:] != s[:, :-1]
    u = new.sum(axis=1)
    U = np.full((len(s), int(u.max())), n, dtype=np.intp)
    rows = np.broadcast_to(np.arange(len(s))[:, None], s.shape)[new]
    U[rows, (np.cumsum(new, axis=1) - 1)[new]] = s[new]
    return U, u


def solve_tiles(assemble, table, layout_cls, L, xy, Z, *, tx, idx, c00, tile=TILE):
    """Estimates and kriging variances for targets ``tx`` with sorted neighbour indices ``idx``.

    Returns None when tiles would not pay off (neighbour sets overlap too little); otherwise
    ``(est, var)`` with NaN for the targets of tiles left to the caller (union too large, e.g.
    where the targets are sparse).
    """
    n = len(xy)
    T, k = idx.shape
    nd = len(L.dv)
    nt = -(-T // tile)
    pad = nt * tile - T
    if pad:
        idx = np.concatenate([idx, np.repeat(idx[-1:], pad, axis=0)])
        tx = np.concatenate([tx, np.repeat(tx[-1:], pad, axis=0)])
    U_all, u = _union_rows(idx.reshape(nt, tile * k), n)
    good = u - k <= max(10, k // 2)  # tiles whose union is small enough to pay off
    if good.mean() < 0.5:
        return None
    est = np.full(nt * tile, np.nan)
    var = np.full(nt * tile, np.nan)
    order = np.argsort(u, kind="stable")
    order = order[good[order]]
    for s in range(0, len(order), _TILES_PER_BATCH):
        tiles = order[s : s + _TILES_PER_BATCH]
        umax = int(u[tiles].max())
        U = U_all[tiles, :umax]
        nb = len(tiles)
        validU = U < n
        Uc = np.where(validU, U, 0)
        Lu = layout_cls(umax, L.dv, (), L.groups)
        A, _ = assemble(table, Lu, xy[Uc], validU, xy[Uc[:, 0]])
        Ainv = np.linalg.inv(A)
        sel = (tiles[:, None] * tile + np.arange(tile)).reshape(-1)
        t_of = np.repeat(np.arange(nb), tile)
        P = np.broadcast_to(xy[Uc][:, None], (nb, tile, umax, 2)).reshape(nb * tile, umax, 2)
        _, b = assemble(table, Lu, None, None, tx[sel], with_lhs=False, rhs_P=P)
        vU = np.tile(validU, (1, nd))
        b[:, : Lu.ne] *= vU[t_of]
        y = np.matmul(b.reshape(nb, tile, Lu.m), Ainv.transpose(0, 2, 1)).reshape(nb * tile, Lu.m)
        zU = np.zeros((nb, Lu.m))
        zU[:, : Lu.ne] = np.concatenate([Z[Uc, a] * validU for a in range(nd)], axis=1)
        e = np.einsum("ij,ij->i", y, zU[t_of])
        v = c00 - np.einsum("ij,ij->i", y, b)
        r = umax - k
        if r > 0:
            # positions of each target's own neighbours within its tile's union
            off = (np.arange(nb) * (n + 1))[:, None]
            flatU = (U + off).reshape(-1)
            spos = np.searchsorted(flatU, (idx[sel] + off[t_of]).reshape(-1)).reshape(-1, k)
            spos -= (np.arange(nb) * umax)[t_of][:, None]
            inS = np.zeros((nb * tile, umax), dtype=bool)
            np.put_along_axis(inS, spos, True, axis=1)
            Rpos = np.argsort(inS, axis=1, kind="stable")[:, :r]
            Rent = np.concatenate([Rpos + a * umax for a in range(nd)], axis=1)
            M = Ainv[t_of[:, None, None], Rent[:, :, None], Rent[:, None, :]]
            yR = np.take_along_axis(y, Rent, axis=1)
            zeta = -np.linalg.solve(M, yR[..., None])[..., 0]
            q = np.einsum("tij,tj->ti", Ainv, zU)
            e += np.einsum("ij,ij->i", q[t_of[:, None], Rent], zeta)
            v -= np.einsum("ij,ij->i", zeta, yR)
        est[sel] = e
        var[sel] = v
    return est[:T], var[:T]
