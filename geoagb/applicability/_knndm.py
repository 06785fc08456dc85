"""k-fold nearest neighbour distance matching cross-validation (kNNDM CV).

Linnenbrink et al. (2024), as CAST's ``knndm``: find a k-fold split whose held-out-to-training
nearest-neighbour distances (``Gjstar``) match the prediction-to-sample distances (``Gij``):

1. ``Gj`` (sample-to-sample NND) and ``Gij`` are computed. When a one-sided Kolmogorov-Smirnov
   test finds no evidence that ``Gj`` is smaller than ``Gij`` (p >= 0.05: the prediction
   locations are no farther from the samples than the samples from each other), random k-fold
   CV already matches and is returned.
2. Otherwise, for q clusters (100 values log-spaced between k and n - 2), the coordinates are
   clustered (k-means or Ward hierarchical clustering); clusters are ordered along the first
   principal axis of the coordinates; clusters holding at least n / k samples become folds of
   their own and the others are dealt to the remaining folds in turn, so each fold gathers
   clusters spread across the area. Configurations with a fold larger than ``maxp`` of the
   samples are skipped.
3. The configuration with the smallest Wasserstein distance ``W(Gjstar, Gij)`` is returned.
"""

from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from scipy.stats import ks_2samp, wasserstein_distance
from sklearn.model_selection import BaseCrossValidator
from tqdm.auto import tqdm

from .._coords import get_coords, get_crs
from .._progress import progress_disabled
from .._random import check_generator
from ..model_selection import check_split, check_spread
from ._locations import prediction_locations
from ._nndm import nearest_neighbour_distances

__all__ = ["KNNDM", "KNNDMResult", "knndm_folds", "fold_nearest_distances", "merge_clusters"]

CLUSTERINGS = ("kmeans", "hierarchical")


def fold_nearest_distances(xy, folds, splits=None) -> np.ndarray:
    """NND from each sample to the training samples of the split that holds it out.

    With fold labels ``folds``: the samples of all other folds (CAST's ``distclust_proj``).
    With ``splits`` (``(train, test)`` pairs): each split's own training set; a sample held out
    in several splits contributes one distance per split, in split order.

    Examples
    --------
    >>> fold_nearest_distances([[0, 0], [1, 0], [5, 0], [6, 0]], [0, 0, 1, 1]).tolist()
    [5.0, 4.0, 4.0, 5.0]
    """
    xy = np.asarray(xy, dtype=float)
    if splits is None:
        folds = np.asarray(folds)
        out = np.full(len(folds), np.nan)
        for f in np.unique(folds):
            test = folds == f
            if (~test).any():
                out[test] = cKDTree(xy[~test]).query(xy[test], k=1)[0]
        return out
    parts = []
    for train, test in splits:
        train, test = np.asarray(train, dtype=np.int64), np.asarray(test, dtype=np.int64)
        if len(test) and len(train):
            parts.append(cKDTree(xy[train]).query(xy[test], k=1)[0])
    return np.concatenate(parts) if parts else np.empty(0)


def merge_clusters(xy, clusters, k: int, axis=None) -> np.ndarray | None:
    """Merge cluster labels into ``k`` folds as kNNDM does (None when impossible).

    Clusters are ordered by the projection of their centroid on ``axis`` (default: the first
    principal axis of ``xy``); clusters with at least ``n / k`` samples become folds on their
    own; the others are dealt to the remaining folds in turn.

    Examples
    --------
    >>> xy = np.array([[0, 0], [1, 0], [2, 0], [3, 0]], dtype=float)
    >>> merge_clusters(xy, [0, 1, 2, 3], k=2).tolist()
    [0, 1, 0, 1]
    """
    xy = np.asarray(xy, dtype=float)
    n = len(xy)
    labels, inv, sizes = np.unique(np.asarray(clusters), return_inverse=True, return_counts=True)
    if axis is None:
        c = xy - xy.mean(axis=0)
        axis = np.linalg.svd(c, full_matrices=False)[2][0]
    cent = np.zeros((labels.size, 2))
    np.add.at(cent, inv, xy)
    cent /= sizes[:, None]
    order = np.argsort((cent - xy.mean(axis=0)) @ axis, kind="stable")
    fold_of = np.full(labels.size, -1, dtype=np.int64)
    big = [c for c in order if sizes[c] >= n / k]
    if len(big) > k:
        return None
    fold_of[big] = np.arange(len(big))
    rest = [c for c in order if fold_of[c] < 0]
    free = np.arange(len(big), k)
    if rest:
        if free.size == 0:
            return None
        fold_of[rest] = free[np.arange(len(rest)) % free.size]
    return fold_of[inv]


