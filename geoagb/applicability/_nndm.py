"""Nearest neighbour distance matching leave-one-out cross-validation (NNDM LOO CV).

Milà et al. (2022): leave-one-out CV where, for each held-out sample, its nearest training
neighbours may be excluded from training, so that the distribution of nearest-neighbour
distances (NND) from each held-out sample to its training data (``Gjstar``) matches the
distribution of NND from the prediction locations to the training samples (``Gij``), up to the
autocorrelation range ``phi``. The algorithm is CAST's ``nndm``:

    rmin = smallest current NND, j = first sample with it
    while rmin <= phi:
        if (#{Gjstar <= rmin} - 1) / n >= Fij(rmin) and j keeps > min_train of the samples:
            drop from j's training the neighbours at distance rmin (j's NND grows);
            rmin = smallest NND >= rmin, j = first sample with it
        elif no NND exceeds rmin: stop
        else: rmin = smallest NND > rmin, j = first sample with it

``Fij`` is the ECDF of ``Gij``. Memory is O(n^2) (the sorted distance matrix), as in CAST; NNDM
is meant for hundreds to a few thousand samples (use :class:`KNNDM` beyond).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree
from scipy.spatial.distance import cdist
from scipy.stats import wasserstein_distance
from sklearn.model_selection import BaseCrossValidator

from .._coords import check_metric, get_coords, get_crs
from .._numba import njit
from ..model_selection import check_split, check_spread
from ._locations import prediction_locations

__all__ = ["NNDM", "NNDMResult", "nndm_exclusion", "nearest_neighbour_distances"]


def nearest_neighbour_distances(train_xy, pred_xy=None):
    """``(Gj, Gij)``: NND of each training sample to the others, and of each prediction location
    to the training samples (metres).

    Examples
    --------
    >>> gj, gij = nearest_neighbour_distances([[0, 0], [3, 0], [10, 0]], [[1, 0]])
    >>> gj.tolist(), gij.tolist()
    ([3.0, 3.0, 7.0], [1.0])
    """
    t = np.asarray(train_xy, dtype=float)
    tree = cKDTree(t)
    gj = tree.query(t, k=2)[0][:, 1]
    gij = None if pred_xy is None else tree.query(np.asarray(pred_xy, dtype=float), k=1)[0]
    return gj, gij


@njit(cache=True)
def _nndm_kernel(D, gij_sorted, phi, min_train):  # pragma: no cover - compiled
    n, m1 = D.shape
    m = gij_sorted.size
    ptr = np.zeros(n, dtype=np.int64)
    G = D[:, 0].copy()
    rmin = np.inf
    jmin = -1
    for j in range(n):
        if G[j] < rmin:
            rmin = G[j]
            jmin = j
    while rmin <= phi:
        cnt = 0
        for j in range(n):
            if G[j] <= rmin:
                cnt += 1
        fij = np.searchsorted(gij_sorted, rmin, side="right") / m
        if (cnt - 1) / n >= fij and (n - 1 - ptr[jmin]) / n > min_train:
            p = ptr[jmin]
            while p < m1 and D[jmin, p] == rmin:
                p += 1
            ptr[jmin] = p
            G[jmin] = D[jmin, p] if p < m1 else np.inf
            best = np.inf
            bj = -1
            for j in range(n):
                if G[j] >= rmin and G[j] < best:
                    best = G[j]
                    bj = j
        else:
            best = np.inf
            bj = -1
            for j in range(n):
                if G[j] > rmin and G[j] < best:
                    best = G[j]
                    bj = j
        if bj < 0:
            break
        rmin = best
        jmin = bj
    return ptr, G


@dataclass
class NNDMResult:
    """Outcome of :func:`nndm_exclusion`.

    Attributes
    ----------
    train : list of ndarray
        Training indices of each leave-one-out split (split ``i`` tests sample ``i``).
    exclude : list of ndarray
        Samples excluded from training in split ``i`` (besides ``i``).
    Gij, Gj, Gjstar : ndarray
        NND prediction-to-sample, sample-to-sample (LOO), and held-out-to-training under NNDM
        (metres).
    phi : float
        Distance up to which the distributions were matched (metres).
    """

    train: list
    exclude: list
    Gij: np.ndarray
    Gj: np.ndarray
    Gjstar: np.ndarray
    phi: float

    @property
    def wasserstein(self) -> float:
        """Wasserstein distance between the ECDFs of ``Gjstar`` and ``Gij`` (metres)."""
        return float(wasserstein_distance(self.Gjstar, self.Gij))


def nndm_exclusion(train_xy, pred_xy, phi="max", min_train: float = 0.5) -> NNDMResult:
    """Nearest neighbour distance matching for leave-one-out CV (Milà et al. 2022).

    Parameters
    ----------
    train_xy : (n, 2) array
        Training sample coordinates (metres).
    pred_xy : (m, 2) array
        Prediction location coordinates (metres).
    phi : "max" or float, default "max"
        Autocorrelation range (metres) up to which distances are matched; "max" is the diagonal
        of the bounding box of the prediction locations (CAST's default).
    min_train : float in [0, 1], default 0.5
        A held-out sample's training set may only lose neighbours while it holds more than this
        share of the samples (CAST's rule and default), so it ends at about this share or more.

    Returns
    -------
    NNDMResult

    Raises
    ------
    ValueError
        When all samples share one location, or when a sample would be left without training
        data (every other sample at one distance from it, all excluded together as ties).

    References
    ----------
    Milà, C., Mateu, J., Pebesma, E. & Meyer, H. (2022). Nearest neighbour distance matching
    Leave-One-Out Cross-Validation for map validation. Methods in Ecology and Evolution
    13:1304-1316.

    Examples
    --------
    Two pairs of close samples, predictions far from all of them: each sample loses its
    close partner from training.

    >>> t = [[0, 0], [1, 0], [100, 0], [101, 0]]
    >>> r = nndm_exclusion(t, [[50, 0], [50, 50], [150, 0], [-50, 0]])
    >>> [e.tolist() for e in r.exclude], r.Gjstar.tolist()
    ([[1], [0], [3], [2]], [100.0, 99.0, 99.0, 100.0])
    """
    t = np.asarray(train_xy, dtype=np.float64)
    p = np.asarray(pred_xy, dtype=np.float64)
    n = t.shape[0]
    if n < 3:
        raise ValueError(f"NNDM needs at least 3 training samples; got {n}.")
    check_spread(t, "NNDM")
    if not isinstance(min_train, numbers.Real) or not 0 <= min_train <= 1:
        raise ValueError(f"min_train={min_train!r} must be a share in [0, 1] (CAST's default 0.5).")
    if isinstance(phi, str):
        if phi != "max":
            raise ValueError(f"phi={phi!r} must be 'max' or a distance in metres.")
        phi = float(np.hypot(*np.ptp(p, axis=0)))
    elif not isinstance(phi, numbers.Real) or not phi >= 0:
        raise ValueError(f"phi={phi!r} must be 'max' or a distance in metres >= 0.")
    gij = np.sort(cKDTree(t).query(p, k=1)[0])
    dist = cdist(t, t)
    np.fill_diagonal(dist, np.inf)
    order = np.argsort(dist, axis=1, kind="stable")[:, : n - 1]
    D = np.take_along_axis(dist, order, axis=1)
    del dist
    ptr, gstar = _nndm_kernel(D, gij, float(phi), float(min_train))
    gj = D[:, 0].copy()
    exclude, train = [], []
    every = np.arange(n)
    for i in range(n):
        ex = np.sort(order[i, : ptr[i]])
        keep = np.ones(n, dtype=bool)
        keep[ex] = False
        keep[i] = False
        exclude.append(ex)
        train.append(every[keep])
        if not keep.any():  # all others at one distance (co-located data are refused above)
            check_split(
                train[-1],
                np.array([i]),
                i,
                "NNDM",
                f"every other sample is {D[i, 0]:g} m from sample {i}, so excluding its nearest "
                "neighbours (ties together, as CAST does) excluded them all",
                f"set phi below {D[i, 0]:g} m, or use KNNDM or SpatialBlockKFold",
            )
    return NNDMResult(train=train, exclude=exclude, Gij=gij, Gj=gj, Gjstar=gstar, phi=float(phi))


class NNDM(BaseCrossValidator):
    """Nearest neighbour distance matching leave-one-out CV (Milà et al. 2022) as a splitter.

    Leave-one-out in which the training set of each held-out sample leaves out its nearest
    neighbours as far as needed for the held-out-to-training nearest-neighbour distances to
    match those from the prediction locations to the training samples (see
    :func:`nndm_exclusion`). One split per sample; usable as ``cv=`` anywhere in scikit-learn.

    Parameters
    ----------
    prediction_points : (m, 2) array, GeoDataFrame, polygon or raster path
        Where the model will predict (see :func:`prediction_locations`), e.g. the cell centres of
        the map or the study-area polygon.
    phi : "max" or float, default "max"
        Matching range in metres (e.g. the residual variogram range); "max": the whole area.
    min_train : float, default 0.5
        Training sets only lose neighbours while they hold more than this share of the samples.
    n_prediction : int, default 1000
        Locations sampled from a polygon or raster ``prediction_points``.
    sampling : {"regular", "random"}, default "regular"
    random_state : None, int, RandomState or Generator
        Seed of ``sampling="random"``.
    coords : pair of column names, (n, 2) array or None, default None (``("x", "y")``)
        Where the coordinates of ``X`` are (see :func:`geoagb._coords.get_coords`).

    References
    ----------
    Milà, C., Mateu, J., Pebesma, E. & Meyer, H. (2022). Nearest neighbour distance matching
    Leave-One-Out Cross-Validation for map validation. Methods in Ecology and Evolution
    13:1304-1316.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([[0, 0], [1, 0], [100, 0], [101, 0]], dtype=float)
    >>> cv = NNDM(prediction_points=[[50, 0], [50, 50], [150, 0], [-50, 0]])
    >>> [(tr.tolist(), te.tolist()) for tr, te in cv.split(t)][:2]
    [([2, 3], [0]), ([2, 3], [1])]
    """

    def __init__(
        self,
        prediction_points,
        phi="max",
        min_train=0.5,
        n_prediction=1000,
        sampling="regular",
        random_state=None,
        coords=None,
    ):
        self.prediction_points = prediction_points
        self.phi = phi
        self.min_train = min_train
        self.n_prediction = n_prediction
        self.sampling = sampling
        self.random_state = random_state
        self.coords = coords

    def get_n_splits(self, X=None, y=None, groups=None):
        if X is None:
            raise ValueError("NNDM needs X to count its splits (one per sample).")
        return len(X)

    def _xy(self, X):
        xy = get_coords(X, self.coords, allow_array=True)
        if not isinstance(self.phi, str):
            check_metric(xy, float(self.phi), "phi", crs=get_crs(X))
        pred = prediction_locations(
            self.prediction_points,
            n=self.n_prediction,
            sampling=self.sampling,
            random_state=self.random_state,
            crs=get_crs(X),
        )
        return xy, pred

    def match(self, X) -> NNDMResult:
        """Run the matching on the samples of ``X``; the result holds the splits and NNDs."""
        xy, pred = self._xy(X)
        return nndm_exclusion(xy, pred, self.phi, self.min_train)

    def split(self, X, y=None, groups=None):
        """Yield ``(train, test)`` index arrays, one pair per sample."""
        res = self.match(X)
        for i, train in enumerate(res.train):
            yield train, np.array([i])

    def _iter_test_indices(self, X=None, y=None, groups=None):
        for _, test in self.split(X, y, groups):
            yield test
