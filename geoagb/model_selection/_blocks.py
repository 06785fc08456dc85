"""Pure, vectorised assignment of points to square blocks on a fixed grid."""

from __future__ import annotations

import numpy as np

__all__ = ["block_labels", "block_origin", "compact_labels"]


def block_origin(xy: np.ndarray, origin="upper_left") -> tuple[float, float]:
    """Grid origin ``(x0, y0)``: the upper-left corner of the data extent or an explicit pair.

    An explicit origin makes a split independent of the data extent, so adding plots anywhere
    never moves a block edge; the data-extent default does not drift when plots are added
    inside the extent.
    """
    if isinstance(origin, str):
        if origin != "upper_left":
            raise ValueError(
                f"origin={origin!r} is not valid; use 'upper_left' or an explicit (x0, y0) pair."
            )
        if xy.shape[0] == 0:
            raise ValueError("no samples: cannot place a block grid on an empty set of points.")
        return float(xy[:, 0].min()), float(xy[:, 1].max())
    try:
        x0, y0 = (float(v) for v in origin)
    except (TypeError, ValueError):
        raise ValueError(
            f"origin={origin!r} must be 'upper_left' or a pair (x0, y0) in metres."
        ) from None
    if not (np.isfinite(x0) and np.isfinite(y0)):
        raise ValueError(f"origin={origin!r} must be finite.")
    return x0, y0


def block_labels(coords, block_size: float, origin="upper_left") -> np.ndarray:
    """Label each point with the square block that contains it.

    Block ``(row, col)`` with ``col = floor((x - x0) / block_size)`` and
    ``row = floor((y0 - y) / block_size)`` (rows count down from the top edge, as in an image).
    Labels are ``row * n_cols + col`` shifted so that they are >= 0: equal labels mean the same
    block; labels are comparable only within one call.

    Parameters
    ----------
    coords : array-like of shape (n, 2)
        Eastings and northings, metres.
    block_size : float
        Side of the square blocks, metres (> 0).
    origin : "upper_left" or (x0, y0), default "upper_left"
        Grid origin; see :func:`block_origin`.

    Returns
    -------
    labels : ndarray of int64, shape (n,)

    Examples
    --------
    >>> block_labels([[0, 10], [4, 6], [6, 10], [1, 0]], block_size=5).tolist()
    [0, 0, 1, 4]
    """
    xy = np.asarray(coords, dtype=float)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise ValueError(f"coords must have shape (n, 2); got {xy.shape}.")
    bs = float(block_size)
    if not np.isfinite(bs) or bs <= 0:
        raise ValueError(
            f"block_size={block_size!r} must be a positive number of metres, e.g. 5000."
        )
    if not np.all(np.isfinite(xy)):
        raise ValueError("coords contain NaN or infinite values; drop or fix those samples first.")
    if xy.shape[0] == 0:
        return np.empty(0, dtype=np.int64)
    x0, y0 = block_origin(xy, origin)
    col = np.floor((xy[:, 0] - x0) / bs).astype(np.int64)
    row = np.floor((y0 - xy[:, 1]) / bs).astype(np.int64)
    col -= col.min()
    row -= row.min()
    n_cols = int(col.max()) + 1
    return row * n_cols + col


def compact_labels(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Map labels to 0..m-1 in increasing label order.

    Returns ``(unique_labels, inverse, counts)`` like ``np.unique(..., return_inverse=True,
    return_counts=True)`` but in O(n) with a bincount when the label range is small (the usual
    case for block grids), falling back to a sort otherwise.
    """
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size == 0:
        e = np.empty(0, dtype=np.int64)
        return e, e, e
    top = int(labels.max())
    if labels.min() >= 0 and top < max(4 * labels.size, 1 << 20):
        counts_all = np.bincount(labels, minlength=top + 1)
        present = counts_all > 0
        uniq = np.flatnonzero(present)
        remap = np.cumsum(present) - 1
        return uniq, remap[labels], counts_all[uniq]
    uniq, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    return uniq, inverse, counts
