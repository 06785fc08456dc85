"""Spatial cross-validation splitters (scikit-learn compatible)."""

from __future__ import annotations

import numbers

import numpy as np
from scipy.spatial import cKDTree
from sklearn.model_selection import BaseCrossValidator, KFold

from .._coords import metric_coords
from .._random import check_random_state
from ._blocks import block_labels, compact_labels

__all__ = [
    "SpatialBlockKFold",
    "BufferedLeaveOneOut",
    "assign_blocks_to_folds",
    "buffer_exclude",
    "check_split",
    "check_spread",
    "FixedSplits",
    "as_splitter",
]

#: The fix for samples that all share one location (used by every spatial splitter).
_COLOCATED_FIX = (
    "check the coordinates (a wrong coords= or an unset geometry?); several measurements of "
    "one plot need no spatial CV: use sklearn.model_selection.KFold or GroupKFold"
)


class FixedSplits:
    """A splitter that yields precomputed ``(train, test)`` index pairs, every time it is asked.

    Parameters
    ----------
    splits : iterable of (train, test)
        Materialised once (a generator is consumed here, so it can be split again).

    Examples
    --------
    >>> cv = FixedSplits([([0, 1], [2]), ([1, 2], [0])])
    >>> cv.get_n_splits(), [t.tolist() for _, t in cv.split()]
    (2, [[2], [0]])
    """

    def __init__(self, splits):
        pairs = []
        for k, pair in enumerate(splits):
            try:
                train, test = pair
            except (TypeError, ValueError):
                raise ValueError(
                    f"cv item {k} is {type(pair).__name__}, not a (train, test) pair of index "
                    "arrays; give cv as an int, a splitter or an iterable of (train, test)."
                ) from None
            pairs.append((np.asarray(train, dtype=np.intp), np.asarray(test, dtype=np.intp)))
        if not pairs:
            raise ValueError("cv is an empty iterable; give at least one (train, test) pair.")
        self.splits = pairs

    def split(self, X=None, y=None, groups=None):
        yield from self.splits

    def get_n_splits(self, X=None, y=None, groups=None):
        return len(self.splits)


def as_splitter(cv, random_state=None):
    """A splitter from what :func:`sklearn.model_selection.check_cv` accepts for regression.

    Parameters
    ----------
    cv : int, splitter or iterable of (train, test)
        An int gives a shuffled :class:`~sklearn.model_selection.KFold` seeded with
        ``random_state`` (scikit-learn's ``check_cv`` does not shuffle; spatial data sorted by
        location would give spatial folds); an object with ``split`` is returned as is; any
        other iterable of ``(train, test)`` pairs is materialised into :class:`FixedSplits`.
    random_state : int, RandomState, Generator or None, default None

    Returns
    -------
    splitter

    Examples
    --------
    >>> as_splitter([([0, 1], [2])]).get_n_splits()
    1
    """
    if isinstance(cv, numbers.Integral) and not isinstance(cv, bool):
        return KFold(n_splits=int(cv), shuffle=True, random_state=check_random_state(random_state))
    if hasattr(cv, "split") and not isinstance(cv, (str, bytes)):
        return cv
    if cv is None or isinstance(cv, (str, bytes)) or not hasattr(cv, "__iter__"):
        raise ValueError(
            f"cv={cv!r} is not an int, a splitter or an iterable of (train, test) pairs; give "
            "e.g. cv=SpatialBlockKFold(5, block_size=5_000) or cv=list(KFold(5).split(X))."
        )
    return FixedSplits(cv)


def check_spread(xy: np.ndarray, splitter: str) -> None:
    """Refuse samples that all sit at one location: no spatial split can separate them.

    Examples
    --------
    >>> check_spread(np.array([[5.0, 5.0], [5.0, 5.0]]), "NNDM")
    Traceback (most recent call last):
    ...
    ValueError: NNDM: all 2 samples are at one location (5.0, 5.0), so no spatial fold can ...
    """
    xy = np.asarray(xy, dtype=float)
    if len(xy) > 1 and not np.ptp(xy, axis=0).any():
        raise ValueError(
            f"{splitter}: all {len(xy)} samples are at one location ({xy[0, 0]:.1f}, "
            f"{xy[0, 1]:.1f}), so no spatial fold can separate them; {_COLOCATED_FIX}."
        )


def check_split(train, test, k, splitter: str, cause: str, fix: str):
    """``(train, test)`` unchanged, or a ValueError when either is empty (a degenerate fold).

    ``cause`` says why it is empty (e.g. "every other sample lies within the buffer") and
    ``fix`` what to do; the message names the split ``k`` and both sizes.

    Examples
    --------
    >>> check_split(np.array([], int), np.array([3]), 3, "NNDM", "all others excluded", "do X")
    Traceback (most recent call last):
    ...
    ValueError: NNDM: split 3 has 0 training and 1 test sample(s) (all others excluded); do X.
    """
    if len(train) == 0 or len(test) == 0:
        raise ValueError(
            f"{splitter}: split {k} has {len(train)} training and {len(test)} test sample(s) "
            f"({cause}); {fix}."
        )
    return train, test


