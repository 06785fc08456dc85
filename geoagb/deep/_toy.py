"""Tiny synthetic plot patches with a known AGB, for tests, docstrings and benchmarks (no torch).

Each patch is a square plot seen at 1 m: tree crowns are discs with a dome-shaped canopy height;
AGB (Mg/ha) is the plot mean of a per-pixel allometry ``3.2 * h^1.35`` (the structural allometry
of :class:`geoagb.datasets.Landscape`) plus noise, so it depends on *where and how tall* the
crowns are, which a single pixel or the patch-mean spectra see only in part.
"""

from __future__ import annotations

import numpy as np

from ._patchset import PatchSet

__all__ = ["toy_patches", "TOY_BANDS"]

TOY_BANDS = ["blue", "green", "red", "nir", "crown", "height"]


def toy_patches(
    n: int = 200, size: int = 26, noise_sd: float = 5.0, random_state=0, extent_m: float = 2_000.0
):
    """Draw ``n`` synthetic plot patches and their AGB.

    Parameters
    ----------
    n : int
        Number of plots.
    size : int
        Patch side in pixels (1 m pixels; 26 px is a 0.0667 ha plot).
    noise_sd : float
        Standard deviation of the plot-measurement noise, Mg/ha.
    random_state : int
        Seed.
    extent_m : float
        Side of the square area over which plot centres are scattered, metres (EPSG:32648).

    Returns
    -------
    X : PatchSet
        Bands ``blue, green, red, nir`` (reflectance), ``crown`` (0/1) and ``height`` (metres).
    y : ndarray of shape (n,)
        AGB, Mg/ha.

    Examples
    --------
    >>> X, y = toy_patches(5, size=8)
    >>> X.shape, y.shape
    ((5, 6, 8, 8), (5,))
    """
    rng = np.random.default_rng(random_state)
    yy, xx = np.mgrid[0:size, 0:size] + 0.5
    data = np.zeros((n, len(TOY_BANDS), size, size), np.float32)
    agb = np.zeros(n)
    for i in range(n):
        cover = rng.beta(1.5, 1.5)
        stand_h = rng.uniform(5.0, 32.0)  # stand height, m
        height = np.zeros((size, size))
        r_mean = max(1.2, size * rng.uniform(0.06, 0.14))
        n_crowns = int(rng.poisson(cover * size * size / (np.pi * r_mean**2) * 1.3))
        for _ in range(n_crowns):
            cx, cy = rng.uniform(0, size, 2)
            r = r_mean * rng.uniform(0.7, 1.3)
            h = np.clip(stand_h * rng.lognormal(0.0, 0.25), 2.0, 45.0)
            d2 = ((xx - cx) ** 2 + (yy - cy) ** 2) / r**2
            dome = np.where(d2 < 1.0, h * np.clip(1.0 - d2, 0.0, 1.0) ** 0.25, 0.0)
            height = np.maximum(height, dome)
        crown = (height > 0.5).astype(float)
        height = height * crown
        bright = rng.uniform(0.6, 1.4)  # soil / rock brightness of the gaps
        shade = 1.0 - 0.012 * height  # taller canopy: more self-shadowing in the visible
        nir = np.where(crown > 0, 0.30 + 0.004 * height, 0.20 * bright)
        red = np.where(crown > 0, 0.045 * shade, 0.16 * bright)
        green = np.where(crown > 0, 0.08 * shade, 0.14 * bright)
        blue = np.where(crown > 0, 0.035 * shade, 0.11 * bright)
        spectra = np.stack([blue, green, red, nir]) + rng.normal(0.0, 0.01, (4, size, size))
        data[i, :4] = spectra
        data[i, 4] = crown
        data[i, 5] = height
        agb[i] = np.mean(3.2 * height**1.35)
    agb = np.clip(agb + rng.normal(0.0, noise_sd, n), 1.0, None)
    coords = np.column_stack(
        [500_000.0 + rng.uniform(0, extent_m, n), 2_750_000.0 + rng.uniform(0, extent_m, n)]
    )
    X = PatchSet(data, bands=TOY_BANDS, coords=coords, crs="EPSG:32648", resolution=1.0)
    return X, agb
