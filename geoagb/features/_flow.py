"""D8 flow routing and flow accumulation on a DEM (for the topographic wetness index).

* Depressions are filled first (optional) by morphological reconstruction by erosion
  (:func:`skimage.morphology.reconstruction`, Soille 2004): every cell is raised to the lowest
  level at which water can leave the grid. Raster edges and cells next to nodata are outlets.
* D8 (O'Callaghan & Mark 1984): each cell drains to the neighbour with the steepest downward
  drop (drop / distance, diagonals at sqrt(2) cells). Ties go to the first neighbour in the
  order N, NE, E, SE, S, SW, W, NW.
* Flats (cells with no lower neighbour that are not outlets, e.g. filled depressions) drain
  towards their outlet: each flat cell drains to an equal-elevation neighbour one step closer
  (in D8 steps) to a cell of the flat that has a lower neighbour.
* Accumulation: the number of cells draining through each cell, itself included:
  ``acc = sum_k A^k 1`` for the drainage matrix ``A``, evaluated as ``prod_i (I + A^(2^i)) 1``
  with pointer jumping (log2 of the longest flow path scatter-adds, no ordering needed).

Our own implementation (pysheds needs numba at run time); tested on small grids against a
brute-force path-following count.
"""

from __future__ import annotations

import numpy as np

__all__ = ["fill_depressions", "d8_receivers", "flow_accumulation"]

#: D8 neighbour offsets (row, col) in tie-break order: N, NE, E, SE, S, SW, W, NW.
D8_OFFSETS = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))


def _outlet_mask(valid: np.ndarray) -> np.ndarray:
    """Valid cells on the raster edge or next to a nodata cell (8-neighbourhood)."""
    vp = np.pad(valid, 1, constant_values=False)
    H, W = valid.shape
    out = np.zeros_like(valid)
    for dr, dc in D8_OFFSETS:
        out |= ~vp[1 + dr : 1 + dr + H, 1 + dc : 1 + dc + W]
    return out & valid


def fill_depressions(dem) -> np.ndarray:
    """Raise every cell to the lowest level from which water can reach an outlet.

    Outlets are the raster edge and cells next to nodata (NaN). Uses morphological
    reconstruction by erosion of a seed equal to the DEM on outlets and to its maximum
    elsewhere.

    Examples
    --------
    >>> z = np.full((5, 5), 10.0); z[2, 2] = 1.0          # a one-cell pit
    >>> float(fill_depressions(z)[2, 2])
    10.0
    """
    from skimage.morphology import reconstruction

    z = np.asarray(dem, dtype=float)
    valid = np.isfinite(z)
    if not valid.any():
        return z.copy()
    lo = float(np.min(z[valid])) - 1.0
    mask = np.where(valid, z, lo)
    edge = _outlet_mask(valid) | ~valid
    seed = np.where(edge, mask, float(np.max(mask)))
    filled = reconstruction(seed, mask, method="erosion")
    return np.where(valid, filled, np.nan)


def d8_receivers(z, resolution: float = 1.0) -> np.ndarray:
    """Flat index of the cell each cell drains to; -1 for outlets, sinks and nodata.

    Parameters
    ----------
    z : 2-D array
        (Filled) elevation, metres; NaN is nodata.
    resolution : float
        Cell size, metres (only the ratio to the diagonal matters).

    Returns
    -------
    receivers : int64 array of shape ``z.size``
    """
    z = np.asarray(z, dtype=float)
    H, W = z.shape
    valid = np.isfinite(z)
    zp = np.pad(z, 1, constant_values=np.nan)
    Wp = W + 2
    best = np.zeros((H, W))
    best_k = np.full((H, W), -1, np.int64)
    with np.errstate(invalid="ignore"):
        for k, (dr, dc) in enumerate(D8_OFFSETS):
            zn = zp[1 + dr : 1 + dr + H, 1 + dc : 1 + dc + W]
            drop = (z - zn) / (resolution * (np.sqrt(2.0) if dr and dc else 1.0))
            better = drop > best  # NaN compares False
            best = np.where(better, drop, best)
            best_k = np.where(better, k, best_k)
    rows, cols = np.indices((H, W))
    off_r = np.array([o[0] for o in D8_OFFSETS] + [0])
    off_c = np.array([o[1] for o in D8_OFFSETS] + [0])
    rec = np.where(best_k >= 0, (rows + off_r[best_k]) * W + cols + off_c[best_k], -1)
    rec[~valid] = -1
    rec = rec.ravel().astype(np.int64)

    # flats: no lower neighbour and not an outlet -> drain towards the flat's outlet by a
    # breadth-first search from the cells of the flat's rim that do have somewhere to go
    outlet = _outlet_mask(valid)
    flat = valid & (best_k < 0) & ~outlet
    if flat.any():
        flatp = np.pad(flat, 1, constant_values=False)
        near_flat = np.zeros_like(flatp)
        for dr, dc in D8_OFFSETS:
            near_flat[1:-1, 1:-1] |= flatp[1 + dr : 1 + dr + H, 1 + dc : 1 + dc + W]
        flatp = flatp.ravel()
        zpf = zp.ravel()
        pending = flatp.copy()
        frontier = np.flatnonzero(
            (np.pad(valid & ~flat, 1, constant_values=False) & near_flat).ravel()
        )
        while frontier.size:
            zf = zpf[frontier]
            new = []
            for dr, dc in D8_OFFSETS:
                nb = frontier + dr * Wp + dc
                ok = pending[nb] & (zpf[nb] == zf)
                nb, src = nb[ok], frontier[ok]
                pending[nb] = False
                nr, nc = np.divmod(nb, Wp)
                sr, sc = np.divmod(src, Wp)
                rec[(nr - 1) * W + nc - 1] = (sr - 1) * W + sc - 1
                new.append(nb)
            frontier = np.concatenate(new)
    return rec


def flow_accumulation(dem, resolution: float = 1.0, fill: bool = True) -> np.ndarray:
    """D8 flow accumulation: number of cells draining through each cell, itself included.

    Parameters
    ----------
    dem : 2-D array
        Elevation, metres; NaN is nodata (and acts as an outlet, like the raster edge).
    resolution : float, default 1
        Cell size, metres.
    fill : bool, default True
        Fill depressions first (:func:`fill_depressions`); without filling, pits are sinks.

    Returns
    -------
    acc : float64 array, NaN on nodata

    Examples
    --------
    >>> z = np.add.outer(np.arange(4.0)[::-1], np.zeros(3))   # a plane falling to the south
    >>> flow_accumulation(z)[:, 0].tolist()
    [1.0, 2.0, 3.0, 4.0]
    """
    z = np.asarray(dem, dtype=float)
    valid = np.isfinite(z)
    zf = fill_depressions(z) if fill else z
    rec = d8_receivers(zf, resolution)
    # sum_k A^k 1 = prod_i (I + A^(2^i)) 1, A the drainage matrix: log2(longest path) steps,
    # each a scatter-add along pointers that jump 2^i cells downstream
    acc = valid.ravel().astype(float)
    jump = rec.copy()
    while True:
        m = jump >= 0
        if not m.any():
            break
        acc += np.bincount(jump[m], weights=acc[m], minlength=acc.size)
        nxt = np.full_like(jump, -1)
        nxt[m] = jump[jump[m]]
        jump = nxt
    acc = acc.reshape(z.shape)
    acc[~valid] = np.nan
    return acc