def assign_blocks_to_folds(
    block_sizes: np.ndarray, n_splits: int, random_state=None, balance: bool = False
) -> np.ndarray:
    """Assign blocks to folds; returns the fold of each block.

    ``balance=False`` (the Shenzhen urban-carbon study's design): blocks are shuffled with the
    seed and dealt to folds
    in turn, so every fold gets the same number of blocks (+-1). ``balance=True``: blocks, in a
    seeded random order, are taken largest first and each goes to the fold with the fewest
    samples so far (greedy longest-processing-time), which evens out fold sizes.
    """
    m = len(block_sizes)
    rng = check_random_state(random_state)
    perm = rng.permutation(m)
    fold = np.empty(m, dtype=np.int64)
    if not balance:
        fold[perm] = np.arange(m) % n_splits
        return fold
    order = perm[np.argsort(-np.asarray(block_sizes)[perm], kind="stable")]
    load = np.zeros(n_splits, dtype=np.int64)
    for b in order:
        f = int(np.argmin(load))
        fold[b] = f
        load[f] += block_sizes[b]
    return fold


def buffer_exclude(
    xy: np.ndarray, train: np.ndarray, test: np.ndarray, buffer: float
) -> np.ndarray:
    """Return ``train`` without the samples closer than ``buffer`` metres to any test sample."""
    if buffer is None or buffer <= 0 or len(test) == 0 or len(train) == 0:
        return train
    tree = cKDTree(xy[test])
    d, _ = tree.query(xy[train], k=1, distance_upper_bound=buffer)
    return train[~(d <= buffer)]


def _n(X):
    try:
        return len(X)
    except TypeError:
        return None


def _check_buffer(buffer):
    if buffer is None:
        return None
    if not isinstance(buffer, numbers.Real) or not np.isfinite(buffer) or buffer < 0:
        raise ValueError(f"buffer={buffer!r} must be a non-negative distance in metres (or None).")
    return float(buffer)


class SpatialBlockKFold(BaseCrossValidator):
    """K-fold over square spatial blocks on a fixed grid (the Shenzhen urban-carbon study's spatial block CV).

    Every sample in a block goes to the same fold; blocks are assigned to folds at random with
    ``random_state``, so the same seed gives the same folds. Usable as ``cv=`` anywhere in
    scikit-learn.

    Parameters
    ----------
    n_splits : int, default 10
        Number of folds (>= 2, <= number of non-empty blocks).
    block_size : float, default 5000
        Side of the square blocks, metres.
    origin : "upper_left" or (x0, y0), default "upper_left"
        Grid origin. "upper_left" is the upper-left corner of the data extent; give an explicit
        pair to keep block edges fixed whatever data are added.
    random_state : int, RandomState or None
        Seed of the block-to-fold assignment.
    coords : pair of column names, (n, 2) array or None, default None
        Where to find coordinates when ``X`` is a DataFrame (None: ``("x", "y")``; a
        GeoDataFrame's geometry is always used); an (n, 2) array aligned with ``X`` lets ``X``
        stay a plain feature matrix.
    balance : bool, default False
        Even out the number of samples per fold instead of the number of blocks per fold.
    buffer : float or None, default None
        Exclude from training every sample within ``buffer`` metres of the test fold.

    Examples
    --------
    >>> import numpy as np
    >>> xy = np.random.default_rng(0).uniform(0, 10_000, (200, 2))
    >>> cv = SpatialBlockKFold(n_splits=4, block_size=2_500, random_state=0)
    >>> sorted(len(test) > 0 for _, test in cv.split(xy))
    [True, True, True, True]

    Two idioms with plain scikit-learn code::

        cross_validate(model, X_df, y, cv=SpatialBlockKFold(block_size=5000))          # X has x, y
        cross_validate(model, X_feat, y, cv=SpatialBlockKFold(block_size=5000, coords=xy))
    """

    def __init__(
        self,
        n_splits=10,
        block_size=5_000.0,
        origin="upper_left",
        random_state=None,
        coords=None,
        balance=False,
        buffer=None,
    ):
        self.n_splits = n_splits
        self.block_size = block_size
        self.origin = origin
        self.random_state = random_state
        self.coords = coords
        self.balance = balance
        self.buffer = buffer

    def get_n_splits(self, X=None, y=None, groups=None):
        return self.n_splits

    def _coords(self, X):
        if _n(X) == 0:
            raise ValueError(
                f"{type(self).__name__}.split got X with 0 samples; give at least n_splits samples."
            )
        return metric_coords(X, self.coords, distance=float(self.block_size), name="block_size")

    def fold_labels(self, X) -> np.ndarray:
        """Fold index (0..n_splits-1) of every sample."""
        if not isinstance(self.n_splits, numbers.Integral) or self.n_splits < 2:
            raise ValueError(f"n_splits={self.n_splits!r} must be an integer >= 2.")
        xy = self._coords(X)
        check_spread(xy, type(self).__name__)
        labels = block_labels(xy, self.block_size, self.origin)
        _, inverse, counts = compact_labels(labels)
        n_blocks = len(counts)
        if n_blocks == 1:
            raise ValueError(
                f"all {len(xy)} samples fall in 1 non-empty block of block_size="
                f"{self.block_size:g} m (the data span {np.ptp(xy, axis=0).max():.4g} m), so "
                f"no fold has training data; use a block_size well below the span, so that "
                f"there are at least n_splits={self.n_splits} blocks."
            )
        if n_blocks < self.n_splits:
            raise ValueError(
                f"n_splits={self.n_splits} is larger than the {n_blocks} non-empty block(s) of "
                f"block_size={self.block_size:g} m; use a smaller block_size or n_splits <= {n_blocks}."
            )
        fold_of_block = assign_blocks_to_folds(
            counts, self.n_splits, self.random_state, self.balance
        )
        return fold_of_block[inverse]

    def split(self, X, y=None, groups=None):
        """Yield ``(train, test)`` index arrays, one pair per fold."""
        buffer = _check_buffer(self.buffer)
        folds = self.fold_labels(X)
        xy = self._coords(X) if buffer else None
        span = np.ptp(xy, axis=0).max() if buffer else 0.0
        order = np.argsort(folds, kind="stable")
        bounds = np.searchsorted(folds[order], np.arange(self.n_splits + 1))
        n = len(folds)
        for k in range(self.n_splits):
            test = np.sort(order[bounds[k] : bounds[k + 1]])
            mask = np.ones(n, dtype=bool)
            mask[test] = False
            train = np.flatnonzero(mask)
            if buffer:
                train = buffer_exclude(xy, train, test, buffer)
            yield check_split(
                train,
                test,
                k,
                type(self).__name__,
                f"buffer={buffer:g} m removes every training sample: all lie within the buffer "
                f"of test fold {k} (the data span {span:.4g} m)"
                if buffer
                else "an empty fold",
                "use a buffer smaller than the distance between blocks, e.g. the residual "
                "variogram range",
            )

    def _iter_test_indices(self, X=None, y=None, groups=None):  # sklearn API
        for _, test in self.split(X, y, groups):
            yield test