@dataclass
class KNNDMResult:
    """Outcome of :func:`knndm_folds`.

    Attributes
    ----------
    folds : ndarray of int
        Fold (0..k-1) of each sample.
    Gij, Gj, Gjstar : ndarray
        NND prediction-to-sample, sample-to-sample, held-out-to-training under the folds (m).
    W : float
        Wasserstein distance between ``Gjstar`` and ``Gij`` (metres).
    n_clusters : int or None
        Number of clusters of the chosen configuration; None when random CV was returned.
    random_cv : bool
        True when the KS test found the samples no more clustered than the prediction
        locations, and random k-fold was returned.
    candidates : DataFrame
        ``n_clusters`` and ``W`` of every configuration tried (NaN: a fold exceeded maxp).
    """

    folds: np.ndarray
    Gij: np.ndarray
    Gj: np.ndarray
    Gjstar: np.ndarray
    W: float
    n_clusters: int | None
    random_cv: bool
    candidates: pd.DataFrame = field(default_factory=pd.DataFrame)


def _cluster(xy, nk, method, rng, tree_cache):
    if method == "kmeans":
        from sklearn.cluster import KMeans

        km = KMeans(n_clusters=int(nk), n_init=1, random_state=int(rng.integers(0, 2**31 - 1)))
        return km.fit_predict(xy)
    from scipy.cluster.hierarchy import fcluster, linkage

    if "Z" not in tree_cache:
        tree_cache["Z"] = linkage(xy, method="ward")
    return fcluster(tree_cache["Z"], t=int(nk), criterion="maxclust")


