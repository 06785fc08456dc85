"""Plot layouts and residual fields for the block-size identifiability tests.

Plain generators (no pytest): each returns numpy arrays so that a 20-draw loop stays cheap.

* :func:`clustered` - clusters of plots on a 100 m grid, clusters kilometres apart (the
  layout of a field inventory with plot clusters);
* :func:`scattered` - plots uniform over a square;
* :func:`white_noise` - residuals without spatial structure;
* :func:`exponential_field` - a Gaussian random field with an exponential covariance of known
  effective range and nugget share, drawn exactly by Cholesky factorisation;
* :func:`jitter` - the same plots moved by about a micrometre;
* :func:`to_lonlat` - the same plots as longitude / latitude (WGS 84) and back through the
  local UTM zone.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

UTM_CRS = "EPSG:32633"  # UTM zone 33N: the projected CRS of the layouts


def clustered(
    n_clusters: int = 25,
    per_side: int = 4,
    spacing: float = 100.0,
    separation: float = 3_000.0,
    random_state=0,
) -> np.ndarray:
    """``n_clusters`` clusters of ``per_side**2`` plots on a ``spacing`` grid (metres).

    Cluster centres lie on a square grid ``separation`` metres apart, each moved by up to
    a quarter of ``separation``; defaults: 25 clusters of 16 plots = 400 plots, 100 m apart.
    """
    rng = np.random.default_rng(random_state)
    k = int(np.ceil(np.sqrt(n_clusters)))
    cx, cy = np.meshgrid(np.arange(k) * separation, np.arange(k) * separation)
    centres = np.c_[cx.ravel(), cy.ravel()][:n_clusters]
    centres = centres + rng.uniform(-separation / 4, separation / 4, centres.shape)
    gx, gy = np.meshgrid(np.arange(per_side) * spacing, np.arange(per_side) * spacing)
    offsets = np.c_[gx.ravel(), gy.ravel()]
    xy = (centres[:, None, :] + offsets[None, :, :]).reshape(-1, 2)
    return xy + [500_000.0, 5_000_000.0]


def scattered(n: int = 400, extent: float = 12_000.0, random_state=0) -> np.ndarray:
    """``n`` plots uniform over an ``extent`` x ``extent`` metre square."""
    rng = np.random.default_rng(random_state)
    return rng.uniform(0, extent, (n, 2)) + [500_000.0, 5_000_000.0]


def white_noise(n: int, random_state=0) -> np.ndarray:
    """``n`` independent standard normal residuals."""
    return np.random.default_rng(random_state).normal(size=n)


def exponential_field(
    xy: np.ndarray, effective_range: float, nugget_share: float = 0.0, random_state=0
) -> np.ndarray:
    """One draw of a unit-sill Gaussian field with an exponential covariance.

    ``C(h) = (1 - nugget_share) exp(-3 h / effective_range)`` plus ``nugget_share`` of
    independent noise: the effective range (95 % of the partial sill) is ``effective_range``.
    """
    rng = np.random.default_rng(random_state)
    c = (1.0 - nugget_share) * np.exp(-3.0 * cdist(xy, xy) / effective_range)
    chol = np.linalg.cholesky(c + 1e-9 * np.eye(len(xy)))
    return chol @ rng.normal(size=len(xy)) + np.sqrt(nugget_share) * rng.normal(size=len(xy))


def jitter(xy: np.ndarray, size: float = 1e-6, random_state=0) -> np.ndarray:
    """The plots moved by up to ``size`` metres in each coordinate."""
    return xy + np.random.default_rng(random_state).uniform(-size, size, xy.shape)


def to_lonlat(xy: np.ndarray) -> np.ndarray:
    """The projected plots (``UTM_CRS``) as longitude / latitude, degrees (WGS 84)."""
    from pyproj import Transformer

    t = Transformer.from_crs(UTM_CRS, "EPSG:4326", always_xy=True)
    return np.c_[t.transform(xy[:, 0], xy[:, 1])]
