"""Hilbert-curve order of map points: the order in which kriging visits its targets.

Consecutive points along a Hilbert curve are neighbours on the map (the curve never jumps),
and every aligned quadtree cell of the quantised plane is one run of consecutive points, so
runs of targets can be grouped into square tiles. Along a Z-curve (Morton order) the same holds
for the cells, but the curve jumps between them: on a map grid with 2e3 data and k = 32, a
Hilbert walk changes 0.95 of a target's neighbours per step, a Z-curve walk 1.46
(``benchmarks/bench_kriging.py``; the fewest possible, for steps of one grid spacing, is
about 0.9). Each change costs the walk a factor update.

References
----------
Hilbert, D. (1891). Ueber die stetige Abbildung einer Linie auf ein Flaechenstueck.
Mathematische Annalen 38, 459-460.
"""

from __future__ import annotations

import numpy as np

from .._numba import njit

__all__ = ["BITS", "bounds", "hilbert"]

#: bits per axis of the quantised coordinates
BITS = 16


@njit(cache=True)
def _keys(qx, qy, out):
    """Distance along the Hilbert curve of side 2^BITS of the cells (qx, qy)."""
    n1 = (1 << BITS) - 1
    for i in range(len(qx)):
        x = qx[i]
        y = qy[i]
        d = 0
        s = 1 << (BITS - 1)
        while s > 0:
            rx = 1 if (x & s) > 0 else 0
            ry = 1 if (y & s) > 0 else 0
            d += s * s * ((3 * rx) ^ ry)
            if ry == 0:  # rotate the quadrant so that the sub-curve joins its neighbours
                if rx == 1:
                    x = n1 - x
                    y = n1 - y
                x, y = y, x
            s >>= 1
        out[i] = d


def bounds(xy: np.ndarray):
    """Lower corner and side lengths of the bounding box of the (n, 2) points ``xy``.

    Column by column: numpy's ``min`` and ``ptp`` along axis 0 of an (n, 2) array take a slow
    path (5.7 ms against 0.17 ms for 1e5 points).
    """
    lo = np.array([xy[:, 0].min(), xy[:, 1].min()])
    return lo, np.array([xy[:, 0].max(), xy[:, 1].max()]) - lo


def hilbert(xy: np.ndarray):
    """Hilbert-curve order of the points ``xy`` (16 bits per axis).

    Returns
    -------
    order : (n,) int array
        Visiting order (stable for equal cells).
    q : (n, 2) uint64 array
        Quantised coordinates, ``xy ~ lo + q * scale``; ``q >> l`` identifies the aligned
        quadtree cell of side ``2^l`` a point lies in, and each such cell is one run of ``order``.
    scale, lo : (2,) arrays
    """
    lo, span = bounds(xy)
    span[span == 0] = 1.0
    scale = span / ((1 << BITS) - 1)
    q = np.minimum((xy - lo) / scale, (1 << BITS) - 1).astype(np.uint64)
    keys = np.empty(len(xy), dtype=np.int64)
    _keys(q[:, 0].astype(np.int64), q[:, 1].astype(np.int64), keys)
    return np.argsort(keys, kind="stable"), q, scale, lo