class BufferedLeaveOneOut(BaseCrossValidator):
    """Leave-one-out where training excludes every sample within ``buffer`` metres of the test
    sample (spatial LOO, as in CAST / blockCV's buffering).

    Parameters
    ----------
    buffer : float
        Exclusion radius, metres (>= 0; 0 is ordinary leave-one-out).
    coords : pair of column names, (n, 2) array or None, default None
        As in :class:`SpatialBlockKFold`.

    Examples
    --------
    >>> import numpy as np
    >>> xy = np.array([[0.0, 0.0], [10.0, 0.0], [100.0, 0.0]])
    >>> [train.tolist() for train, _ in BufferedLeaveOneOut(buffer=50).split(xy)]
    [[2], [2], [0, 1]]
    """

    def __init__(self, buffer, coords=None):
        self.buffer = buffer
        self.coords = coords

    def get_n_splits(self, X=None, y=None, groups=None):
        if X is None:
            raise ValueError("BufferedLeaveOneOut needs X to count its splits (one per sample).")
        return len(X)

    def split(self, X, y=None, groups=None):
        buffer = _check_buffer(self.buffer)
        if buffer is None:
            raise ValueError("buffer=None: give the exclusion radius in metres, e.g. buffer=2000.")
        xy = metric_coords(X, self.coords, distance=buffer if buffer > 0 else None, name="buffer")
        n = len(xy)
        if n < 2:
            raise ValueError(f"BufferedLeaveOneOut needs at least 2 samples; got {n}.")
        if buffer > 0:
            check_spread(xy, type(self).__name__)
        tree = cKDTree(xy)
        span = np.ptp(xy, axis=0).max()
        for i in range(n):
            near = tree.query_ball_point(xy[i], r=buffer) if buffer > 0 else [i]
            mask = np.ones(n, dtype=bool)
            mask[near] = False
            mask[i] = False
            yield check_split(
                np.flatnonzero(mask),
                np.array([i]),
                i,
                type(self).__name__,
                f"buffer={buffer:g} m removes every training sample: all lie within the buffer "
                f"of test sample {i} (the data span {span:.4g} m)",
                "use a smaller buffer, e.g. the residual variogram range",
            )

    def _iter_test_indices(self, X=None, y=None, groups=None):
        for _, test in self.split(X, y, groups):
            yield test
