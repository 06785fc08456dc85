"""Nearest-neighbour distances with a KD-tree: to all training samples, or, for a held-out
sample, to the training samples of its own cross-validation split only.
"""

from __future__ import annotations

import numbers

import numpy as np
from tqdm.auto import tqdm

from .._progress import progress_disabled

__all__ = ["as_splits", "nearest_distance", "cv_nearest_distance", "count_within", "workers"]


def workers(n_jobs) -> int:
    """``n_jobs`` (None = 1, -1 = all cores) as scipy's ``workers``."""
    if n_jobs is None:
        return 1
    if not isinstance(n_jobs, numbers.Integral) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(
            f"n_jobs={n_jobs!r} must be None, a positive number of threads or -1 (all cores)."
        )
    return int(n_jobs)


def as_splits(folds, n: int) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """Normalise ``folds`` to a list of ``(train, test)`` index arrays.

    ``folds`` is None, a length-``n`` vector of fold labels (each sample is tested in the fold
    of its label and trained on by all others), or an iterable of ``(train, test)`` pairs such
    as ``list(cv.split(X, y))`` (train sets may then leave samples out, e.g. buffers).
    """
    if folds is None:
        return None
    if _is_label_vector(folds):
        lab = np.asarray(folds)
        if lab.shape[0] != n:
            raise ValueError(
                f"folds has {lab.shape[0]} labels for {n} training samples; give one "
                "fold label per training sample."
            )
        uniq, inv = np.unique(lab, return_inverse=True)
        if uniq.size < 2:
            raise ValueError(f"folds has a single label ({uniq[0]!r}); give at least two folds.")
        all_idx = np.arange(n)
        return [(all_idx[inv != k], all_idx[inv == k]) for k in range(uniq.size)]
    splits = []
    for pair in folds:
        try:
            train, test = pair
        except (TypeError, ValueError):
            raise ValueError(
                "folds must be a vector of fold labels (one per training sample) or an iterable of "
                "(train_indices, test_indices) pairs such as list(cv.split(X, y)); got an element "
                f"of type {type(pair).__name__}."
            ) from None
        splits.append((np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64)))
    if not splits:
        raise ValueError("folds is empty: give at least one (train, test) split.")
    return splits


def _is_label_vector(folds) -> bool:
    if isinstance(folds, np.ndarray) or hasattr(folds, "to_numpy"):
        return np.ndim(folds) == 1 and np.asarray(folds).dtype != object
    if isinstance(folds, (list, tuple)) and len(folds):
        return all(np.isscalar(v) for v in folds)
    return False


def nearest_distance(
    tree,
    Z: np.ndarray,
    n_jobs=None,
    chunk_size: int = 200_000,
    progress: bool = False,
    desc: str = "DI",
) -> np.ndarray:
    """Distance from each row of ``Z`` to its nearest sample in ``tree`` (rows with NaN: NaN)."""
    n = Z.shape[0]
    out = np.full(n, np.nan)
    w = workers(n_jobs)
    starts = range(0, n, chunk_size)
    for s in tqdm(
        starts,
        desc=desc,
        unit="chunk",
        disable=progress_disabled(progress) or n <= chunk_size,
        leave=False,
    ):
        z = Z[s : s + chunk_size]
        ok = np.all(np.isfinite(z), axis=1)
        if ok.all():
            out[s : s + chunk_size] = tree.query(z, k=1, workers=w)[0]
        elif ok.any():
            out[s : s + chunk_size][ok] = tree.query(z[ok], k=1, workers=w)[0]
    return out


def _first_allowed(
    tree, Zq: np.ndarray, allowed: np.ndarray, n_jobs=None, k0: int = 8
) -> np.ndarray:
    """Distance from each row of ``Zq`` to its nearest tree sample with ``allowed[index]`` True
    (the tree holds all training samples; the k nearest are searched, k growing until found).
    """
    n = tree.n
    out = np.full(Zq.shape[0], np.inf)
    todo = np.arange(Zq.shape[0])
    k = min(k0, n)
    w = workers(n_jobs)
    while todo.size:
        d, i = tree.query(Zq[todo], k=k, workers=w)
        d, i = d.reshape(todo.size, k), i.reshape(todo.size, k)
        ok = np.zeros(i.shape, dtype=bool)
        valid = i < n
        ok[valid] = allowed[i[valid]]
        found = ok.any(axis=1)
        first = np.argmax(ok, axis=1)
        out[todo[found]] = d[found, first[found]]
        todo = todo[~found]
        if k >= n:
            break
        k = min(4 * k, n)
    return out


def cv_nearest_distance(tree, Z: np.ndarray, splits, n_jobs=None) -> np.ndarray:
    """For every training sample, the distance to its nearest *other* training sample; with
    ``splits``, to its nearest sample among the training indices of the split that tests it.

    Samples never tested get NaN; a sample tested in more than one split is an error (as in
    CAST): give one split per held-out set.
    """
    n = Z.shape[0]
    if splits is None:
        if n < 2:
            raise ValueError("at least two training samples are needed for the DI.")
        d, _ = tree.query(Z, k=2, workers=workers(n_jobs))
        return d[:, 1].copy()  # the first neighbour is the sample itself (or a duplicate at 0)
    out = np.full(n, np.nan)
    seen = np.zeros(n, dtype=bool)
    for s, (train, test) in enumerate(splits):
        if test.size == 0:
            continue
        if np.any(seen[test]) or np.unique(test).size != test.size:
            again = test[seen[test]][:5].tolist() or test[:5].tolist()
            raise ValueError(
                f"training sample(s) {again} are held out in more than one split (repeated CV?); "
                "the CV-aware DI needs each sample held out at most once: pass the splits of a "
                "single repetition."
            )
        seen[test] = True
        allowed = np.zeros(n, dtype=bool)
        allowed[train] = True
        allowed[test] = False
        if not allowed.any():
            raise ValueError(f"split {s} has no training sample; every split needs training data.")
        out[test] = _first_allowed(tree, Z[test], allowed, n_jobs)
    return out


def count_within(
    tree, Z: np.ndarray, radius: float, n_jobs=None, chunk_size: int = 100_000
) -> np.ndarray:
    """Number of tree samples strictly closer than ``radius`` to each row of ``Z`` (NaN rows: -1)."""
    n = Z.shape[0]
    out = np.full(n, -1, dtype=np.int64)
    r = np.nextafter(radius, 0.0)  # strict "<", as CAST's LPD
    for s in range(0, n, chunk_size):
        z = Z[s : s + chunk_size]
        ok = np.all(np.isfinite(z), axis=1)
        if ok.any():
            out[s : s + chunk_size][ok] = tree.query_ball_point(
                z[ok], r, workers=workers(n_jobs), return_length=True
            )
    return out