def knndm_folds(
    train_xy,
    pred_xy,
    n_splits: int = 10,
    max_fold_fraction: float = 0.5,
    clustering: str = "kmeans",
    n_candidates: int = 100,
    random_state=None,
    progress: bool | None = None,
) -> KNNDMResult:
    """KNNDM fold assignment (Linnenbrink et al. 2024): see the module docstring.

    Parameters
    ----------
    train_xy : (n, 2) array
        Training sample coordinates (metres).
    pred_xy : (m, 2) array
        Prediction location coordinates (metres).
    n_splits : int, default 10
        Number of folds k.
    max_fold_fraction : float, default 0.5
        Largest share of the samples one fold may hold (CAST's ``maxp``), in (1/k, 1).
    clustering : {"kmeans", "hierarchical"}, default "kmeans"
        k-means of the coordinates (re-run for each number of clusters) or Ward's hierarchical
        clustering (one tree cut at each number; O(n^2) memory).
    n_candidates : int, default 100
        Numbers of clusters tried, log-spaced from k to n - 2 (duplicates dropped).
    random_state : None, int, RandomState or Generator
        Seed of k-means and of the random-CV fallback.
    progress : bool or None, default None
        Progress bar over the candidates. ``None``: only when stderr is a terminal.

    Returns
    -------
    KNNDMResult

    References
    ----------
    Linnenbrink, J., Milà, C., Ludwig, M. & Meyer, H. (2024). kNNDM CV: k-fold
    nearest-neighbour distance matching cross-validation for map accuracy estimation.
    Geoscientific Model Development 17:5897-5912.

    Examples
    --------
    Samples in two tight groups, prediction locations spread far around them: kNNDM keeps
    each group in one fold, so held-out samples are far from training, as predictions are.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> t = np.vstack([rng.normal(0, 1, (20, 2)), rng.normal(100, 1, (20, 2))])
    >>> p = rng.uniform(-100, 200, (200, 2))
    >>> r = knndm_folds(t, p, n_splits=2, max_fold_fraction=0.6, random_state=0)
    >>> r.random_cv, sorted(np.bincount(r.folds).tolist()), bool(r.Gjstar.min() > 90)
    (False, [20, 20], True)
    """
    t = np.asarray(train_xy, dtype=np.float64)
    p = np.asarray(pred_xy, dtype=np.float64)
    n = t.shape[0]
    k = n_splits
    if not isinstance(k, numbers.Integral) or k < 2:
        raise ValueError(f"n_splits={k!r} must be an integer >= 2.")
    if n < k + 2:
        raise ValueError(
            f"kNNDM needs more samples than folds + 1; got {n} samples for n_splits={k}."
        )
    if not (1.0 / k < max_fold_fraction < 1.0):
        raise ValueError(
            f"max_fold_fraction={max_fold_fraction!r} must be strictly between 1/k = "
            f"{1.0 / k:.3g} and 1 (CAST's maxp; default 0.5)."
        )
    if clustering not in CLUSTERINGS:
        raise ValueError(f"clustering={clustering!r} must be one of {list(CLUSTERINGS)}.")
    check_spread(t, "KNNDM")
    rng = check_generator(random_state)
    gj, gij = nearest_neighbour_distances(t, p)
    with warnings.catch_warnings():  # ties: scipy falls back to the asymptotic p-value, as R does
        warnings.simplefilter("ignore", RuntimeWarning)
        pvalue = ks_2samp(gj, gij, alternative="greater").pvalue
    if pvalue >= 0.05:
        folds = rng.permutation(np.arange(n) % k)
        gstar = fold_nearest_distances(t, folds)
        return KNNDMResult(
            folds,
            gij,
            gj,
            gstar,
            float(wasserstein_distance(gstar, gij)),
            None,
            True,
            pd.DataFrame({"n_clusters": [], "W": []}),
        )
    grid = np.unique(
        np.round(np.exp(np.linspace(np.log(k), np.log(n - 2), int(n_candidates)))).astype(int)
    )
    axis = np.linalg.svd(t - t.mean(axis=0), full_matrices=False)[2][0]
    cache: dict = {}
    ws, best = [], (np.inf, None, None)
    for nk in tqdm(grid, desc="kNNDM", unit="q", disable=progress_disabled(progress), leave=False):
        folds = merge_clusters(t, _cluster(t, nk, clustering, rng, cache), k, axis)
        sizes = None if folds is None else np.bincount(folds, minlength=k)
        # an empty fold (fewer distinct clusters than asked, e.g. co-located samples) is no
        # k-fold split; a fold above max_fold_fraction is CAST's maxp rule
        if sizes is None or sizes.min() == 0 or sizes.max() / n > max_fold_fraction:
            ws.append(np.nan)
            continue
        gstar = fold_nearest_distances(t, folds)
        w = float(wasserstein_distance(gstar, gij))
        ws.append(w)
        if w < best[0]:
            best = (w, int(nk), (folds, gstar))
    cands = pd.DataFrame({"n_clusters": grid, "W": ws})
    if best[1] is None:
        raise ValueError(
            f"no clustering gave {k} non-empty folds within max_fold_fraction="
            f"{max_fold_fraction} (the samples sit at {len(np.unique(t, axis=0))} distinct "
            "locations); increase max_fold_fraction or decrease n_splits."
        )
    folds, gstar = best[2]
    return KNNDMResult(folds, gij, gj, gstar, best[0], best[1], False, cands)


