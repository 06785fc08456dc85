"""make_carbon_series: a synthetic annual forest-carbon stack with planted trends (the default data).

The generative model, per 1 km cell (k = year index, b = base-year index):

* smooth Gaussian fields (white noise through a Gaussian filter of ``smooth`` cells) give the
  carbon density of trees at full cover ``d`` (MgC/ha, 70 +- 20, in [30, 130]), the first-year
  tree cover ``TC_0`` and short-vegetation cover ``SV_0`` (fractions, ``TC + SV <= 1``), mean
  annual temperature (deg C) and precipitation (mm);
* four regions (quadrants), each with its planted dynamics:

  - ``afforestation``: ``TC_k = min(0.95, TC_0 + c k)``, c in [0.004, 0.025] /yr, shrubs give way
    (``SV_k = max(0, SV_0 - c k / 2)``);
  - ``densification``: covers constant, carbon density grows, ``g_k = 1 + rho (k - b)``, rho in
    [0.01, 0.03] /yr: invisible to cover fractions, seen by VOD;
  - ``disturbance``: tree cover degrades (``TC_k = max(0.05, TC_0 - e k)``, e in [0.002, 0.012]
    /yr) and two disc patches also lose ``1 - keep`` of it (keep in [0.3, 0.6]) from their year
    in ``disturbance_years`` on;
  - ``stable``: nothing changes (true trend exactly 0);

* true AGBC ``A_k = d (TC_k + r SV_k) g_k`` (MgC/ha), ``r = short_ratio`` the carbon density
  of short vegetation per unit cover relative to trees;
* observed covers = truth + N(0, ``cover_noise``^2) each year, clipped to [0, 1];
* benchmark AGBC (base year) = ``A_b (1 + 0.05 e)``, with sd 10 % of the value;
* VOD ``= 0.1 + 0.8 (1 - exp(-A_k / 120)) + N(0, vod_noise^2)`` (saturating);
* true BGBC ``= 0.3 A^0.93 exp(0.04 (12 - MAT))`` (more roots where it is cold); the BGB-AGB
  records are cells drawn at random with AGBC ``A_b`` times lognormal(0, 0.15) plot
  variability and BGBC from the same law times lognormal(0, 0.1).

The planted trend of a cell is the Theil-Sen slope of its noise-free AGBC series (exactly the
rate for the linear regions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from affine import Affine
from scipy.ndimage import gaussian_filter

from .._random import check_generator
from ._stack import make_grid, write_stack

__all__ = ["CarbonSeries", "CarbonSeriesTruth", "make_carbon_series", "REGION_NAMES"]

#: Region names of :func:`make_carbon_series`, by code (quadrants: NW, NE, SW, SE).
REGION_NAMES = ("afforestation", "densification", "disturbance", "stable")

_DEFAULT_CRS = "EPSG:32648"
_DEFAULT_ORIGIN = (500_000.0, 2_750_000.0)


def bgbc_law(agbc, mat):
    """True BGBC (MgC/ha) of the synthetic data: ``0.3 AGBC^0.93 exp(0.04 (12 - MAT))``."""
    a = np.maximum(np.asarray(agbc, dtype=float), 0.0)
    return 0.3 * a**0.93 * np.exp(0.04 * (12.0 - np.asarray(mat, dtype=float)))


@dataclass
class CarbonSeries:
    """Inputs of the carbon-through-time workflow on one grid (see :func:`make_carbon_series`).

    Attributes
    ----------
    years : ndarray of int, shape (T,)
    tree_cover, short_cover : ndarray of shape (T, H, W), float32
        Tree and short-vegetation cover fractions per year (0-1).
    vod : ndarray of shape (T, H, W), float32
        Vegetation optical depth per year (unitless), on the same grid.
    benchmark, benchmark_sd : ndarray of shape (H, W), float32
        Benchmark AGBC map of ``base_year`` and its standard deviation, MgC/ha.
    base_year : int
    covariates : dict of str -> ndarray (H, W)
        ``"mat"`` (mean annual temperature, deg C) and ``"map"`` (annual precipitation, mm).
    records : DataFrame
        In-situ BGB-AGB records: ``x``, ``y`` (metres), ``agbc``, ``mat``, ``map``, ``bgbc``
        (MgC/ha).
    regions : ndarray of shape (H, W), int32
        Region codes (index into ``region_names``).
    region_names : list of str
    transform : affine.Affine
    crs : str
    short_ratio : float
        Carbon density of short vegetation per unit cover relative to trees, used to generate.
    """

    years: np.ndarray
    tree_cover: np.ndarray
    short_cover: np.ndarray
    vod: np.ndarray
    benchmark: np.ndarray
    benchmark_sd: np.ndarray
    base_year: int
    covariates: dict
    records: pd.DataFrame
    regions: np.ndarray
    region_names: list
    transform: Affine
    crs: str
    short_ratio: float

    @property
    def shape(self) -> tuple[int, int]:
        return self.benchmark.shape

    @property
    def cell_area_ha(self) -> float:
        """Area of one cell, hectares."""
        return abs(self.transform.a * self.transform.e) / 1e4

    @property
    def grid(self) -> dict:
        """``dict(transform=..., crs=...)``, to pass on as ``**series.grid``."""
        return dict(transform=self.transform, crs=self.crs)

    def region_polygons(self):
        """The regions as a GeoDataFrame of polygons (column ``name``), in ``crs``."""
        import geopandas as gpd
        from rasterio.features import shapes
        from shapely.geometry import shape

        geoms, names = [], []
        for geom, code in shapes(self.regions.astype(np.int32), transform=self.transform):
            if code >= 0:
                geoms.append(shape(geom))
                names.append(self.region_names[int(code)])
        gdf = gpd.GeoDataFrame({"name": names}, geometry=geoms, crs=self.crs)
        return gdf.dissolve(by="name", sort=False).reset_index()

    def to_files(self, folder) -> dict:
        """Write every layer as a GeoTIFF (stacks: one band per year) and the records as CSV.

        Returns a dict of paths: ``tree_cover``, ``short_cover``, ``vod``, ``benchmark``,
        ``benchmark_sd``, ``regions``, ``mat``, ``map``, ``records``.
        """
        import rasterio

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        kw = dict(transform=self.transform, crs=self.crs)
        out = {
            "tree_cover": write_stack(
                folder / "tree_cover.tif", self.tree_cover, self.years, unit="fraction", **kw
            ),
            "short_cover": write_stack(
                folder / "short_cover.tif", self.short_cover, self.years, unit="fraction", **kw
            ),
            "vod": write_stack(folder / "vod.tif", self.vod, self.years, unit="1", **kw),
            "benchmark": write_stack(
                folder / "benchmark.tif", self.benchmark, [self.base_year], **kw
            ),
            "benchmark_sd": write_stack(
                folder / "benchmark_sd.tif", self.benchmark_sd, [self.base_year], **kw
            ),
            "mat": write_stack(
                folder / "mat.tif", self.covariates["mat"], ["mat"], unit="degC", **kw
            ),
            "map": write_stack(
                folder / "map.tif", self.covariates["map"], ["map"], unit="mm", **kw
            ),
        }
        g = make_grid(self.transform, self.crs, self.shape[1], self.shape[0])
        p = folder / "regions.tif"
        with rasterio.open(
            p,
            "w",
            driver="GTiff",
            width=g.width,
            height=g.height,
            count=1,
            dtype="int16",
            crs=g.crs,
            transform=g.transform,
            nodata=-1,
        ) as ds:
            ds.write(self.regions.astype(np.int16), 1)
            ds.update_tags(names=",".join(self.region_names))
        out["regions"] = p
        out["records"] = folder / "bgb_records.csv"
        self.records.to_csv(out["records"], index=False)
        return out


@dataclass
class CarbonSeriesTruth:
    """Noise-free truth of :func:`make_carbon_series`.

    Attributes
    ----------
    agbc, bgbc : ndarray of shape (T, H, W)
        True above- and belowground carbon, MgC/ha.
    trend : ndarray of shape (H, W)
        Planted AGBC trend (Theil-Sen slope of the noise-free series), MgC/ha/yr.
    disturbance_year : ndarray of shape (H, W)
        Year of the disturbance (NaN where none).
    density_growth : ndarray of shape (H, W)
        Relative carbon-density growth rate rho, 1/yr (0 outside the densification region).
    totals : DataFrame
        Per region and year: ``agbc_TgC``, ``bgbc_TgC``, ``total_TgC``.
    sink_TgC_per_yr : Series
        Least-squares slope of the true totals per region, TgC/yr.
    """

    agbc: np.ndarray
    bgbc: np.ndarray
    trend: np.ndarray
    disturbance_year: np.ndarray
    density_growth: np.ndarray
    totals: pd.DataFrame = field(repr=False)
    sink_TgC_per_yr: pd.Series = field(repr=False)


def _smooth(rng, shape, sigma):
    z = gaussian_filter(rng.standard_normal(shape), sigma, mode="reflect")
    return (z - z.mean()) / z.std()


def _pairwise_sen(a, t):
    """Theil-Sen slope along axis 0 by brute force (numpy; the truth, independent of the kernels)."""
    i, j = np.triu_indices(len(t), 1)
    sl = (a[j] - a[i]) / (t[j] - t[i])[:, None, None]
    return np.median(sl, axis=0)


def _f32(a):
    """``a`` as a C-contiguous float32 array."""
    return np.ascontiguousarray(a, dtype=np.float32)


# make_carbon_series, step by step: check the arguments, the regions and the base fields, the
# planted dynamics of each region, the observations (covers, VOD, benchmark), the BGB-AGB
# records, and the truth. The steps that draw random numbers are called in a fixed order, so a
# seed fixes the series.


def _check_series_args(n_years, start_year, shape, base_year, short_ratio):
    """Checked ``(H, W, years, base_year)`` of :func:`make_carbon_series` (``years``: the T
    calendar years).
    """
    T, (H, W) = int(n_years), (int(shape[0]), int(shape[1]))
    if T < 4:
        raise ValueError(f"n_years={n_years} must be >= 4 for a trend to be tested.")
    if H < 4 or W < 4:
        raise ValueError(f"shape={shape} must be at least 4 x 4 cells (four quadrant regions).")
    years = np.arange(int(start_year), int(start_year) + T)
    base_year = int(start_year + T // 2 + 1) if base_year is None else int(base_year)
    if base_year not in years:
        raise ValueError(f"base_year={base_year} is outside the series {years[0]}-{years[-1]}.")
    if not 0.0 <= short_ratio <= 1.0:
        raise ValueError(
            f"short_ratio={short_ratio} must be in [0, 1] (short vegetation per unit cover "
            "holds less carbon than trees)."
        )
    return H, W, years, base_year


def _quadrant_regions(H, W):
    """Region codes (int32, H x W): the quadrants NW 0, NE 1, SW 2, SE 3 (see REGION_NAMES)."""
    regions = np.empty((H, W), np.int32)
    regions[: H // 2, : W // 2], regions[: H // 2, W // 2 :] = 0, 1
    regions[H // 2 :, : W // 2], regions[H // 2 :, W // 2 :] = 2, 3
    return regions


def _base_fields(rng, regions, smooth):
    """``(d, tc0, sv0, mat, precip)``: carbon density at full cover (MgC/ha), first-year tree and
    short-vegetation cover (lower tree cover in the afforestation region), mean annual
    temperature (deg C, colder to the north) and precipitation (mm).
    """
    H, W = regions.shape
    d = np.clip(70.0 + 20.0 * _smooth(rng, (H, W), smooth), 30.0, 130.0)
    tc0 = 1.0 / (1.0 + np.exp(-(0.8 + 0.8 * _smooth(rng, (H, W), smooth))))
    tc0 = np.where(regions == 0, 0.15 + 0.3 * (tc0 - tc0.min()) / np.ptp(tc0), tc0)
    sv0 = (1.0 - tc0) * (0.3 + 0.4 / (1.0 + np.exp(-_smooth(rng, (H, W), smooth))))
    mat = 14.0 + 3.0 * _smooth(rng, (H, W), 2 * smooth) + np.linspace(-2, 2, H)[:, None]
    precip = 1200.0 + 300.0 * _smooth(rng, (H, W), 2 * smooth)
    return d, tc0, sv0, mat, precip


def _afforestation(rng, tc, sv, tc0, sv0, mask, k, smooth):
    """In ``mask``, tree cover grows by c in [0.004, 0.025] /yr (up to 0.95) and short
    vegetation gives way at c / 2; ``tc``, ``sv`` (T, H, W) changed in place.
    """
    c = np.clip(0.012 + 0.006 * _smooth(rng, mask.shape, smooth), 0.004, 0.025)
    tc[:, mask] = np.minimum(0.95, tc0 + c * k)[:, mask]
    sv[:, mask] = np.maximum(0.0, sv0 - 0.5 * c * k)[:, mask]


def _densification(rng, mask, k, b, smooth):
    """``(g, rho)``: carbon-density growth factor ``g_k = 1 + rho (k - b)`` (T, H, W) with rho in
    [0.01, 0.03] /yr in ``mask``; g = 1 and rho = 0 elsewhere.
    """
    g = np.ones((k.shape[0],) + mask.shape)
    rho = np.zeros(mask.shape)
    rho[mask] = np.clip(0.02 + 0.005 * _smooth(rng, mask.shape, smooth), 0.01, 0.03)[mask]
    g[:, mask] = (1.0 + rho * (k - b))[:, mask]
    return g, rho


def _disturbance_patches(H, W):
    """The two disc patches of the disturbance region (SW quadrant), boolean (H, W) masks."""
    rr, cc = np.mgrid[0:H, 0:W]
    r0, c0, rad = H // 2 + H // 4, W // 4, max(2.0, 0.11 * min(H, W))
    return [
        ((rr - (r0 - rad * 0.7)) ** 2 + (cc - (c0 - rad * 0.6)) ** 2 <= rad**2),
        ((rr - (r0 + rad * 0.9)) ** 2 + (cc - (c0 + rad * 0.9)) ** 2 <= (0.8 * rad) ** 2),
    ]


def _disturbance(rng, tc, tc0, mask, k, years, disturbance_years, smooth):
    """In ``mask``, tree cover degrades by e in [0.002, 0.012] /yr (down to 0.05) and the two
    patches keep only ``keep`` in [0.3, 0.6] of it from their year on; ``tc`` changed in place.
    Returns the disturbance year per cell (NaN where none).
    """
    decline = np.clip(0.006 + 0.002 * _smooth(rng, mask.shape, smooth), 0.002, 0.012)
    tc[:, mask] = np.maximum(0.05, tc0 - decline * k)[:, mask]
    dist_year = np.full(mask.shape, np.nan)
    keep = 0.3 + 0.3 * rng.uniform(size=mask.shape)
    for patch, yr in zip(_disturbance_patches(*mask.shape), disturbance_years):
        p = patch & mask & np.isnan(dist_year)
        kd = float(int(yr) - years[0])
        tc[:, p] = np.where(k >= kd, tc * keep, tc)[:, p]
        dist_year[p] = int(yr)
    return dist_year


def _planted_dynamics(rng, regions, tc0, sv0, years, b, smooth, disturbance_years):
    """``(tc, sv, g, rho, dist_year)``: true covers and density growth per year (T, H, W), the
    densification rate and the disturbance year (H, W), region by region.
    """
    T, (H, W) = len(years), regions.shape
    k = np.arange(T, dtype=float)[:, None, None]
    tc = np.broadcast_to(tc0, (T, H, W)).copy()
    sv = np.broadcast_to(sv0, (T, H, W)).copy()
    _afforestation(rng, tc, sv, tc0, sv0, regions == 0, k, smooth)
    g, rho = _densification(rng, regions == 1, k, b, smooth)
    dist_year = _disturbance(rng, tc, tc0, regions == 2, k, years, disturbance_years, smooth)
    return tc, sv, g, rho, dist_year


def _observations(rng, tc, sv, agbc, b, cover_noise, vod_noise):
    """``(tc_obs, sv_obs, vod, bench)``: covers with retrieval noise (clipped, ``TC + SV <= 1``),
    saturating VOD with noise, and the benchmark AGBC of base-year index ``b`` (5 % noise).
    """
    T, H, W = tc.shape
    tc_obs = np.clip(tc + cover_noise * rng.standard_normal((T, H, W)), 0.0, 1.0)
    sv_obs = np.clip(sv + cover_noise * rng.standard_normal((T, H, W)), 0.0, 1.0)
    sv_obs = np.minimum(sv_obs, 1.0 - tc_obs)
    vod = 0.1 + 0.8 * (1.0 - np.exp(-agbc / 120.0)) + vod_noise * rng.standard_normal((T, H, W))
    bench = agbc[b] * (1.0 + 0.05 * rng.standard_normal((H, W)))
    return tc_obs, sv_obs, vod, bench


def _bgb_records(rng, agbc_base, mat, precip, n_records, origin, cell_size):
    """In-situ BGB-AGB records at random points of random cells: base-year AGBC times
    lognormal(0, 0.15), BGBC by :func:`bgbc_law` times lognormal(0, 0.1) (MgC/ha).
    """
    H, W = agbc_base.shape
    cells = rng.integers(0, H * W, int(n_records))
    ri, ci = np.unravel_index(cells, (H, W))
    x = origin[0] + (ci + rng.uniform(size=cells.size)) * cell_size
    y = origin[1] + (H - ri - rng.uniform(size=cells.size)) * cell_size
    a_rec = agbc_base[ri, ci] * rng.lognormal(0.0, 0.15, cells.size)
    return pd.DataFrame(
        {
            "x": x,
            "y": y,
            "agbc": a_rec,
            "mat": mat[ri, ci],
            "map": precip[ri, ci],
            "bgbc": bgbc_law(a_rec, mat[ri, ci]) * rng.lognormal(0.0, 0.1, cells.size),
        }
    )


def _region_totals(agbc, bgbc, regions, years, area_ha):
    """True carbon per region and year: ``region``, ``year``, ``agbc_TgC``, ``bgbc_TgC``,
    ``total_TgC``.
    """
    rows = []
    for code, name in enumerate(REGION_NAMES):
        m = regions == code
        for i, yr in enumerate(years):
            a, bg = agbc[i][m].sum() * area_ha / 1e6, bgbc[i][m].sum() * area_ha / 1e6
            rows.append(
                {
                    "region": name,
                    "year": int(yr),
                    "agbc_TgC": a,
                    "bgbc_TgC": bg,
                    "total_TgC": a + bg,
                }
            )
    return pd.DataFrame(rows)


def _series_truth(agbc, bgbc, regions, years, area_ha, dist_year, rho):
    """The :class:`CarbonSeriesTruth`: totals, their least-squares sinks (TgC/yr) and the
    planted per-cell trend (Theil-Sen of the noise-free AGBC; exact zeros kept at 0).
    """
    totals = _region_totals(agbc, bgbc, regions, years, area_ha)
    tt = years - years.mean()
    sink = totals.groupby("region", sort=False)["total_TgC"].apply(
        lambda s: float(np.dot(tt, s.to_numpy()) / np.dot(tt, tt))
    )
    trend = _pairwise_sen(agbc, years.astype(float))
    trend[np.abs(trend) < 1e-12] = 0.0
    return CarbonSeriesTruth(
        agbc=_f32(agbc),
        bgbc=_f32(bgbc),
        trend=trend,
        disturbance_year=dist_year,
        density_growth=rho,
        totals=totals,
        sink_TgC_per_yr=sink.rename("sink_TgC_per_yr"),
    )


def make_carbon_series(
    n_years: int = 20,
    start_year: int = 2002,
    shape=(120, 120),
    *,
    cell_size: float = 1000.0,
    base_year: int | None = None,
    short_ratio: float = 0.1,
    cover_noise: float = 0.015,
    vod_noise: float = 0.01,
    n_records: int = 200,
    disturbance_years=(2009, 2016),
    smooth: float = 6.0,
    crs: str = _DEFAULT_CRS,
    origin=_DEFAULT_ORIGIN,
    random_state=None,
    return_truth: bool = False,
):
    """Synthetic annual stack of covers, VOD, a benchmark AGBC map and BGB records, with planted trends.

    The default mirrors the design of a national 1 km AGBC/BGBC series 2002-2021: a benchmark
    map of one base year, tree and short-vegetation cover fractions every year, VOD every year,
    and in-situ BGB-AGB pairs. See the module docstring for every generating equation.

    Parameters
    ----------
    n_years : int, default 20
    start_year : int, default 2002
    shape : (int, int), default (120, 120)
        Rows and columns; the four regions are its quadrants.
    cell_size : float, default 1000
        Cell side, metres (projected CRS).
    base_year : int, optional
        Year of the benchmark map; default ``start_year + n_years // 2 + 1`` (2013 for 2002-2021,
        the middle of a 2011-2015 field campaign).
    short_ratio : float, default 0.1
        Carbon density of short vegetation per unit cover relative to trees.
    cover_noise, vod_noise : float
        Standard deviation of the yearly retrieval noise of cover fractions and of VOD.
    n_records : int, default 200
        BGB-AGB records.
    disturbance_years : (int, int)
        Years of the two disturbances (first year with the reduced cover).
    smooth : float, default 6
        Smoothness (Gaussian filter sigma, cells) of the random fields.
    crs : str, default "EPSG:32648"
    origin : (float, float)
        Lower-left corner, metres.
    random_state : int, Generator, RandomState or None
    return_truth : bool, default False
        Also return a :class:`CarbonSeriesTruth`.

    Returns
    -------
    CarbonSeries, or (CarbonSeries, CarbonSeriesTruth) with ``return_truth=True``.

    References
    ----------
    Feng, X. (data contributor). Maps with 1 km resolution reveal increases in above- and
    belowground forest biomass carbon pools in China over the past 20 years (dataset, 2002-2021,
    CC BY 4.0). National Cryosphere Desert Data Center, CSTR 11738.11.NCDC.FIGSHARE.DB6534.2024.

    Examples
    --------
    >>> s, truth = make_carbon_series(shape=(20, 20), random_state=0, return_truth=True)
    >>> s.tree_cover.shape, s.base_year, s.region_names[1]
    ((20, 20, 20), 2013, 'densification')
    >>> float(truth.trend[s.regions == 3].max())            # the stable region: no trend
    0.0
    """
    rng = check_generator(random_state)
    H, W, years, base_year = _check_series_args(n_years, start_year, shape, base_year, short_ratio)
    b = int(base_year - years[0])
    regions = _quadrant_regions(H, W)
    d, tc0, sv0, mat, precip = _base_fields(rng, regions, smooth)
    tc, sv, g, rho, dist_year = _planted_dynamics(
        rng, regions, tc0, sv0, years, b, smooth, disturbance_years
    )
    agbc = d * (tc + short_ratio * sv) * g
    bgbc = bgbc_law(agbc, mat)
    tc_obs, sv_obs, vod, bench = _observations(rng, tc, sv, agbc, b, cover_noise, vod_noise)
    records = _bgb_records(rng, agbc[b], mat, precip, n_records, origin, cell_size)

    series = CarbonSeries(
        years=years,
        tree_cover=_f32(tc_obs),
        short_cover=_f32(sv_obs),
        vod=_f32(vod),
        benchmark=_f32(bench),
        benchmark_sd=_f32(0.1 * bench),
        base_year=base_year,
        covariates={"mat": _f32(mat), "map": _f32(precip)},
        records=records,
        regions=regions,
        region_names=list(REGION_NAMES),
        transform=Affine(cell_size, 0.0, origin[0], 0.0, -cell_size, origin[1] + H * cell_size),
        crs=crs,
        short_ratio=float(short_ratio),
    )
    if not return_truth:
        return series
    truth = _series_truth(agbc, bgbc, regions, years, series.cell_area_ha, dist_year, rho)
    return series, truth
