"""Lag bins of empirical variograms: gstat's equal bins, or bins from the data's spacing.

:func:`lag_edges` (``n_lags`` bins up to ``max_lag``, or ``n_lags="auto"``), and the plot
spacing it reads: :func:`distinct_locations` and :func:`plot_spacing`.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["lag_edges", "distinct_locations", "plot_spacing"]


def lag_edges(
    coords, n_lags: int | str = 15, max_lag: float | None = None, *, min_pairs: int = 30
) -> np.ndarray:
    """Edges of ``n_lags`` equal lag bins from 0 to ``max_lag`` metres.

    ``max_lag=None`` uses one third of the diagonal of the bounding box of ``coords``, gstat's
    default ``cutoff``; the bin width is then gstat's default ``width = cutoff / 15``.

    ``n_lags="auto"`` takes the bins from the data's spacing: at most 30 bins, none narrower
    than the median nearest-neighbour distance of the distinct locations (see
    :func:`plot_spacing`), and fewer while the first bin holds under ``min_pairs`` pairs (the
    usual rule of at least 30 pairs per lag, Journel and Huijbregts 1978; Webster and Oliver
    2007), down to 3 bins (narrower than the spacing only when ``max_lag`` is under 3 plot
    spacings: the fewest bins a model with a nugget can be fitted to).

    Examples
    --------
    >>> lag_edges([[0, 0], [300, 400]], n_lags=5).round(2).tolist()
    [0.0, 33.33, 66.67, 100.0, 133.33, 166.67]
    >>> xy = np.c_[np.arange(40.0) * 100, np.zeros(40)]   # a transect, plots 100 m apart
    >>> len(lag_edges(xy, "auto")) - 1, float(lag_edges(xy, "auto")[1])   # 13 bins of 100 m
    (13, 100.0)
    """
    xy = np.asarray(coords, dtype=float)
    if max_lag is None:
        max_lag = float(np.hypot(*np.ptp(xy, axis=0))) / 3.0
    if not (np.isfinite(max_lag) and max_lag > 0):
        raise ValueError(f"max_lag={max_lag!r} must be a positive distance in metres.")
    if isinstance(n_lags, str):
        if n_lags != "auto":
            raise ValueError(f"n_lags={n_lags!r}; give a number of bins (>= 1) or 'auto'.")
        n_lags = _auto_n_lags(xy, float(max_lag), int(min_pairs))
    n_lags = int(n_lags)
    if n_lags < 1:
        raise ValueError(f"n_lags={n_lags} must be >= 1.")
    return np.linspace(0.0, float(max_lag), n_lags + 1)


#: Most bins ``n_lags="auto"`` makes; fewest it reduces to for the pair count of the first bin.
_AUTO_MAX_LAGS, _AUTO_MIN_LAGS = 30, 3


def distinct_locations(coords) -> np.ndarray:
    """The distinct plot locations, coordinates rounded to the millimetre.

    Rounding keeps re-measured or jittered copies of one location (micrometres apart) as one
    location, so that spacing and lags do not depend on noise in the last digits.

    Examples
    --------
    >>> distinct_locations([[0.0, 0.0], [1e-6, 0.0], [100.0, 0.0]]).tolist()
    [[0.0, 0.0], [100.0, 0.0]]
    """
    return np.unique(np.round(np.asarray(coords, dtype=float), 3), axis=0)


def plot_spacing(coords) -> float:
    """Median distance from a distinct location to its nearest neighbour, metres.

    Examples
    --------
    >>> plot_spacing([[0, 0], [0, 0], [100, 0], [300, 0]])
    100.0
    """
    loc = distinct_locations(coords)
    if len(loc) < 2:
        return float("nan")
    d, _ = cKDTree(loc).query(loc, k=2)
    return float(np.median(d[:, 1]))


def _auto_n_lags(xy: np.ndarray, max_lag: float, min_pairs: int) -> int:
    """Number of bins for ``n_lags="auto"``: see :func:`lag_edges`."""
    spacing = plot_spacing(xy)
    n = _AUTO_MAX_LAGS
    if np.isfinite(spacing) and spacing > 0:
        n = int(np.clip(np.floor(max_lag / spacing), _AUTO_MIN_LAGS, _AUTO_MAX_LAGS))
    tree = cKDTree(xy)
    widths = max_lag / np.arange(n, 0, -1)
    pairs = (tree.count_neighbors(tree, widths) - len(xy)) / 2  # pairs in (0, width]
    enough = np.flatnonzero(pairs >= min_pairs)
    floor = min(n, _AUTO_MIN_LAGS)
    return int(max(n - enough[0], floor)) if len(enough) else floor