class KNNDM(BaseCrossValidator):
    """k-fold nearest neighbour distance matching CV (Linnenbrink et al. 2024) as a splitter.

    The k folds are chosen so that the distances from held-out samples to their training data
    match the distances from the prediction locations to the samples (see
    :func:`knndm_folds`): random k-fold where predictions are interspersed with the samples,
    spatially clustered folds where predictions lie far from them. Usable as ``cv=`` anywhere in
    scikit-learn; folds may differ in size, so pool the out-of-fold predictions for the
    accuracy estimate (e.g. ``SpatialCVResult.oof_scores()``).

    Parameters
    ----------
    prediction_points : (m, 2) array, GeoDataFrame, polygon or raster path
        Where the model will predict (see :func:`prediction_locations`).
    n_splits : int, default 10
    max_fold_fraction : float, default 0.5
        Largest share of the samples in one fold (CAST's ``maxp``).
    clustering : {"kmeans", "hierarchical"}, default "kmeans"
    n_candidates : int, default 100
        Numbers of clusters tried.
    n_prediction : int, default 1000
        Locations sampled from a polygon or raster ``prediction_points``.
    sampling : {"regular", "random"}, default "regular"
    random_state : None, int, RandomState or Generator
    coords : pair of column names, (n, 2) array or None, default None (``("x", "y")``)
    progress : bool or None, default None

    References ``None``: only when stderr is a terminal.
    ----------
    Linnenbrink, J., Milà, C., Ludwig, M. & Meyer, H. (2024). kNNDM CV: k-fold
    nearest-neighbour distance matching cross-validation for map accuracy estimation.
    Geoscientific Model Development 17:5897-5912.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> plots = rng.uniform(0, 1000, (60, 2))
    >>> cv = KNNDM(prediction_points=rng.uniform(0, 1000, (300, 2)), n_splits=5, random_state=0)
    >>> sorted(len(te) for _, te in cv.split(plots)) == [12] * 5   # interspersed: random CV
    True
    """

    def __init__(
        self,
        prediction_points,
        n_splits=10,
        *,
        max_fold_fraction=0.5,
        clustering="kmeans",
        n_candidates=100,
        n_prediction=1000,
        sampling="regular",
        random_state=None,
        coords=None,
        progress=None,
    ):
        self.prediction_points = prediction_points
        self.n_splits = n_splits
        self.max_fold_fraction = max_fold_fraction
        self.clustering = clustering
        self.n_candidates = n_candidates
        self.n_prediction = n_prediction
        self.sampling = sampling
        self.random_state = random_state
        self.coords = coords
        self.progress = progress

    def get_n_splits(self, X=None, y=None, groups=None):
        return self.n_splits

    def match(self, X) -> KNNDMResult:
        """Run kNNDM on the samples of ``X``; the result holds the folds, NNDs and W."""
        xy = get_coords(X, self.coords, allow_array=True)
        pred = prediction_locations(
            self.prediction_points,
            n=self.n_prediction,
            sampling=self.sampling,
            random_state=self.random_state,
            crs=get_crs(X),
        )
        return knndm_folds(
            xy,
            pred,
            self.n_splits,
            self.max_fold_fraction,
            self.clustering,
            self.n_candidates,
            self.random_state,
            self.progress,
        )

    def fold_labels(self, X) -> np.ndarray:
        """Fold index (0..n_splits-1) of every sample."""
        return self.match(X).folds

    def split(self, X, y=None, groups=None):
        """Yield ``(train, test)`` index arrays, one pair per fold."""
        folds = self.fold_labels(X)
        idx = np.arange(len(folds))
        for f in range(self.n_splits):
            yield check_split(
                idx[folds != f],
                idx[folds == f],
                f,
                "KNNDM",
                "an empty fold",
                "decrease n_splits",
            )

    def _iter_test_indices(self, X=None, y=None, groups=None):
        for _, test in self.split(X, y, groups):
            yield test
