"""The weighted predictor space of the dissimilarity index (Meyer & Pebesma 2021).

Each predictor is standardised by the training mean and standard deviation (``ddof=1``, as R's
``scale``) and multiplied by its importance weight; distances are Euclidean in that space.
Predictors of weight 0 do not count and are dropped.

For speed the space is also rotated onto the principal axes of the weighted training data. A
rotation changes no distance, but lines the KD-tree's splits up with the directions in which
the data vary, which makes nearest-neighbour queries about twice as fast on correlated
predictors (measured in ``benchmarks/bench_aoa.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._random import check_generator

__all__ = ["WeightedSpace", "fit_space", "mean_pairwise_distance"]


@dataclass
class WeightedSpace:
    """Affine map from raw predictor values to the rotated, weighted, standardised space.

    ``transform(X) = (X[:, used] - mean[used]) @ matrix``.
    """

    mean: np.ndarray  # (p,) training means
    scale: np.ndarray  # (p,) training standard deviations (ddof=1)
    weights: np.ndarray  # (p,) importance weights (>= 0)
    used: np.ndarray  # indices of predictors with weight > 0
    matrix: np.ndarray  # (len(used), len(used)) diag(w / sd) @ rotation

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Coordinates of the rows of ``X`` (n, p) in the weighted space (n, q), float64."""
        X = np.asarray(X, dtype=np.float64)
        return (X[:, self.used] - self.mean[self.used]) @ self.matrix


def fit_space(X: np.ndarray, weights: np.ndarray, names=None) -> tuple[WeightedSpace, np.ndarray]:
    """Standardise, weight and rotate the training predictors.

    Parameters
    ----------
    X : ndarray (n, p)
        Training predictor values, finite.
    weights : ndarray (p,)
        Non-negative importance weights, at least one positive.
    names : list of str, optional
        Predictor names, for error messages.

    Returns
    -------
    space : WeightedSpace
    Z : ndarray (n, q)
        The training samples in the weighted space.

    Examples
    --------
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> space, Z = fit_space(X, np.ones(2))
    >>> round(float(np.linalg.norm(Z[0] - Z[1])), 4)   # 1 / sd = 1 / sqrt(1/3)
    1.7321
    """
    X = np.asarray(X, dtype=np.float64)
    n, p = X.shape
    names = list(names) if names is not None else [f"x{j}" for j in range(p)]
    mean = X.mean(axis=0)
    scale = X.std(axis=0, ddof=1) if n > 1 else np.zeros(p)
    w = np.asarray(weights, dtype=np.float64)
    used = np.flatnonzero(w > 0)
    flat = [names[j] for j in used if not scale[j] > 0]
    if flat:
        raise ValueError(
            f"predictor(s) {flat} have no variance in the training data (sd = 0), so they cannot be "
            "standardised; drop them (features=[...] without them) or give them weight 0."
        )
    Zw = (X[:, used] - mean[used]) * (w[used] / scale[used])
    # principal axes of the weighted training data: distances unchanged, KD-tree splits aligned
    _, _, vt = np.linalg.svd(Zw - Zw.mean(axis=0), full_matrices=False)
    rot = vt.T if vt.shape[0] == len(used) else np.eye(len(used))
    matrix = (w[used] / scale[used])[:, None] * rot
    space = WeightedSpace(mean=mean, scale=scale, weights=w, used=used, matrix=matrix)
    return space, Zw @ rot


def mean_pairwise_distance(
    Z: np.ndarray, max_exact: int = 5000, random_state=None, block: int = 1024
) -> tuple[float, bool]:
    """Mean Euclidean distance over all pairs of distinct training samples.

    This is the normaliser of the DI (CAST's ``trainDist_avrgmean``: the mean over samples of
    each sample's mean distance to all others, which equals the mean over all ordered pairs).

    Parameters
    ----------
    Z : ndarray (n, q)
    max_exact : int, default 5000
        Up to this many samples the mean is exact (n^2 distances, computed in blocks of
        ``block`` rows, memory O(block * n)). Beyond, it is the exact mean pairwise distance of
        a random subsample of ``max_exact`` samples drawn without replacement with
        ``random_state``: an unbiased estimate whose relative standard error is about
        ``cv / sqrt(max_exact)`` (well under 1 % for distance distributions of ordinary spread).
    random_state : None, int, RandomState or Generator

    Returns
    -------
    mean : float
    exact : bool
        False when the subsample estimate was used.

    Examples
    --------
    >>> Z = np.array([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])
    >>> mean_pairwise_distance(Z)          # (3 + 4 + 5) / 3
    (4.0, True)
    """
    from scipy.spatial.distance import cdist

    Z = np.asarray(Z, dtype=np.float64)
    n = Z.shape[0]
    if n < 2:
        raise ValueError(f"at least two training samples are needed for the DI; got {n}.")
    exact = n <= max_exact
    if not exact:
        idx = np.sort(check_generator(random_state).choice(n, size=int(max_exact), replace=False))
        Z = Z[idx]
        n = Z.shape[0]
    total = 0.0
    for i in range(0, n, block):
        total += float(cdist(Z[i : i + block], Z).sum())
    return total / (n * (n - 1)), exact
