"""make_plots: the embedded synthetic plot table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._random import seed_int
from ._landscape import DEFAULT_CRS, Landscape

__all__ = ["make_plots", "PLOT_FEATURES"]

#: The feature columns of :func:`make_plots` (coordinates excluded).
PLOT_FEATURES = [
    "blue",
    "green",
    "red",
    "nir",
    "swir1",
    "swir2",
    "ndvi",
    "evi",
    "savi",
    "ndmi",
    "nbr",
    "elevation",
    "slope",
    "eastness",
    "northness",
    "height_mean",
    "height_p95",
    "height_sd",
    "crown_cover",
]


def _cluster_layout(n_plots, extent, grid_spacing, cluster_radius, rng):
    """Clustered plots on an inventory-like grid: cluster centres on a regular grid (jittered
    by 10 % of the spacing), then plots spread uniformly within ``cluster_radius`` of a centre.
    """
    g = np.arange(grid_spacing / 2, extent, grid_spacing)
    cx, cy = np.meshgrid(g, g)
    centres = np.column_stack([cx.ravel(), cy.ravel()])
    centres += rng.uniform(-0.1, 0.1, centres.shape) * grid_spacing
    pick = rng.integers(0, len(centres), n_plots)
    r = cluster_radius * np.sqrt(rng.uniform(0, 1, n_plots))
    t = rng.uniform(0, 2 * np.pi, n_plots)
    xy = centres[pick] + np.column_stack([r * np.cos(t), r * np.sin(t)])
    return np.clip(xy, 0, extent)


def make_plots(
    n_plots: int = 600,
    *,
    extent_m: float = 60_000.0,
    residual_range: float = 30_000.0,
    residual_sd: float = 25.0,
    noise_sd: float = 12.0,
    inconsistent_fraction: float = 0.02,
    grid_spacing: float = 4_000.0,
    cluster_radius: float = 600.0,
    random_state=None,
    return_truth: bool = False,
):
    """Synthetic forest inventory plots over karst terrain in Southwest China.

    The plots sample a :class:`~geoagb.datasets._landscape.Landscape` (see its docstring for
    every generating equation) in UTM zone 48N (EPSG:32648):

    * layout: clusters on an inventory grid of ``grid_spacing`` metres, plots within
      ``cluster_radius`` metres of each jittered grid node;
    * structure: canopy height H (m) and crown cover CC drive AGB through a power law,
      ``A_s = 3.2 H^1.35 (0.35 + 0.65 CC)``;
    * a planted interaction: ``A_0 = A_s exp(0.25 e V)`` with standardised elevation ``e`` and a
      vigour field ``V`` that only the spectra see;
    * spectra: NDVI saturates above about 150 Mg/ha; band reflectances are scaled by terrain
      illumination (slope, aspect), so bands carry terrain and band ratios do not;
    * AGB = A_0 + R(x, y) + eps, where R is a spatially autocorrelated residual
      (exponential covariance, range ``residual_range`` m, sd ``residual_sd`` Mg/ha) and
      eps ~ N(0, ``noise_sd``^2); clipped at 1 Mg/ha;
    * a fraction ``inconsistent_fraction`` of plots is temporally inconsistent: their field AGB
      was measured in another epoch and is multiplied by 0.25-0.45 (disturbance) or 1.8-2.5.

    Parameters
    ----------
    n_plots : int, default 600
    extent_m : float, default 60 000
        Side of the square study area, metres.
    residual_range, residual_sd, noise_sd : float
        Spatial residual range (m) and sd (Mg/ha); plot measurement noise sd (Mg/ha).
    inconsistent_fraction : float, default 0.02
    grid_spacing, cluster_radius : float
        Inventory grid spacing and cluster radius, metres.
    random_state : int, RandomState, Generator or None, default None
    return_truth : bool, default False
        Also return a DataFrame with ``agb_noise_free`` (A_0), ``residual`` (R), ``noise``,
        ``vigour`` and the ``inconsistent`` flag, aligned with the plots.

    Returns
    -------
    plots : geopandas.GeoDataFrame
        Point geometry and columns ``x``, ``y`` (metres), :data:`PLOT_FEATURES` and ``agb``
        (Mg/ha). CRS EPSG:32648.
    truth : pandas.DataFrame
        Only with ``return_truth=True``.

    Examples
    --------
    >>> plots = make_plots(200, random_state=1)
    >>> plots.crs.to_epsg(), plots.shape[0], bool((plots["agb"] > 0).all())
    (32648, 200, True)
    """
    import geopandas as gpd

    if n_plots < 1:
        raise ValueError(f"n_plots={n_plots} must be >= 1.")
    seed_land, seed_plots = np.random.SeedSequence(seed_int(random_state)).spawn(2)
    land = Landscape(
        extent_m, residual_range, residual_sd, random_state=int(seed_land.generate_state(1)[0])
    )
    rng = np.random.default_rng(seed_plots)
    local = _cluster_layout(n_plots, extent_m, grid_spacing, cluster_radius, rng)
    x = land.origin[0] + local[:, 0]
    y = land.origin[1] + local[:, 1]

    elev = land.elevation(x, y)
    slope, aspect, eastness, northness = land.terrain(x, y)
    height = land.canopy_height(x, y, elev) * rng.lognormal(0, 0.05, n_plots)
    cover = np.clip(land.crown_cover(x, y) + rng.normal(0, 0.03, n_plots), 0.02, 1.0)
    vig = land.vigour(x, y)
    agb0 = land.agb_from_structure(land.structural_agb(height, cover), elev, vig)
    resid = land.residual(x, y)
    noise = rng.normal(0, noise_sd, n_plots)
    agb = np.maximum(agb0 + resid + noise, 1.0)

    ndvi = np.clip(land.ndvi(agb0, elev, vig) + rng.normal(0, 0.015, n_plots), 0.02, 0.95)
    bands = land.reflectance(ndvi, agb0, slope, aspect, rng)
    b, g, r, n, s1, s2 = (bands[k] for k in ("blue", "green", "red", "nir", "swir1", "swir2"))
    ndvi_obs = (n - r) / (n + r)
    evi = 2.5 * (n - r) / (n + 6 * r - 7.5 * b + 1)
    savi = 1.5 * (n - r) / (n + r + 0.5)
    ndmi = (n - s1) / (n + s1)
    nbr = (n - s2) / (n + s2)
    hp95 = height * (1.25 + rng.normal(0, 0.03, n_plots))
    hsd = height * (0.22 + 0.1 * (1 - cover)) * rng.lognormal(0, 0.1, n_plots)

    inconsistent = rng.uniform(size=n_plots) < inconsistent_fraction
    k = int(inconsistent.sum())
    factor = np.where(
        rng.uniform(size=k) < 0.5, rng.uniform(0.25, 0.45, k), rng.uniform(1.8, 2.5, k)
    )
    agb[inconsistent] = agb[inconsistent] * factor

    df = pd.DataFrame(
        {
            "x": x,
            "y": y,
            "blue": b,
            "green": g,
            "red": r,
            "nir": n,
            "swir1": s1,
            "swir2": s2,
            "ndvi": ndvi_obs,
            "evi": evi,
            "savi": savi,
            "ndmi": ndmi,
            "nbr": nbr,
            "elevation": elev,
            "slope": slope,
            "eastness": eastness,
            "northness": northness,
            "height_mean": height,
            "height_p95": hp95,
            "height_sd": hsd,
            "crown_cover": cover,
            "agb": agb,
        }
    )
    plots = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(x, y), crs=DEFAULT_CRS)
    if not return_truth:
        return plots
    truth = pd.DataFrame(
        {
            "agb_noise_free": agb0,
            "residual": resid,
            "noise": noise,
            "vigour": vig,
            "inconsistent": inconsistent,
        },
        index=plots.index,
    )
    return plots, truth
