"""Stand structure of ``make_scene(structure="crowns")``: biomass that lives inside the plot.

``make_scene``'s default trees (``structure="mean"``) are one layer whose heights scatter around
the canopy height field H; a plot's mean canopy height, crown cover and spectra then say almost
everything about its AGB. A fragmented karst forest is not like that: old stands hold a few
emergent trees above a low canopy, young regrowth many thin stems, and a 26 m plot catches a
handful of big trees whose crowns the plot edge cuts. The ``"crowns"`` structure builds such a
forest from the same landscape fields (E, H, CC, V, z_R), so that plots with the same mean
canopy height and crown cover hold different biomass:

* stands: a Voronoi tessellation of Poisson stand centres (mean stand area ``40 m x 40 m``); each
  stand draws an emergent share ``s`` (0 with probability 0.4, else uniform on 0.2-0.5), a
  crown scale ``c ~ LogNormal(0, 0.4)`` (coarse- or fine-crowned) and a height spread
  ``sd ~ Uniform(0.05, 0.45)`` (even-aged or mixed sizes), independent of the fields and of
  the neighbouring stands, so neither the coordinates nor the neighbouring plots reveal them;
* two layers of stems, each an inhomogeneous Poisson process on 5 m cells (none on rock, water
  or road): emergents of height ``1.8 H LogNormal(0, 0.1)`` with crowns ``1.3 c r(h)`` covering
  ``c_e = 0.85 CC s`` of the ground, and a main canopy of height
  ``k H exp(sd z - sd^2 / 2)``, ``z ~ N(0, 1)``, ``k = (1 - 1.8 s) / (1 - s)``, with crowns
  ``c r(h)`` covering ``c_m = 1 - (1 - 0.85 CC) / (1 - c_e)`` (so that the union of both layers
  covers 0.85 CC and the area-weighted visible height stays about H, whatever ``s`` and
  ``sd``): the same mean height and cover, but the biomass ``sum a D^b`` (``b`` about 2)
  grows with the emergent share and the height spread; intensities
  ``lambda = -ln(1 - cover) / (pi rbar^2)`` with ``rbar`` the layer's mean crown radius, so
  wide-crowned stands have fewer stems; heights are clipped to 2-45 m;
* DBH grows with crown size at a given height, the predictor of Jucker et al. (2017):
  ``D = 1.25 h^1.05 (r / r(h))^0.8 LogNormal(0, 0.12)`` cm, with ``r(h) = 0.5 + 0.15 h`` the
  mean crown radius (the exponent 0.8 is this generator's choice); biomass per tree
  ``0.0673 (rho D^2 h)^0.976`` kg (Chave et al. 2014, eq. 4) with ``make_scene``'s wood density;
* crowns of the two layers are rasterised separately and the higher surface wins, so emergent
  crowns hide the canopy trees below them (their biomass counts, their crowns do not show);
* understorey off the crowns reflects like canopy (NIR 0.27, NDVI 0.66 instead of 0.22 and
  0.45), so the spectra alone do not reveal crown cover; terrain shading, cast shadows and the
  plot edge (a stem counts only inside the square, its crown shows wherever it reaches) are
  those of ``make_scene``.

References
----------
Chave, J. et al. (2014). Improved allometric models to estimate the aboveground biomass of
tropical trees. Global Change Biology 20, 3177-3190.

Jucker, T. et al. (2017). Allometric equations for integrating remote sensing imagery into
forest monitoring programmes. Global Change Biology 23, 177-190.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._scene import (
    COVER_EFF,
    _cell_centres,
    _poisson_stems,
    _rasterise,
    _tree_table,
    crown_radius,
    dbh_from_height,
)

__all__ = ["dbh_from_crown", "STRUCTURES"]

#: ``make_scene(structure=...)`` values.
STRUCTURES = ("mean", "crowns")
STAND_SIDE = 40.0  # m, mean side of a stand
EMERGENT_P0 = 0.4  # share of stands without emergents
EMERGENT_SHARE = (0.2, 0.5)  # emergent share of the crown cover, when present
EMERGENT_HEIGHT = 1.8  # emergent height / H
HEIGHT_SPREAD = (0.05, 0.45)  # range of the stands' log-sd of main-canopy height
EMERGENT_CROWN = 1.3  # emergent crown radius / (c r(h))
CROWN_SCALE_SD = 0.4  # log-sd of the stand crown scale c
CROWN_DBH_EXP = 0.8  # D ~ (r / r(h))^0.8 at a given height
STEM_STEP = 5.0  # m, cells of the stem process
#: (NIR, mean NDVI, NDVI per unit of the ground field) of the understorey: canopy-like
UNDERSTOREY_CROWNS = (0.27, 0.66, 0.03)


def dbh_from_crown(height_m, crown_radius_m):
    """DBH (cm) of a tree of height ``height_m`` (m) and crown radius ``crown_radius_m`` (m).

    ``D = 1.25 h^1.05 (r / r(h))^0.8``, ``r(h) = 0.5 + 0.15 h``: the height-only DBH of
    :func:`~geoagb.datasets._scene.dbh_from_height` for a tree with the mean crown of its height,
    thicker for a wider crown (DBH grows with height x crown diameter, Jucker et al. 2017).

    Examples
    --------
    >>> float(dbh_from_crown(20.0, 3.5)) == float(dbh_from_height(20.0))
    True
    >>> round(float(dbh_from_crown(20.0, 7.0) / dbh_from_crown(20.0, 3.5)), 4)  # 2 ** 0.8
    1.7411
    """
    h = np.asarray(height_m, dtype=float)
    return dbh_from_height(h) * np.power(np.asarray(crown_radius_m, float) / crown_radius(h), 0.8)


def _stands(rng, size, x0, y0):
    """Stand centres and their emergent share, crown scale and height dispersion."""
    n = max(1, int(rng.poisson((size / STAND_SIDE) ** 2)))
    xy = rng.uniform(0.0, size, (n, 2)) + np.array([x0, y0])
    share = np.where(rng.uniform(size=n) < EMERGENT_P0, 0.0, rng.uniform(*EMERGENT_SHARE, size=n))
    scale = rng.lognormal(0.0, CROWN_SCALE_SD, n)
    spread = rng.uniform(*HEIGHT_SPREAD, size=n)
    return xy, share, scale, spread


def structured_trees(coarse, rng, size, x0, y0, blocked, res, residual_sd):
    """Two-layer stems in stands (see the module docstring); the table of ``_trees`` plus
    ``layer`` (0 main canopy, 1 emergent) and ``stand`` (stand index).
    """
    from scipy.spatial import cKDTree

    xy, share, scale, spread = _stands(rng, size, x0, y0)
    kd = cKDTree(xy)
    step = max(res, min(STEM_STEP, coarse.step))
    gx, gy = _cell_centres(size, x0, y0, step)
    sid = kd.query(np.column_stack([gx.ravel(), gy.ravel()]))[1].reshape(gx.shape)
    s, c = share[sid], scale[sid]
    h_field = coarse.at("H", gx, gy)
    cover = COVER_EFF * coarse.at("C", gx, gy)
    c_e = cover * s
    c_m = 1.0 - (1.0 - cover) / (1.0 - c_e)
    k_main = (1.0 - EMERGENT_HEIGHT * share) / (1.0 - share)  # per stand
    layers = (  # (cover, height factor, crown factor, log-sd of height; per stand)
        (c_m, k_main, 1.0, spread),
        (c_e, np.full_like(share, EMERGENT_HEIGHT), EMERGENT_CROWN, np.full_like(share, 0.1)),
    )
    tables = []
    for layer, (cov, k_h, k_r, h_sd) in enumerate(layers):
        rbar = crown_radius(h_field * k_h[sid]) * c * k_r
        lam = -np.log1p(-np.clip(cov, 0.0, 0.99)) / (np.pi * rbar**2)
        x, y = _poisson_stems(
            rng, gx, gy, lam, step, x0=x0, y0=y0, size=size, blocked=blocked, res=res
        )
        n = x.size
        st = kd.query(np.column_stack([x, y]))[1] if n else np.zeros(0, int)
        sd = h_sd[st]
        z = rng.standard_normal(n)
        height = np.clip(coarse.at("H", x, y) * k_h[st] * np.exp(sd * z - sd**2 / 2), 2.0, 45.0)
        radius = crown_radius(height) * scale[st] * k_r * rng.lognormal(0.0, 0.1, n)
        dbh = dbh_from_crown(height, radius) * rng.lognormal(0.0, 0.12, n)
        tables.append(
            _tree_table(
                coarse,
                x,
                y,
                height,
                radius,
                dbh,
                residual_sd,
                layer=np.full(n, layer, np.int8),
                stand=st.astype(np.int64),
            )
        )
    return pd.concat(tables, ignore_index=True)


def rasterise_layers(trees, x0, y0, size, res, n_px):
    """``_rasterise`` per layer, the higher crown surface winning: a big emergent crown is not
    lost behind the many small stems nearer to a pixel than its own.
    """
    top, tid = None, None
    for layer in np.unique(trees["layer"]):
        idx = np.flatnonzero(trees["layer"].to_numpy() == layer)
        t, i = _rasterise(trees.iloc[idx], x0, y0, size, res, n_px, k=10)
        i = np.where(i >= 0, idx[np.maximum(i, 0)], -1).astype(np.int32)
        if top is None:
            top, tid = t, i
        else:
            higher = t > top
            top = np.where(higher, t, top)
            tid = np.where(higher, i, tid)
    if top is None:
        return _rasterise(trees, x0, y0, size, res, n_px)
    return top, tid
