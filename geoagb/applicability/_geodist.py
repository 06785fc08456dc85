"""Geographic nearest-neighbour distance diagnostics of a cross-validation (CAST's ``geodist``).

Three distributions of nearest-neighbour distances (NND, metres) tell whether a CV estimates the
error of a map (Meyer & Pebesma 2022; Milà et al. 2022):

* sample-to-sample: each sample to its nearest other sample (what random LOO CV sees);
* prediction-to-sample: each prediction location to its nearest sample (what the map sees);
* CV: each held-out sample to the nearest sample of its training set, for any splitter.

A CV whose distribution matches the prediction-to-sample one, i.e. whose Wasserstein
distance ``W`` to it is small, reproduces the prediction situation; a random k-fold on clustered
plots has CV distances much shorter than the map's, and is optimistic.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import wasserstein_distance

from .._coords import get_coords, get_crs
from ._knndm import fold_nearest_distances
from ._locations import prediction_locations
from ._neighbors import as_splits
from ._nndm import nearest_neighbour_distances
from ._stats import ecdf

__all__ = ["geodist", "GeoDistances"]


@dataclass
class GeoDistances:
    """Nearest-neighbour distance distributions (metres) and their Wasserstein distances.

    Attributes
    ----------
    sample_to_sample : ndarray
    prediction_to_sample : ndarray
    cv : dict of str -> ndarray
        Held-out-to-training NND of each cross-validation given.
    """

    sample_to_sample: np.ndarray
    prediction_to_sample: np.ndarray
    cv: dict = field(default_factory=dict)

    @property
    def W_sample(self) -> float:
        """Wasserstein distance sample-to-sample vs prediction-to-sample (metres)."""
        return float(wasserstein_distance(self.sample_to_sample, self.prediction_to_sample))

    @property
    def W_cv(self) -> dict:
        """Wasserstein distance of each CV's distribution to prediction-to-sample (metres)."""
        return {
            k: float(wasserstein_distance(v, self.prediction_to_sample)) for k, v in self.cv.items()
        }

    def summary(self) -> pd.DataFrame:
        """One row per distribution: n, median, mean (metres) and W to prediction-to-sample."""
        rows = {
            "sample-to-sample": self.sample_to_sample,
            "prediction-to-sample": self.prediction_to_sample,
        }
        rows.update({f"CV: {k}": v for k, v in self.cv.items()})
        return pd.DataFrame(
            {
                "n": [len(v) for v in rows.values()],
                "median_m": [float(np.median(v)) for v in rows.values()],
                "mean_m": [float(np.mean(v)) for v in rows.values()],
                "W_to_prediction_m": [
                    float(wasserstein_distance(v, self.prediction_to_sample)) for v in rows.values()
                ],
            },
            index=pd.Index(list(rows), name="distances"),
        )

    def plot(self, ax=None, log: bool = False, title: str | None = None):
        """ECDFs of the distributions in one figure; returns the Figure."""
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(6.4, 4.2))
        else:
            fig = ax.figure
        curves = [
            ("sample-to-sample", self.sample_to_sample, dict(color="0.4", ls="--")),
            ("prediction-to-sample", self.prediction_to_sample, dict(color="k", lw=2.2)),
        ]
        W = self.W_cv
        curves += [(f"CV: {k} (W = {W[k]:,.0f} m)", v, {}) for k, v in self.cv.items()]
        for label, v, kw in curves:
            x, p = ecdf(v)
            ax.step(np.r_[x[:1], x], np.r_[0.0, p], where="post", label=label, **kw)
        if log:
            ax.set_xscale("log")
        ax.set_xlabel("nearest-neighbour distance (m)")
        ax.set_ylabel("ECDF")
        ax.set_ylim(0, 1.02)
        ax.set_title(title or f"Geographic distances (W sample-to-sample = {self.W_sample:,.0f} m)")
        ax.legend(fontsize=8, loc="lower right")
        fig.tight_layout()
        return fig


def _cv_distances(xy, cv, X, y):
    n = len(xy)
    if hasattr(cv, "split"):
        splits = list(cv.split(X, y))
    else:
        splits = as_splits(cv, n)
    return fold_nearest_distances(xy, None, splits=splits)


def geodist(
    X,
    prediction_points,
    cv=None,
    *,
    y=None,
    coords=None,
    n_prediction: int = 1000,
    sampling: str = "regular",
    random_state=None,
) -> GeoDistances:
    """Geographic nearest-neighbour distance distributions of samples, predictions and CV folds.

    Parameters
    ----------
    X : GeoDataFrame, DataFrame, object with ``.coords``, or (n, 2) array
        The samples; coordinates travel with ``X`` (see :func:`geoagb._coords.get_coords`).
    prediction_points : (m, 2) array, GeoDataFrame, polygon or raster path
        Where the model will predict (see :func:`prediction_locations`).
    cv : splitter, fold labels, iterable of (train, test), or dict name -> any of these
        Cross-validation(s) to diagnose, e.g. ``{"random": KFold(10, shuffle=True),
        "block": SpatialBlockKFold(...), "kNNDM": KNNDM(...)}``. Splitters are called as
        ``cv.split(X, y)``; buffered training sets count as they are.
    y : array, optional
        Passed to ``cv.split``.
    coords : pair of str or None, default None (``("x", "y")``)
    n_prediction, sampling, random_state
        Sampling of a polygon or raster ``prediction_points``.

    Returns
    -------
    GeoDistances
        ``.W_cv`` (Wasserstein distance of each CV to the prediction distribution), ``.summary()``
        and ``.plot()``.

    References
    ----------
    Meyer, H. & Pebesma, E. (2022). Machine learning-based global maps of ecological variables
    and the challenge of assessing them. Nature Communications 13:2208.
    Milà, C., Mateu, J., Pebesma, E. & Meyer, H. (2022). Nearest neighbour distance matching
    Leave-One-Out Cross-Validation for map validation. Methods in Ecology and Evolution.

    Examples
    --------
    >>> import numpy as np
    >>> xy = np.array([[0.0, 0.0], [10.0, 0.0], [20.0, 0.0], [30.0, 0.0]])
    >>> g = geodist(xy, [[5.0, 0.0]], cv={"halves": [0, 0, 1, 1]})
    >>> g.sample_to_sample.tolist(), g.cv["halves"].tolist(), g.W_cv["halves"]
    ([10.0, 10.0, 10.0, 10.0], [20.0, 10.0, 10.0, 20.0], 10.0)
    """
    xy = get_coords(X, coords, allow_array=True)
    pred = prediction_locations(
        prediction_points,
        n=n_prediction,
        sampling=sampling,
        random_state=random_state,
        crs=get_crs(X),
        coords=coords,
    )
    gj, gij = nearest_neighbour_distances(xy, pred)
    cvs = {}
    if cv is not None:
        items = (
            cv.items()
            if isinstance(cv, dict)
            else [(type(cv).__name__ if hasattr(cv, "split") else "CV", cv)]
        )
        for name, c in items:
            cvs[str(name)] = _cv_distances(xy, c, X, y)
    return GeoDistances(gj, gij, cvs)
