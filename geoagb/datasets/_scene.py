"""make_scene: co-registered rasters of a synthetic karst forest, built tree by tree.

The scene draws on the same :class:`~geoagb.datasets._landscape.Landscape` fields as
:func:`~geoagb.datasets.make_plots` (elevation E, mean canopy height H, crown cover CC, vigour V,
residual z_R), and realises them as single trees. For a small scene to vary, the length scales are
shortened (H, C, V by ``size_m / 15 km``; E and the karst hills K by at least 0.4), every field is
centred on its mean over the scene (the scene sits at the landscape's mean state, e.g. 900 m
elevation, whatever the seed) and the residual field gets the range ``residual_range`` (default
``size_m / 5``, an exponential covariance).

* stems: an inhomogeneous Poisson process of intensity
  ``lambda = -ln(1 - 0.85 CC) / (pi r(H)^2)`` (so the expected crown cover of the overlapping
  discs is 0.85 CC), none on bare rock, water or the road;
* tree height ``h = H(x, y) * LogNormal(0, 0.15)`` clipped to 2-45 m; crown radius
  ``r = (0.5 + 0.15 h) * LogNormal(0, 0.1)`` m; DBH ``D = 1.25 h^1.05 * LogNormal(0, 0.12)`` cm;
* wood density ``rho = 0.55 exp(gamma e V + residual_sd z_R)`` g/cm^3 with ``e = (E - 900) / 350``
  and ``gamma = 0.25``: the elevation x vigour interaction of ``make_plots`` and a spatially
  autocorrelated residual that the imagery cannot see (trees look alike from above but weigh
  more or less): what residual kriging should find;
* biomass per tree ``AGB = 0.0673 (rho D^2 h)^0.976`` kg (Chave et al. 2014, eq. 4);
* canopy height model: each crown is a paraboloid ``h (1 - 0.35 (d / r)^2)`` within ``d < r``;
  a pixel takes the highest crown over it (KD-tree query of the nearest stems, vectorised over
  pixels), else the ground vegetation height; plus N(0, 0.15^2) m noise;
* DEM: ``E`` (cubic interpolation of a coarse grid) plus karst dolines (sinkholes, some
  flooded) and cones;
* land cover: 3 bare rock (a smooth noise field, more on high, steep ground), 4 water (flooded
  dolines) and built (a road), 1 forest where crowns cover >= 25 % of a 15 m window, 2 shrub /
  grass elsewhere;
* imagery (surface reflectance, blue, green, red, nir): crowns bright in NIR (NDVI ~0.7, higher
  with vigour), lit on the sun side of each crown and darker on the far side; shadows cast from
  the surface ``DEM + CHM`` away from the sun (azimuth 135 deg, elevation 50 deg); terrain
  illumination ``(cos i + 0.3) / (cos z + 0.3)`` darkens steep shaded slopes; bare rock bright in
  all bands; water dark; N(0, 0.004^2) noise;
* plots: ``n_plots`` non-overlapping squares of side ``plot_size_m`` fully inside the scene,
  centred on forest or shrub land; field AGB (Mg/ha) = sum of the biomass of the trees whose
  stems lie in the square / its area, plus N(0, noise_sd^2) measurement noise (clipped at 0); a
  fraction of plots is temporally inconsistent (AGB multiplied by 0.25-0.45 or 1.8-2.5, as in
  ``make_plots``).

Fields are evaluated with gstools on a coarse grid (about 25 m) and interpolated; everything per
pixel is vectorised (no loop over trees), so the default 1.5 km scene at 1 m takes seconds.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
from rasterio.transform import Affine
from scipy.interpolate import RectBivariateSpline
from scipy.ndimage import gaussian_filter, map_coordinates, uniform_filter
from scipy.spatial import cKDTree

from .._random import seed_int
from ._landscape import DEFAULT_CRS, DEFAULT_ORIGIN, GAMMA, Landscape

__all__ = ["make_scene", "Scene", "BAND_NAMES", "LANDCOVER_CLASSES"]

#: Band order of ``image.tif``.
BAND_NAMES = ("blue", "green", "red", "nir")
#: Codes of ``landcover.tif``.
LANDCOVER_CLASSES = {0: "nodata", 1: "forest", 2: "shrub/grass", 3: "bare rock", 4: "water/built"}

FLOAT_NODATA = -9999.0
CROWN_NODATA = 255
CHAVE_A, CHAVE_B = 0.0673, 0.976  # AGB (kg) = a (rho D^2 H)^b, Chave et al. (2014) eq. 4
WOOD_DENSITY = 0.55  # g/cm^3
CROWN_DEPTH = 0.35  # crown edge at (1 - 0.35) h
COVER_EFF = 0.85  # stems give an expected crown cover of 0.85 CC
DBH_A, DBH_B = 1.25, 1.05  # D (cm) = 1.25 h^1.05
HEIGHT_SD = 0.15  # log-sd of tree height around the canopy height H
SUN_AZIMUTH, SUN_ELEVATION = 135.0, 50.0
UNDERSTOREY = (0.22, 0.45, 0.08)  # off-crown NIR, NDVI and NDVI per unit of the ground field


def crown_radius(height_m):
    """Mean crown radius (m) of a tree of height ``height_m`` (m): ``0.5 + 0.15 h``."""
    return 0.5 + 0.15 * np.asarray(height_m, dtype=float)


def dbh_from_height(height_m):
    """Mean DBH (cm) of a tree of height ``height_m`` (m): ``1.25 h^1.05``."""
    return DBH_A * np.power(np.asarray(height_m, dtype=float), DBH_B)


def tree_biomass(dbh_cm, height_m, wood_density):
    """Aboveground biomass of one tree, kg: ``0.0673 (rho D^2 H)^0.976`` (Chave et al. 2014)."""
    return CHAVE_A * np.power(wood_density * np.square(dbh_cm) * height_m, CHAVE_B)


@dataclass
class Scene:
    """What :func:`make_scene` wrote and the field data that go with it.

    Attributes
    ----------
    sources : dict
        ``{"image", "crown", "chm", "dem", "landcover"}`` -> Path of the GeoTIFF.
    plots : geopandas.GeoDataFrame
        ``plot_id``, ``x``, ``y`` (plot centre, metres), ``agb`` (field AGB, Mg/ha) and point
        geometry; each plot is a square of side :attr:`plot_size_m` centred on (x, y).
    truth : pandas.DataFrame
        Aligned with ``plots``: ``agb_trees`` (allometric biomass of the trees whose stems lie in
        the footprint, Mg/ha), ``noise`` (Mg/ha), ``factor`` (1 for consistent plots),
        ``inconsistent`` (bool), ``n_trees``, ``height_trees`` (mean tree height, m) and
        ``agb_model`` (``make_plots``' noise-free AGB equation A_0 at the centre, Mg/ha).
        ``agb = max(agb_trees + noise, 0) * factor``.
    trees : pandas.DataFrame
        One row per tree: ``x``, ``y`` (m), ``height`` (m), ``crown_radius`` (m), ``dbh`` (cm),
        ``wood_density`` (g/cm^3), ``biomass`` (kg), ``plot_id`` (-1 outside every plot);
        with ``structure="crowns"`` also ``layer`` (0 main canopy, 1 emergent) and ``stand``.
    plot_size_m, resolution : float
        Plot side and pixel size, metres.
    crs : str
    bounds : tuple of float
        (xmin, ymin, xmax, ymax) of the rasters, metres.

    Examples
    --------
    >>> import tempfile
    >>> scene = make_scene(tempfile.mkdtemp(), size_m=300, n_plots=10, random_state=0)
    >>> scene.bounds[2] - scene.bounds[0], scene.read("dem").shape
    (300.0, (300, 300))
    >>> trees = scene.trees[scene.trees["plot_id"] == 0]         # stems in plot 0
    >>> area_ha = scene.plot_size_m ** 2 / 10_000
    >>> bool(np.isclose(trees["biomass"].sum() / 1000 / area_ha, scene.truth["agb_trees"][0]))
    True
    """

    sources: dict
    plots: object
    truth: pd.DataFrame
    trees: pd.DataFrame
    plot_size_m: float
    resolution: float
    crs: str = DEFAULT_CRS
    bounds: tuple = field(default=(0.0, 0.0, 0.0, 0.0))

    def read(self, name: str) -> np.ndarray:
        """Array of one source: (4, H, W) for ``"image"``, (H, W) for the others."""
        if name not in self.sources:
            raise KeyError(f"unknown source {name!r}; the scene has {sorted(self.sources)}.")
        with rasterio.open(self.sources[name]) as src:
            arr = src.read()
        return arr if name == "image" else arr[0]


class _Coarse:
    """Landscape fields on a coarse grid, bilinear (or cubic) interpolation anywhere."""

    def __init__(self, land, x0, y0, size, step):
        self.x0, self.y0, self.step = x0 - step, y0 - step, step
        n = int(np.ceil(size / step)) + 3
        xs = self.x0 + step * np.arange(n)
        ys = self.y0 + step * np.arange(n)
        gx, gy = np.meshgrid(xs, ys)
        e = land.elevation(gx, gy)
        self.grids = {
            "E": e,
            "H": land.canopy_height(gx, gy, e),
            "C": land.crown_cover(gx, gy),
            "V": land.vigour(gx, gy),
            "R": land.z("R", gx, gy),
        }

    def on_grid(self, name, xc, yc, order=1):
        """Interpolate onto the regular grid ``xc`` (increasing) x ``yc`` (decreasing), float32."""
        g = self.grids[name]
        ys = self.y0 + self.step * np.arange(g.shape[0])
        xs = self.x0 + self.step * np.arange(g.shape[1])
        spline = RectBivariateSpline(ys, xs, g, kx=order, ky=order)
        return spline(yc[::-1], xc)[::-1].astype(np.float32)

    def at(self, name, x, y, order=1):
        rows = (np.asarray(y) - self.y0) / self.step
        cols = (np.asarray(x) - self.x0) / self.step
        return map_coordinates(
            self.grids[name], [rows.ravel(), cols.ravel()], order=order, mode="nearest"
        ).reshape(np.shape(rows))


def _scene_landscape(size, residual_range, seed, origin):
    """The scene's :class:`Landscape`: length scales shortened to the scene size and every field
    centred on its landscape mean over the scene (so a small scene is a typical piece of the
    landscape, e.g. at 900 m mean elevation, whatever the seed).
    """
    f = min(1.0, size / 15_000.0)
    g = min(1.0, max(f, 0.4))
    scales = {
        "E": 15_000.0 * g,
        "K": 1_200.0 * g,
        "H": 3_000.0 * f,
        "C": 2_000.0 * f,
        "V": 4_000.0 * f,
    }
    land = Landscape(size, residual_range, 1.0, random_state=seed, origin=origin, len_scales=scales)
    t = (np.arange(24) + 0.5) * size / 24
    gx, gy = np.meshgrid(origin[0] + t, origin[1] + t)
    offsets = {k: -float(land.z(k, gx, gy).mean()) for k in ("E", "K", "H", "C", "V", "R")}
    return Landscape(
        size,
        residual_range,
        1.0,
        random_state=seed,
        origin=origin,
        len_scales=scales,
        z_offsets=offsets,
    )


def _karst(dem, rng, res, size):
    """Add dolines (some flooded) and cones to ``dem`` in place; return the water mask."""
    area_km2 = (size / 1000.0) ** 2
    n_px = dem.shape[0]
    water = np.zeros(dem.shape, bool)
    feats = [
        ("doline", rng.uniform(10, 40), rng.uniform(4, 18))
        for _ in range(rng.poisson(10 * area_km2))
    ]
    feats += [
        ("cone", rng.uniform(40, 110), rng.uniform(15, 45))
        for _ in range(rng.poisson(4 * area_km2))
    ]
    for kind, radius, depth in feats:  # a few dozen features, each in its own window
        cx, cy = rng.uniform(0, size, 2)
        c0, c1 = int(max(0, (cx - radius) / res)), int(min(n_px, (cx + radius) / res + 1))
        r0, r1 = (
            int(max(0, (size - cy - radius) / res)),
            int(min(n_px, (size - cy + radius) / res + 1)),
        )
        if c1 <= c0 or r1 <= r0:
            continue
        xx = (np.arange(c0, c1) + 0.5) * res - cx
        yy = size - (np.arange(r0, r1) + 0.5) * res - cy
        q = (xx[None, :] ** 2 + yy[:, None] ** 2) / radius**2
        bump = np.where(q < 1, (1 - q) ** 2, 0.0)
        if kind == "doline":
            dem[r0:r1, c0:c1] -= depth * bump
            if depth > 12:
                water[r0:r1, c0:c1] |= q < 0.25
        else:
            dem[r0:r1, c0:c1] += depth * bump
    return water


def _gradient(dem, res):
    """dz/dx (east) and dz/dy (north) of a north-up raster."""
    d_row, d_col = np.gradient(dem, res)
    return d_col, -d_row


def _cos_incidence(dzdx, dzdy, azimuth, elevation):
    """Cosine of the sun's incidence angle on a surface of gradient (dzdx, dzdy)."""
    az, el = np.radians(azimuth), np.radians(elevation)
    sx, sy, sz = (float(v) for v in (np.sin(az) * np.cos(el), np.cos(az) * np.cos(el), np.sin(el)))
    return (-dzdx * sx - dzdy * sy + sz) / np.sqrt(dzdx**2 + dzdy**2 + 1.0)


def _smooth_noise(rng, shape, sigma):
    z = gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return (z - z.mean()) / z.std()


def _cell_centres(size, x0, y0, step):
    """Centres (gx, gy) of the square cells of side ``step`` tiling the scene."""
    n = int(np.ceil(size / step))
    cx = x0 + step * (np.arange(n) + 0.5)
    cy = y0 + step * (np.arange(n) + 0.5)
    return np.meshgrid(cx, cy)


def _poisson_stems(rng, gx, gy, lam, step, *, x0, y0, size, blocked, res):
    """Stem positions of an inhomogeneous Poisson process of intensity ``lam`` (stems / m^2),
    constant on each cell of side ``step`` centred on (gx, gy); none outside the scene or on a
    ``blocked`` pixel (bare rock, water, road).
    """
    counts = rng.poisson(lam * step * step).ravel()
    cell = np.repeat(np.arange(counts.size), counts)
    x = gx.ravel()[cell] + rng.uniform(-step / 2, step / 2, cell.size)
    y = gy.ravel()[cell] + rng.uniform(-step / 2, step / 2, cell.size)
    inside = (x > x0) & (x < x0 + size) & (y > y0) & (y < y0 + size)
    x, y = x[inside], y[inside]
    n_px = blocked.shape[0]
    col = np.clip(((x - x0) / res).astype(int), 0, n_px - 1)
    row = np.clip(((y0 + size - y) / res).astype(int), 0, n_px - 1)
    keep = ~blocked[row, col]
    return x[keep], y[keep]


def _wood_density(coarse, x, y, residual_sd):
    """Wood density (g/cm^3) at the stems and the standardised elevation ``e`` there."""
    e = (coarse.at("E", x, y) - 900.0) / 350.0
    rho = WOOD_DENSITY * np.exp(
        GAMMA * e * coarse.at("V", x, y) + residual_sd * coarse.at("R", x, y)
    )
    return rho, e


def _trees(coarse, rng, size, x0, y0, blocked, res, residual_sd):
    """Stems of an inhomogeneous Poisson process on the coarse cells, with their attributes."""
    step = coarse.step
    gx, gy = _cell_centres(size, x0, y0, step)
    cover = COVER_EFF * coarse.at("C", gx, gy)
    lam = -np.log1p(-cover) / (np.pi * crown_radius(coarse.at("H", gx, gy)) ** 2)
    x, y = _poisson_stems(rng, gx, gy, lam, step, x0=x0, y0=y0, size=size, blocked=blocked, res=res)
    k = x.size
    height = np.clip(coarse.at("H", x, y) * rng.lognormal(0.0, HEIGHT_SD, k), 2.0, 45.0)
    radius = crown_radius(height) * rng.lognormal(0.0, 0.1, k)
    dbh = dbh_from_height(height) * rng.lognormal(0.0, 0.12, k)
    return _tree_table(coarse, x, y, height, radius, dbh, residual_sd)


def _tree_table(coarse, x, y, height, radius, dbh, residual_sd, **extra):
    """The per-tree DataFrame: wood density, biomass and the fields the renderer needs."""
    rho, e = _wood_density(coarse, x, y, residual_sd)
    return pd.DataFrame(
        {
            "x": x,
            "y": y,
            "height": height,
            "crown_radius": radius,
            "dbh": dbh,
            "wood_density": rho,
            "biomass": tree_biomass(dbh, height, rho),
            **extra,
            "vigour": coarse.at("V", x, y),
            "e": e,
        }
    )


def _rasterise(trees, x0, y0, size, res, n_px, k=6):
    """Top crown height (-inf off crowns) and tree index (-1) per pixel; chunked KD-tree."""
    tx = trees["x"].to_numpy() - x0
    ty = trees["y"].to_numpy() - y0
    h = np.append(trees["height"].to_numpy(), 0.0)
    r = np.append(trees["crown_radius"].to_numpy(), 1e-9)
    top = np.full((n_px, n_px), -np.inf, np.float32)
    tid = np.full((n_px, n_px), -1, np.int32)
    if tx.size == 0:
        return top, tid
    kd = cKDTree(np.column_stack([tx, ty]))
    k = min(k, tx.size)
    xc = (np.arange(n_px) + 0.5) * res
    chunk = max(1, 2**19 // n_px)
    for r0 in range(0, n_px, chunk):
        rows = np.arange(r0, min(n_px, r0 + chunk))
        yc = size - (rows + 0.5) * res
        pts = np.column_stack([np.tile(xc, rows.size), np.repeat(yc, n_px)])
        d, idx = kd.query(pts, k=k, distance_upper_bound=float(r.max()), workers=-1)
        d, idx = d.reshape(len(pts), -1), idx.reshape(len(pts), -1)
        rr = r[idx]
        inside = d < rr
        q = np.where(inside, d, 0.0) / rr
        z = np.where(inside, h[idx] * (1.0 - CROWN_DEPTH * q * q), -np.inf)
        best = np.argmax(z, axis=1)
        zb = z[np.arange(len(pts)), best]
        ib = np.where(np.isfinite(zb), idx[np.arange(len(pts)), best], -1)
        top[rows] = zb.reshape(rows.size, n_px)
        tid[rows] = ib.reshape(rows.size, n_px)
    return top, tid


def _cast_shadow(surface, res, azimuth, elevation, reach_m):
    """True where the surface toward the sun rises above the sun ray (vectorised ray march)."""
    n_r, n_c = surface.shape
    shadow = np.zeros(surface.shape, bool)
    az = np.radians(azimuth)
    tan_el = np.tan(np.radians(elevation))
    seen = set()
    for k in range(1, int(np.ceil(reach_m / res)) + 1):
        dc, dr = int(round(k * np.sin(az))), int(round(-k * np.cos(az)))
        if (dc, dr) in seen or (dc == 0 and dr == 0):
            continue
        seen.add((dc, dr))
        rise = np.float32(np.hypot(dc, dr) * res * tan_el)
        src_r = slice(max(0, dr), n_r + min(0, dr))
        dst_r = slice(max(0, -dr), n_r + min(0, -dr))
        src_c = slice(max(0, dc), n_c + min(0, dc))
        dst_c = slice(max(0, -dc), n_c + min(0, -dc))
        shadow[dst_r, dst_c] |= surface[src_r, src_c] > surface[dst_r, dst_c] + rise
    return shadow


def _render(canopy, grid, terrain, rng, sun_azimuth, sun_elevation):
    """4-band surface reflectance (float32): crowns, understorey, rock, road, water; lit by the
    sun on terrain and crown surfaces, with cast shadows. ``canopy.understorey`` is (NIR, mean
    NDVI, NDVI change per unit of the smooth ground field) off crowns.
    """
    trees, tid, chm, ground_z = canopy.trees, canopy.tid, canopy.chm, canopy.ground_z
    understorey = canopy.understorey
    lx, ly, x0, y0, res = grid.lx, grid.ly, grid.x0, grid.y0, grid.res
    dem, dzdx, dzdy, rock_z = terrain.dem, terrain.dzdx, terrain.dzdy, terrain.rock_z
    masks = {"rock": terrain.rock, "built": terrain.built, "water": terrain.water}
    crown = tid >= 0
    safe = np.where(crown, tid, 0)
    cos_i = _cos_incidence(dzdx, dzdy, sun_azimuth, sun_elevation)
    u_nir, u_ndvi, u_slope = understorey
    nir = np.full(crown.shape, u_nir, np.float32)  # understorey / grass
    ndvi = (u_ndvi + u_slope * ground_z).astype(np.float32)
    if len(trees):
        vig, e = trees["vigour"].to_numpy(), trees["e"].to_numpy()
        t_ndvi = np.clip(
            0.70 + 0.08 * np.tanh(vig) - 0.05 * np.maximum(e, 0) + rng.normal(0, 0.03, len(trees)),
            0.4,
            0.9,
        ).astype(np.float32)
        t_nir = (0.28 + 0.05 * np.tanh(vig) + rng.normal(0, 0.02, len(trees))).astype(np.float32)
        # paraboloid crown surface h (1 - c (d / r)^2): gradient -2 c h (x - x_t) / r^2
        hh = trees["height"].to_numpy(np.float32)[safe]
        k = -2 * CROWN_DEPTH * hh / np.square(trees["crown_radius"].to_numpy(np.float32)[safe])
        c_dzdx = k * (lx - (trees["x"].to_numpy() - x0).astype(np.float32)[safe])
        c_dzdy = k * (ly - (trees["y"].to_numpy() - y0).astype(np.float32)[safe])
        cos_i = np.where(crown, _cos_incidence(c_dzdx, c_dzdy, sun_azimuth, sun_elevation), cos_i)
        del hh, k, c_dzdx, c_dzdy
        nir = np.where(crown, t_nir[safe], nir)
        ndvi = np.where(crown, t_ndvi[safe], ndvi)
    zen = np.radians(90.0 - sun_elevation)
    illum = (np.clip(cos_i, 0.05, None) + 0.3) / np.float32(np.cos(zen) + 0.3)
    reach = float(chm.max()) / np.tan(np.radians(sun_elevation)) + 2 * res
    shadow = _cast_shadow(dem + chm, res, sun_azimuth, sun_elevation, reach_m=reach)
    illum[shadow] *= 0.3
    red = nir * (1 - ndvi) / (1 + ndvi)
    bands = np.stack([0.7 * red + 0.01, 1.5 * red + 0.01, red, nir]).astype(np.float32)
    for name, spec in (("rock", (0.24, 0.27, 0.30, 0.34)), ("built", (0.17, 0.18, 0.19, 0.21))):
        m = masks[name]
        bands[:, m] = np.asarray(spec, np.float32)[:, None] * (1 + 0.05 * rock_z[m])[None]
    bands *= illum[None]
    bands[:, masks["water"]] = np.asarray([0.05, 0.045, 0.03, 0.015], np.float32)[:, None]
    bands += 0.004 * rng.standard_normal(bands.shape, dtype=np.float32)
    return np.maximum(bands, 0.001, out=bands)


def _place_plots(rng, n_plots, size, side, allowed, res, max_tries=200):
    """Non-overlapping squares fully inside the scene, centred on ``allowed`` pixels."""
    half = side / 2.0
    n_px = allowed.shape[0]
    xs = np.empty(0)
    ys = np.empty(0)
    for _ in range(max_tries):
        cand = rng.uniform(half, size - half, (4 * n_plots + 16, 2))
        ok = allowed[
            np.clip(((size - cand[:, 1]) / res).astype(int), 0, n_px - 1),
            np.clip((cand[:, 0] / res).astype(int), 0, n_px - 1),
        ]
        for cx, cy in cand[ok]:
            if xs.size and np.any((np.abs(xs - cx) < side) & (np.abs(ys - cy) < side)):
                continue
            xs, ys = np.append(xs, cx), np.append(ys, cy)
            if xs.size == n_plots:
                return xs, ys
    raise ValueError(
        f"could place only {xs.size} of n_plots={n_plots} non-overlapping plots of "
        f"{side:g} m in a {size:g} m scene; lower n_plots or plot_size_m, or raise size_m."
    )


def _write(path: Path, arr, profile, descriptions):
    """Write a GeoTIFF through a temporary file renamed on success."""
    arr = arr[None] if arr.ndim == 2 else arr
    prof = dict(profile, count=arr.shape[0], dtype=arr.dtype.name)
    fd, tmp = tempfile.mkstemp(suffix=".tif", dir=path.parent)
    os.close(fd)
    try:
        with rasterio.open(tmp, "w", **prof) as dst:
            dst.write(arr)
            for i, d in enumerate(descriptions, 1):
                dst.set_band_description(i, d)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


# make_scene, step by step: check the arguments, terrain, trees and canopy, land cover, image
# (_render), plots and their field AGB, write the GeoTIFFs. Every step that draws random numbers
# takes the scene's one generator and is called in a fixed order, so a seed fixes the scene.


def _check_grid_args(size_m, resolution, plot_size_m):
    """Checked ``(size, res, side, n_px)``: scene side, pixel size, plot side (m), pixels a side.

    Raises ValueError naming the bad argument, the rule and a value that would do.
    """
    size, res, side = float(size_m), float(resolution), float(plot_size_m)
    if not (np.isfinite(res) and res > 0):
        raise ValueError(f"resolution={resolution!r} must be a positive pixel size in metres.")
    n_px = int(round(size / res))
    if not (np.isfinite(size) and size > 0) or abs(n_px * res - size) > 1e-6 * size:
        raise ValueError(
            f"size_m={size_m!r} must be a positive multiple of resolution={resolution!r} metres, "
            f"e.g. size_m={max(1, n_px) * res:g}."
        )
    if not (0 < side <= size / 2):
        raise ValueError(
            f"plot_size_m={plot_size_m!r} must be positive and at most size_m / 2 = {size / 2:g}."
        )
    return size, res, side, n_px


def _check_scene_options(
    size, n_plots, inconsistent_fraction, structure, noise_sd, residual_sd, residual_range
):
    """Check the other arguments of :func:`make_scene`; return the residual range (m), by
    default ``size / 5``.
    """
    if int(n_plots) != n_plots or n_plots < 0:
        raise ValueError(f"n_plots={n_plots!r} must be a whole number >= 0.")
    if not 0 <= inconsistent_fraction <= 1:
        raise ValueError(f"inconsistent_fraction={inconsistent_fraction!r} must lie in [0, 1].")
    if structure not in ("mean", "crowns"):
        raise ValueError(
            f"structure={structure!r} is not one of ['mean', 'crowns']: 'mean' for one canopy "
            "layer (plot means carry the signal), 'crowns' for stands with emergents, mixed "
            "crown sizes and canopy-like understorey (the signal lives inside the plot)."
        )
    if noise_sd < 0 or residual_sd < 0:
        raise ValueError(f"noise_sd={noise_sd!r} and residual_sd={residual_sd!r} must be >= 0.")
    rr = size / 5.0 if residual_range is None else float(residual_range)
    if not rr > 0:
        raise ValueError(f"residual_range={residual_range!r} must be a positive length in metres.")
    return rr


@dataclass(frozen=True)
class _Grid:
    """The scene's square north-up pixel grid: lower-left corner (``x0``, ``y0``), side ``size``
    and pixel size ``res`` (metres), ``n_px`` pixels a side.
    """

    x0: float
    y0: float
    size: float
    res: float
    n_px: int

    @property
    def xc(self):
        """Pixel-centre eastings (m), west to east."""
        return self.x0 + (np.arange(self.n_px) + 0.5) * self.res

    @property
    def yc(self):
        """Pixel-centre northings (m), north to south."""
        return self.y0 + self.size - (np.arange(self.n_px) + 0.5) * self.res

    @property
    def lx(self):
        """Pixel-centre x relative to ``x0`` (m), float32 of shape (1, W)."""
        return (self.xc - self.x0).astype(np.float32)[None, :]

    @property
    def ly(self):
        """Pixel-centre y relative to ``y0`` (m), float32 of shape (H, 1)."""
        return (self.yc - self.y0).astype(np.float32)[:, None]

    def profile(self):
        """The rasterio profile of the grid, tiled 256 x 256 (smaller scenes: the largest
        multiple of 16 that fits).
        """
        n_px = self.n_px
        profile = dict(
            driver="GTiff",
            width=n_px,
            height=n_px,
            crs=DEFAULT_CRS,
            transform=Affine(self.res, 0.0, self.x0, 0.0, -self.res, self.y0 + self.size),
            tiled=True,
            blockxsize=256,
            blockysize=256,
        )
        if n_px < 256:
            profile.update(blockxsize=16 * max(1, n_px // 16), blockysize=16 * max(1, n_px // 16))
        return profile


@dataclass
class _Terrain:
    """The ground of the scene on the pixel grid: ``dem`` (m), its gradient ``dzdx``, ``dzdy``;
    ``rock_z``, the smooth noise field behind bare rock; masks ``water``, ``rock``, ``built``
    and ``blocked`` (any of them: no stems there).
    """

    dem: np.ndarray
    dzdx: np.ndarray
    dzdy: np.ndarray
    rock_z: np.ndarray
    water: np.ndarray
    rock: np.ndarray
    built: np.ndarray
    blocked: np.ndarray


def _terrain(coarse, rng, grid):
    """Elevation with dolines and cones, bare rock and a road (draws: karst, noise, road).

    Also adds the smooth ``"rock"`` and ``"ground"`` noise fields to ``coarse.grids``.
    """
    res, size = grid.res, grid.size
    xc, yc = grid.xc, grid.yc
    dem = coarse.on_grid("E", xc, yc, order=3)
    water = _karst(dem, rng, res, size)
    dzdx, dzdy = _gradient(dem, res)
    coarse.grids["rock"] = _smooth_noise(rng, coarse.grids["E"].shape, 1.2)
    coarse.grids["ground"] = _smooth_noise(rng, coarse.grids["E"].shape, 1.0)
    rock_z = coarse.on_grid("rock", xc, yc)
    rock = _bare_rock(rock_z, dem, dzdx, dzdy)
    built = _road(rng, grid.lx, grid.ly, size)
    rock &= ~(water | built)
    return _Terrain(
        dem=dem,
        dzdx=dzdx,
        dzdy=dzdy,
        rock_z=rock_z,
        water=water,
        rock=rock,
        built=built,
        blocked=rock | water | built,
    )


def _bare_rock(rock_z, dem, dzdx, dzdy):
    """Bare rock: where the smooth noise ``rock_z``, raised on high and steep ground, is > 1.6."""
    slope = np.degrees(np.arctan(np.hypot(dzdx, dzdy)))
    return (rock_z + 0.6 * np.maximum((dem - 900.0) / 350.0, 0) + 0.03 * (slope - 30.0)) > 1.6


def _road(rng, lx, ly, size):
    """A road across the scene: 5 m wide, between random points of the west and east edges.

    ``lx`` (1, W) and ``ly`` (H, 1) are the pixel centres relative to the origin, metres.
    """
    ya, yb = rng.uniform(0.15, 0.85, 2) * size
    return np.abs((yb - ya) * lx - size * (ly - ya)) / np.hypot(yb - ya, size) < 2.5


def _grow_trees(coarse, rng, terrain, grid, residual_sd, structure):
    """``(trees, top, tid, understorey)``: the trees of ``structure``, the top crown height and
    tree index per pixel (:func:`_rasterise`) and the off-crown reflectance for :func:`_render`.
    """
    x0, y0, size, res, n_px = grid.x0, grid.y0, grid.size, grid.res, grid.n_px
    if structure == "crowns":
        # deferred: _structured imports its building blocks from this module
        from ._structured import UNDERSTOREY_CROWNS, rasterise_layers, structured_trees

        trees = structured_trees(coarse, rng, size, x0, y0, terrain.blocked, res, residual_sd)
        top, tid = rasterise_layers(trees, x0, y0, size, res, n_px)
        return trees, top, tid, UNDERSTOREY_CROWNS
    trees = _trees(coarse, rng, size, x0, y0, terrain.blocked, res, residual_sd)
    top, tid = _rasterise(trees, x0, y0, size, res, n_px)
    return trees, top, tid, UNDERSTOREY


@dataclass
class _Canopy:
    """The trees and what they make on the pixel grid: ``trees`` (one row per tree), ``tid``
    (index of the tree whose crown tops each pixel, -1 off crowns), ``chm`` (canopy height
    model, m, float32), ``ground_z`` (the smooth ground-vegetation field) and ``understorey``
    (off-crown NIR, NDVI and NDVI slope for :func:`_render`).
    """

    trees: pd.DataFrame
    tid: np.ndarray
    chm: np.ndarray
    ground_z: np.ndarray
    understorey: tuple


def _canopy(coarse, rng, terrain, grid, residual_sd, structure):
    """Trees of ``structure`` on the unblocked ground, their crowns and the canopy height model
    (draws: stems and trees, then the CHM noise).
    """
    trees, top, tid, understorey = _grow_trees(coarse, rng, terrain, grid, residual_sd, structure)
    ground_z = coarse.on_grid("ground", grid.xc, grid.yc)
    chm = _canopy_height(top, tid >= 0, terrain.blocked, ground_z, rng)
    return _Canopy(trees, tid, chm, ground_z, understorey)


def _canopy_height(top, crown, blocked, ground_z, rng):
    """Canopy height model (m, float32): the top crown on ``crown`` pixels, else 0 on blocked
    ground and the ground vegetation height ``0.5 + 0.35 ground_z`` (>= 0.05 m); plus
    N(0, 0.15^2) m noise, clipped at 0.
    """
    chm = np.where(crown, top, np.where(blocked, 0.0, np.clip(0.5 + 0.35 * ground_z, 0.05, None)))
    chm += 0.15 * rng.standard_normal(chm.shape, dtype=np.float32)
    return np.maximum(chm, 0.0, dtype=np.float32)


def _landcover(crown, terrain, res):
    """Land cover codes (uint8): 1 forest where crowns cover >= 25 % of a 15 m window, else 2;
    3 bare rock; 4 water and the road.
    """
    cover15 = uniform_filter(
        crown.astype(np.float32), size=max(1, int(round(15.0 / res))), mode="nearest"
    )
    landcover = np.where(cover15 >= 0.25, 1, 2).astype(np.uint8)
    landcover[terrain.rock] = 3
    landcover[terrain.water | terrain.built] = 4
    return landcover


def _plot_centres(rng, n_plots, size, side, landcover, res):
    """Centres (m from the origin) of ``n_plots`` plots on forest or shrub land."""
    if not n_plots:
        return np.empty(0), np.empty(0)
    allowed = (landcover == 1) | (landcover == 2)
    return _place_plots(rng, n_plots, size, side, allowed, res)


def _trees_in_plots(trees, px, py, x0, y0, side):
    """Plot index of every tree whose stem lies in a square plot of side ``side`` (else -1)."""
    if not (px.size and len(trees)):
        return np.full(len(trees), -1, np.int64)
    d, j = cKDTree(np.column_stack([px, py])).query(
        np.column_stack([trees["x"] - x0, trees["y"] - y0]), p=np.inf
    )
    return np.where(d <= side / 2.0, j, -1)


def _inconsistent_factors(rng, n_plots, fraction):
    """``(inconsistent, factor)``: ``round(fraction n_plots)`` plots drawn at random whose AGB is
    multiplied by U(0.25, 0.45) or U(1.8, 2.5) (even odds); factor 1 elsewhere.
    """
    n_bad = int(round(fraction * n_plots))
    inconsistent = np.zeros(n_plots, bool)
    inconsistent[rng.choice(n_plots, n_bad, replace=False)] = True
    factor = np.ones(n_plots)
    low = rng.uniform(size=n_bad) < 0.5
    factor[inconsistent] = np.where(
        low, rng.uniform(0.25, 0.45, n_bad), rng.uniform(1.8, 2.5, n_bad)
    )
    return inconsistent, factor


def _plot_agb(rng, trees, n_plots, side, noise_sd, inconsistent_fraction):
    """``(agb, truth)``: field AGB (Mg/ha) of every plot from ``trees["plot_id"]`` and the truth
    columns that make it (dict, in :attr:`Scene.truth` order).

    ``agb = max(agb_trees + noise, 0) * factor`` with ``agb_trees`` the biomass of the trees in
    the plot per hectare and ``noise`` ~ N(0, ``noise_sd``^2).
    """
    tpid = trees["plot_id"].to_numpy()
    inplot = tpid >= 0
    kg = np.bincount(tpid[inplot], weights=trees["biomass"].to_numpy()[inplot], minlength=n_plots)
    ntr = np.bincount(tpid[inplot], minlength=n_plots)
    hsum = np.bincount(tpid[inplot], weights=trees["height"].to_numpy()[inplot], minlength=n_plots)
    area_ha = side * side / 10_000.0
    agb_trees = kg / 1000.0 / area_ha
    noise = rng.normal(0.0, noise_sd, n_plots)
    inconsistent, factor = _inconsistent_factors(rng, n_plots, inconsistent_fraction)
    agb = np.maximum(agb_trees + noise, 0.0) * factor
    return agb, {
        "agb_trees": agb_trees,
        "noise": noise,
        "factor": factor,
        "inconsistent": inconsistent,
        "n_trees": ntr,
        "height_trees": np.divide(hsum, ntr, out=np.full(n_plots, np.nan), where=ntr > 0),
    }


def _plot_tables(land, coarse, ax, ay, agb, truth_columns):
    """``(plots, truth)`` of :class:`Scene` for plots centred on (``ax``, ``ay``) (m, the CRS),
    from :func:`_plot_agb`; the truth gains ``agb_model``, ``make_plots``' AGB at the centre.
    """
    n_plots = ax.size
    agb_model = land.agb_from_structure(
        land.structural_agb(coarse.at("H", ax, ay), coarse.at("C", ax, ay)),
        coarse.at("E", ax, ay),
        coarse.at("V", ax, ay),
    )
    plots = gpd.GeoDataFrame(
        {"plot_id": np.arange(n_plots), "x": ax, "y": ay, "agb": agb},
        geometry=gpd.points_from_xy(ax, ay),
        crs=DEFAULT_CRS,
    )
    truth = pd.DataFrame(
        {
            "plot_id": np.arange(n_plots),
            **truth_columns,
            "agb_model": agb_model,
        },
        index=plots.index,
    )
    return plots, truth


def _write_sources(out: Path, profile, image, crown, chm, dem, landcover):
    """Write the five GeoTIFFs of the scene into ``out``; return ``{name: path}``."""
    sources = {name: out / f"{name}.tif" for name in ("image", "crown", "chm", "dem", "landcover")}
    _write(
        sources["image"], image, dict(profile, nodata=FLOAT_NODATA, interleave="pixel"), BAND_NAMES
    )
    _write(
        sources["crown"],
        crown.astype(np.uint8),
        dict(profile, nodata=CROWN_NODATA, compress="deflate"),
        ["crown"],
    )
    _write(sources["chm"], chm, dict(profile, nodata=FLOAT_NODATA), ["chm"])
    _write(
        sources["dem"], dem.astype(np.float32), dict(profile, nodata=FLOAT_NODATA), ["elevation"]
    )
    _write(
        sources["landcover"], landcover, dict(profile, nodata=0, compress="deflate"), ["landcover"]
    )
    return sources


def make_scene(
    path,
    size_m: float = 1500.0,
    resolution: float = 1.0,
    n_plots: int = 200,
    plot_size_m: float = 25.83,
    random_state=None,
    residual_range: float | None = None,
    *,
    residual_sd: float = 0.25,
    noise_sd: float = 6.0,
    inconsistent_fraction: float = 0.05,
    origin=DEFAULT_ORIGIN,
    sun_azimuth: float = SUN_AZIMUTH,
    sun_elevation: float = SUN_ELEVATION,
    structure: str = "mean",
) -> Scene:
    """Write a synthetic sub-metre scene of karst forest built from single trees.

    Writes five co-registered GeoTIFFs (same grid, EPSG:32648, tiled 256 x 256, nodata set; the
    uint8 rasters deflate-compressed) into the folder ``path``:

    * ``image.tif``: float32 surface reflectance, 4 bands described ``blue, green, red, nir``;
    * ``crown.tif``: uint8 tree-crown mask (1 crown, 0 not; nodata 255);
    * ``chm.tif``: float32 canopy height model, metres;
    * ``dem.tif``: float32 elevation, metres;
    * ``landcover.tif``: uint8, 1 forest, 2 shrub/grass, 3 bare rock, 4 water/built (0 nodata).

    Every generating equation is in the module docstring of ``geoagb.datasets._scene``; in short,
    stems follow the :class:`Landscape` crown cover, heights its canopy height, per-tree biomass
    is ``0.0673 (rho D^2 H)^0.976`` kg, and the plot AGB is the sum over the trees whose stems
    lie in the square footprint, per hectare, plus measurement noise.

    Parameters
    ----------
    path : str or Path
        Output folder (created if needed); existing scene files are replaced.
    size_m : float, default 1500
        Side of the square scene, metres; a multiple of ``resolution``.
    resolution : float, default 1.0
        Pixel size, metres.
    n_plots : int, default 200
        Number of field plots.
    plot_size_m : float, default 25.83
        Side of the square plots, metres (25.83 m: a 0.0667 ha NFI plot).
    random_state : int, RandomState, Generator or None, default None
        Seed of everything; the same seed writes the same rasters and plots.
    residual_range : float, optional
        Length scale (m, exponential covariance) of the residual wood-density field; default
        ``size_m / 5`` (300 m for the default scene), so that residual kriging of 200 plots
        finds spatial structure.
    residual_sd : float, default 0.25
        Standard deviation of ``log`` wood density explained by the residual field (~25 % of AGB).
    noise_sd : float, default 6.0
        Plot measurement noise, Mg/ha.
    inconsistent_fraction : float, default 0.05
        Fraction of plots (rounded) whose field AGB belongs to another epoch.
    origin : (float, float), default (500 000, 2 750 000)
        Lower-left corner (easting, northing), metres, EPSG:32648.
    sun_azimuth, sun_elevation : float, default 135, 50
        Sun position (degrees clockwise from north; degrees above the horizon).
    structure : {"mean", "crowns"}, default "mean"
        Forest structure. "mean": one canopy layer whose tree heights scatter around the
        canopy height field, so a plot's mean height, cover and spectra carry nearly all of
        its AGB. "crowns": a fragmented karst forest whose biomass lives inside the plot:
        stands (about 40 m across) with or without emergent trees over a lower canopy (the
        same area-weighted mean height and cover), coarse- or fine-crowned (fewer or more
        stems for the same cover), DBH growing with crown width (Jucker et al. 2017), big
        crowns cut by the plot edge, understorey that reflects like canopy (every equation in
        the module docstring of ``geoagb.datasets._structured``). The trees table then has
        ``layer`` (0 main canopy, 1 emergent) and ``stand`` columns.

    Returns
    -------
    Scene
        ``sources``, ``plots`` (GeoDataFrame with plot_id, x, y, agb), ``truth``, ``trees`` and
        the grid description (see :class:`Scene`).

    References
    ----------
    Chave, J. et al. (2014). Improved allometric models to estimate the aboveground biomass of
    tropical trees. Global Change Biology 20, 3177-3190 (eq. 4).

    Jucker, T. et al. (2017). Allometric equations for integrating remote sensing imagery into
    forest monitoring programmes. Global Change Biology 23, 177-190.

    Examples
    --------
    >>> import tempfile
    >>> scene = make_scene(tempfile.mkdtemp(), size_m=300, n_plots=10, random_state=1)
    >>> sorted(scene.sources), len(scene.plots), scene.read("image").shape
    (['chm', 'crown', 'dem', 'image', 'landcover'], 10, (4, 300, 300))
    >>> crowns = make_scene(tempfile.mkdtemp(), size_m=300, n_plots=10, random_state=1,
    ...                     structure="crowns")
    >>> sorted(set(crowns.trees["layer"]))  # main canopy and emergents
    [0, 1]
    """
    size, res, side, n_px = _check_grid_args(size_m, resolution, plot_size_m)
    rr = _check_scene_options(
        size, n_plots, inconsistent_fraction, structure, noise_sd, residual_sd, residual_range
    )
    n_plots = int(n_plots)
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)

    seed_land, seed_scene = np.random.SeedSequence(seed_int(random_state)).spawn(2)
    rng = np.random.default_rng(seed_scene)
    x0, y0 = (float(v) for v in origin)
    grid = _Grid(x0, y0, size, res, n_px)
    land = _scene_landscape(size, rr, int(seed_land.generate_state(1)[0]), (x0, y0))
    coarse = _Coarse(land, x0, y0, size, step=max(res, min(25.0, size / 40.0)))

    terrain = _terrain(coarse, rng, grid)
    canopy = _canopy(coarse, rng, terrain, grid, residual_sd, structure)
    crown = canopy.tid >= 0
    landcover = _landcover(crown, terrain, res)
    image = _render(canopy, grid, terrain, rng, sun_azimuth, sun_elevation)
    trees, chm = canopy.trees, canopy.chm
    del canopy

    px, py = _plot_centres(rng, n_plots, size, side, landcover, res)
    trees["plot_id"] = _trees_in_plots(trees, px, py, x0, y0, side)
    agb, truth_columns = _plot_agb(rng, trees, n_plots, side, noise_sd, inconsistent_fraction)
    plots, truth = _plot_tables(land, coarse, x0 + px, y0 + py, agb, truth_columns)

    sources = _write_sources(out, grid.profile(), image, crown, chm, terrain.dem, landcover)
    return Scene(
        sources=sources,
        plots=plots,
        truth=truth,
        trees=trees.drop(columns=["vigour", "e"]),
        plot_size_m=side,
        resolution=res,
        crs=DEFAULT_CRS,
        bounds=(x0, y0, x0 + size, y0 + size),
    )
