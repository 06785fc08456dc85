"""Gradient-stratified Monte-Carlo sampling (the Tibet ResNet study) and hold-out splits (FineKarstAGB)."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator

from .._coords import metric_coords
from .._random import check_random_state
from ._blocks import block_labels, compact_labels

__all__ = ["GradientStratifiedSampler", "holdout_split"]


class GradientStratifiedSampler(BaseCrossValidator):
    """Train on one plot per interval of an environmental gradient, test on the rest.

    The Tibet ResNet study sampled one field plot per elevation interval (100, 200, 300, 500 m) and used
    Monte-Carlo repetition so that every interval width is judged over many random draws. Each
    of the ``n_repeats`` splits draws, for every non-empty interval
    ``[g0 + k * interval, g0 + (k + 1) * interval)`` (``g0`` = the gradient's minimum), one plot
    at random for training; all other plots are the test set. With ``n_train`` set, further
    rounds of one plot per interval (without replacement) are drawn until ``n_train`` training
    plots are reached, so different interval widths can be compared at equal sample size.

    Parameters
    ----------
    gradient : str or array-like, default "elevation"
        Column of ``X`` holding the gradient, or the values themselves (length n).
    interval : float, default 100
        Interval width in the gradient's units (metres for elevation).
    n_repeats : int, default 100
        Monte-Carlo repetitions (splits).
    n_train : int or None
        Training-set size (>= 2, < n); default one plot per non-empty interval. A constant
        gradient, or an interval that holds the whole gradient, is refused: every training
        set would hold a single plot.
    random_state : int, RandomState or None

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"elevation": [5, 50, 120, 180, 260, 290]})
    >>> cv = GradientStratifiedSampler(interval=100, n_repeats=3, random_state=0)
    >>> [len(train) for train, test in cv.split(X)]
    [3, 3, 3]
    """

    def __init__(
        self, gradient="elevation", interval=100.0, n_repeats=100, n_train=None, random_state=None
    ):
        self.gradient = gradient
        self.interval = interval
        self.n_repeats = n_repeats
        self.n_train = n_train
        self.random_state = random_state

    def get_n_splits(self, X=None, y=None, groups=None):
        return self.n_repeats

    def _values(self, X):
        if isinstance(self.gradient, str):
            if not isinstance(X, pd.DataFrame) or self.gradient not in X.columns:
                raise ValueError(
                    f"gradient={self.gradient!r} is not a column of X; pass the column name of the "
                    "gradient (e.g. 'elevation') or the gradient values as an array."
                )
            g = X[self.gradient].to_numpy(dtype=float)
        else:
            g = np.asarray(self.gradient, dtype=float).ravel()
            if len(g) != len(X):
                raise ValueError(f"gradient has {len(g)} values but X has {len(X)} samples.")
        if not np.all(np.isfinite(g)):
            raise ValueError("gradient values contain NaN or inf; drop those plots first.")
        return g

    def split(self, X, y=None, groups=None):
        if not (isinstance(self.interval, numbers.Real) and self.interval > 0):
            raise ValueError(
                f"interval={self.interval!r} must be > 0 (gradient units, e.g. metres)."
            )
        g = self._values(X)
        name = repr(self.gradient) if isinstance(self.gradient, str) else "given"
        if len(g) > 1 and np.ptp(g) == 0:
            raise ValueError(
                f"the {name} gradient is constant (all {len(g)} values are {g[0]:g}), so it has "
                "one interval and every training set would hold one plot; stratify on a "
                "gradient that varies, or use another splitter (e.g. SpatialBlockKFold)."
            )
        strata = np.floor((g - g.min()) / float(self.interval)).astype(np.int64)
        _, inverse, counts = compact_labels(strata)
        n, m = len(g), len(counts)
        if self.n_train is None and m < 2:
            raise ValueError(
                f"interval={self.interval:g} holds the whole {name} gradient (range "
                f"{g.min():g}..{g.max():g}) in one interval, so every training set would hold "
                f"one plot; use a smaller interval (at most the range, {np.ptp(g):g}) or set "
                "n_train >= 2."
            )
        if self.n_train is None and m >= n:
            raise ValueError(
                f"interval={self.interval:g} gives each of the {n} plots its own interval of the "
                f"{name} gradient, so no plot is left to test; use a wider interval or set "
                f"n_train < {n}."
            )
        n_train = m if self.n_train is None else self.n_train
        if not (isinstance(n_train, numbers.Integral) and 2 <= n_train < n):
            raise ValueError(
                f"n_train={self.n_train!r} must be an integer between 2 (a model needs two "
                f"training plots) and n_samples - 1 = {n - 1} (the test set must not be empty)."
            )
        n_train = int(n_train)
        members = np.split(np.argsort(inverse, kind="stable"), np.cumsum(counts)[:-1])
        rng = check_random_state(self.random_state)
        for _ in range(self.n_repeats):
            shuffled = [rng.permutation(mem) for mem in members]
            chosen = []
            rnd = 0
            while len(chosen) < n_train:
                order = rng.permutation(m)
                avail = [shuffled[s][rnd] for s in order if rnd < len(shuffled[s])]
                if not avail:
                    break
                chosen.extend(avail[: n_train - len(chosen)])
                rnd += 1
            train = np.sort(np.asarray(chosen, dtype=np.int64))
            mask = np.ones(n, dtype=bool)
            mask[train] = False
            yield train, np.flatnonzero(mask)

    def _iter_test_indices(self, X=None, y=None, groups=None):
        for _, test in self.split(X, y, groups):
            yield test


def holdout_split(X, fractions=(0.7, 0.1, 0.2), random_state=None, block_size=None, coords=None):
    """Split samples into train / validation / test index arrays (FineKarstAGB: 70/10/20).

    With ``block_size`` (metres), whole spatial blocks go to one set, so the test set is
    spatially separate from training; the fractions are then met approximately (by blocks
    taken in a seeded random order until each set's share of samples is reached).

    Parameters
    ----------
    X : GeoDataFrame, DataFrame, object with ``.coords`` or (n, 2) array
        The samples (coordinates needed only with ``block_size``).
    fractions : sequence of float, default (0.7, 0.1, 0.2)
        Shares of the sets; they sum to 1.
    random_state : int, RandomState, Generator or None, default None
    block_size : float or None
        Block side, metres; None: a random split of samples.
    coords : pair of str or None
        Coordinate columns of a DataFrame ``X`` (None: ``("x", "y")``).

    Returns
    -------
    train, validation, test : ndarray of int64

    Examples
    --------
    >>> import numpy as np
    >>> tr, va, te = holdout_split(np.zeros((100, 2)), random_state=0)
    >>> len(tr), len(va), len(te)
    (70, 10, 20)
    """
    fr = np.asarray(fractions, dtype=float)
    if fr.ndim != 1 or fr.size < 2 or np.any(fr < 0) or not np.isclose(fr.sum(), 1.0):
        raise ValueError(
            f"fractions={tuple(fractions)} must be non-negative and sum to 1, e.g. (0.7, 0.1, 0.2)."
        )
    n = len(X)
    rng = check_random_state(random_state)
    if block_size is None:
        order = rng.permutation(n)
        cuts = np.round(np.cumsum(fr)[:-1] * n).astype(int)
        return tuple(np.sort(p) for p in np.split(order, cuts))
    xy = metric_coords(X, coords, distance=block_size, name="block_size")
    _, inverse, counts = compact_labels(block_labels(xy, block_size))
    block_order = rng.permutation(len(counts))
    cum = np.cumsum(counts[block_order]) / n
    set_of_block = np.empty(len(counts), dtype=np.int64)
    set_of_block[block_order] = np.searchsorted(np.cumsum(fr)[:-1], cum - 1e-12, side="left")
    sets = set_of_block[inverse]
    out = tuple(np.flatnonzero(sets == k) for k in range(fr.size))
    empty = [k for k, idx in enumerate(out) if len(idx) == 0 and fr[k] > 0]
    if empty:
        raise ValueError(
            f"block_size={block_size:g} m gives {len(counts)} block(s) for {n} samples, too few "
            f"to fill every set: set(s) {empty} would be empty (sizes {[len(o) for o in out]}). "
            "Use a smaller block_size so that each set gets whole blocks."
        )
    return out
