"""Carbon accounting from AGB maps: stocks, sinks, zonal statistics and AGB class frequencies.

Units. A map holds AGB density in Mg/ha (band ``agb``) and optionally its standard deviation
(band ``agb_std``, Mg/ha). A cell of area ``A`` ha holds ``AGB * A`` Mg of biomass and
``AGB * A * carbon_fraction`` MgC; with a root:shoot ratio ``R`` the belowground carbon adds
``R`` times the aboveground carbon. Totals are given in MgC, TgC (1e6 Mg) and PgC (1e9 Mg);
sinks in TgC per year.

Uncertainty of a total from the per-cell standard deviations ``s_i``: with independent cell
errors ``sd = sqrt(sum (s_i c A)^2)``; with fully correlated errors (an upper bound, closer to
reality for model errors that are spatially autocorrelated) ``sd = sum s_i c A``. Both are given.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._compat import renamed_kwargs
from ..applicability import AOAMask
from ..raster import (
    ZonalAccumulator,
    cell_area_ha,
    find_band,
    make_zones,
    map_windows,
    open_map,
    same_grid,
)

__all__ = ["carbon_stock", "carbon_sink", "zonal_statistics", "agb_class_frequencies"]

#: AGB classes of FineKarstAGB Fig. 9c (Mg/ha), left-closed.
DEFAULT_CLASS_EDGES = (0.0, 50.0, 100.0, 150.0, 200.0, 250.0, np.inf)


def _band_index(ds, band, what="band") -> int:
    if isinstance(band, str):
        idx = find_band(ds, band)
        if idx is None:
            if band == "agb" and ds.count >= 1:
                return 1  # an AGB map without band descriptions: its first band
            raise ValueError(
                f"{ds.name} has no band described {band!r} (descriptions: {list(ds.descriptions)}); "
                f"pass {what}=<1-based band number> instead."
            )
        return idx
    if not 1 <= int(band) <= ds.count:
        raise ValueError(
            f"{what}={band} is out of range for {ds.name}, which has {ds.count} band(s)."
        )
    return int(band)


def _check_factors(carbon_fraction, root_shoot) -> tuple[float, float]:
    cf = float(carbon_fraction)
    if not 0.0 < cf <= 1.0:
        raise ValueError(
            f"carbon_fraction={carbon_fraction} must be in (0, 1]; the IPCC default for wood is "
            "0.47 (species values 0.45-0.53)."
        )
    rs = 0.0 if root_shoot is None else float(root_shoot)
    if rs < 0:
        raise ValueError(
            f"root_shoot={root_shoot} must be >= 0 (e.g. 0.35 as in the Tibet ResNet study) or None."
        )
    return cf, rs


def _read_valid(ds, win, idx):
    a = ds.read(idx, window=win, out_dtype=np.float64)
    nd = ds.nodatavals[idx - 1]
    if nd is not None and not np.isnan(nd):
        a[a == nd] = np.nan
    return a


def _finish(df: pd.DataFrame, zones, total: bool) -> pd.DataFrame:
    df.index = pd.Index([zones.name(c) for c in df.index], name="region")
    if total and len(df) > 1:
        tot = df.sum(numeric_only=True)
        df = pd.concat([df, tot.to_frame("total").T])
        df.index.name = "region"
    return df


def zonal_statistics(
    raster, regions=None, *, band=1, by: str | None = None, edges=None
) -> pd.DataFrame:
    """Statistics of a raster band per region or per elevation band.

    Parameters
    ----------
    raster : str or Path
        Raster file (e.g. an AGB map, Mg/ha).
    regions : None, GeoDataFrame, raster path, or integer array, optional
        Zones, see :mod:`geoagb.raster` (``make_zones``): polygons (with ``by`` naming the region
        column), a zone-code raster, or a continuous raster (a DEM) binned by ``edges``.
    band : int or str, default 1
        Band number (1-based) or description (e.g. ``"agb_std"``).
    by : str, optional
        Column of ``regions`` naming the regions (default: the index).
    edges : sequence of float, optional
        Class edges for a continuous zone raster, e.g. ``[0, 500, 1000, 2000]`` metres of
        elevation; classes are left-closed ``[lo, hi)``.

    Returns
    -------
    DataFrame indexed by region with columns n_cells, area_ha, mean, sd, min, max, sum
    (statistics of the valid cells; ``sd`` with ddof=0).

    Examples
    --------
    >>> import numpy as np, rasterio, tempfile, os
    >>> from rasterio.transform import from_origin
    >>> p = os.path.join(tempfile.mkdtemp(), "agb.tif")
    >>> with rasterio.open(p, "w", driver="GTiff", width=4, height=2, count=1, dtype="float32",
    ...                    crs="EPSG:32648", transform=from_origin(0, 60, 30, 30), nodata=-1) as ds:
    ...     ds.write(np.array([[[10, 20, 30, -1], [40, 50, 60, 70]]], dtype="float32"))
    >>> zones = np.array([[0, 0, 1, 1], [0, 0, 1, 1]])
    >>> z = zonal_statistics(p, zones)       # zone 1 has a nodata cell
    >>> z.loc["1", ["n_cells", "area_ha", "mean", "max"]].round(2).tolist()
    [3.0, 0.27, 53.33, 70.0]
    """
    with open_map(raster) as ds:
        idx = _band_index(ds, band)
        zones = make_zones(regions, ds.crs, by=by, edges=edges)
        area = cell_area_ha(ds) if ds.crs is not None else np.nan
        acc = ZonalAccumulator(sums=("v", "v2"), extremes=("v",))
        for win in map_windows(ds):
            v = _read_valid(ds, win, idx)
            codes = zones.codes(win, ds.window_transform(win), v.shape)
            ok = np.isfinite(v) & (codes >= 0)
            acc.add(codes[ok], v=v[ok], v2=v[ok] ** 2)
    t = acc.frame(zones.order())
    n = t["n"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = t["v_sum"] / n
        var = np.maximum(t["v2_sum"] / n - mean**2, 0.0)
    df = pd.DataFrame(
        {
            "n_cells": n,
            "area_ha": n * area,
            "mean": mean,
            "sd": np.sqrt(var),
            "min": t["v_min"],
            "max": t["v_max"],
            "sum": t["v_sum"],
        },
        index=t.index,
    )
    return _finish(df, zones, total=False)


def carbon_stock(
    agb_raster,
    regions=None,
    carbon_fraction: float = 0.47,
    root_shoot: float | None = None,
    *,
    by: str | None = None,
    edges=None,
    band="agb",
    std_band="agb_std",
    aoa=None,
) -> pd.DataFrame:
    """Carbon stock (MgC, TgC, PgC) per region from an AGB map, with its uncertainty.

    Parameters
    ----------
    agb_raster : str, Path, or xarray DataArray / Dataset
        AGB map (Mg/ha) in a projected CRS in metres, e.g. written by :func:`predict_raster`
        or returned by :func:`predict_xarray` (bands found by name as in a GeoTIFF).
    regions : None, GeoDataFrame, raster path, or integer array, optional
        Zones (see :func:`zonal_statistics`). None: the whole map.
    carbon_fraction : float, default 0.47
        Carbon content of dry biomass (IPCC default 0.47; species tables 0.45-0.53).
    root_shoot : float, optional
        Root:shoot ratio; when given the stock includes belowground carbon = ``root_shoot`` x
        aboveground carbon (the Tibet ResNet study used 0.35).
    by, edges : optional
        See :func:`zonal_statistics`.
    band, std_band : str or int
        AGB band and its standard-deviation band (skipped when the map has none).
    aoa : True, str, int, path or (path, band), optional
        Count only cells inside the area of applicability: True uses the map's own ``aoa`` band
        (``predict_raster(..., applicability=...)``), or give a band of the map or an AOA raster
        on its grid (1 = inside). Adds outside_aoa_area_ha, outside_aoa_pct (share of the mapped
        area outside the AOA, %) and outside_aoa_stock_MgC (the carbon left out).

    Returns
    -------
    DataFrame indexed by region (plus a ``total`` row when there are several regions) with
    n_cells, area_ha, mean_agb_Mg_ha, density_MgC_ha, aboveground_MgC, belowground_MgC,
    stock_MgC, stock_TgC, stock_PgC and, with a std band, stock_sd_MgC (independent cell
    errors) and stock_sd_MgC_correlated (fully correlated errors, an upper bound). The ``total``
    row's sd columns are sums over regions (the correlated bound; the independent sd of the total
    is the square root of the sum of squares).

    References
    ----------
    The Tibet ResNet study: carbon stock (PgC) and sink (TgC/yr) by elevation band; root:shoot 0.35.
    FineKarstAGB: provincial AGB statistics.

    Examples
    --------
    >>> import numpy as np, rasterio, tempfile, os
    >>> from rasterio.transform import from_origin
    >>> p = os.path.join(tempfile.mkdtemp(), "agb.tif")
    >>> with rasterio.open(p, "w", driver="GTiff", width=2, height=1, count=1, dtype="float32",
    ...                    crs="EPSG:32648", transform=from_origin(0, 100, 100, 100)) as ds:
    ...     ds.write(np.array([[[100.0, 200.0]]], dtype="float32"))
    >>> s = carbon_stock(p)     # 2 cells of 1 ha: (100 + 200) Mg * 0.47 = 141 MgC
    >>> float(s.loc["all", "stock_MgC"])
    141.0
    """
    cf, rs = _check_factors(carbon_fraction, root_shoot)
    with open_map(agb_raster) as ds:
        idx = _band_index(ds, band)
        sidx = (
            find_band(ds, std_band)
            if isinstance(std_band, str)
            else _band_index(ds, std_band, "std_band")
        )
        zones = make_zones(regions, ds.crs, by=by, edges=edges)
        area = cell_area_ha(ds)
        sums = ("agb",) + (("sd", "sd2") if sidx else ())
        acc = ZonalAccumulator(sums=sums)
        if aoa is not None:  # keep cells inside the area of applicability (geoagb.applicability)
            aoa_mask, acc_out = AOAMask(ds, aoa), ZonalAccumulator(sums=("agb",))
        for win in map_windows(ds):
            a = _read_valid(ds, win, idx)
            codes = zones.codes(win, ds.window_transform(win), a.shape)
            ok = np.isfinite(a) & (codes >= 0)
            if aoa is not None:
                inside = aoa_mask.read(win)
                acc_out.add(codes[ok & ~inside], agb=a[ok & ~inside])
                ok &= inside
            vals = {"agb": a[ok]}
            if sidx:
                s = np.nan_to_num(_read_valid(ds, win, sidx)[ok])
                vals.update(sd=s, sd2=s**2)
            acc.add(codes[ok], **vals)
    t = acc.frame(zones.order())
    n = t["n"].to_numpy()
    above = t["agb_sum"].to_numpy() * area * cf
    below = above * rs
    stock = above + below
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_agb = t["agb_sum"].to_numpy() / n
    df = pd.DataFrame(
        {
            "n_cells": n,
            "area_ha": n * area,
            "mean_agb_Mg_ha": mean_agb,
            "density_MgC_ha": mean_agb * cf * (1.0 + rs),
            "aboveground_MgC": above,
            "belowground_MgC": below,
            "stock_MgC": stock,
            "stock_TgC": stock / 1e6,
            "stock_PgC": stock / 1e9,
        },
        index=t.index,
    )
    if sidx:
        k = area * cf * (1.0 + rs)
        df["stock_sd_MgC"] = np.sqrt(t["sd2_sum"].to_numpy()) * k
        df["stock_sd_MgC_correlated"] = t["sd_sum"].to_numpy() * k
    if aoa is not None:
        aoa_mask.close()
        out = acc_out.frame(zones.order()).reindex(t.index, fill_value=0.0)
        n_out = out["n"].to_numpy()
        df["outside_aoa_area_ha"] = n_out * area
        with np.errstate(invalid="ignore", divide="ignore"):
            df["outside_aoa_pct"] = 100.0 * n_out / (n + n_out)
        df["outside_aoa_stock_MgC"] = out["agb_sum"].to_numpy() * area * cf * (1.0 + rs)
    df = _finish(df, zones, total=regions is not None)
    if "total" in df.index:
        tot = df.loc["total"]
        df.loc["total", "mean_agb_Mg_ha"] = tot["aboveground_MgC"] / (area * cf) / tot["n_cells"]
        df.loc["total", "density_MgC_ha"] = tot["stock_MgC"] / tot["area_ha"]
        if sidx:
            df.loc["total", "stock_sd_MgC"] = float(
                np.sqrt((df["stock_sd_MgC"].drop("total") ** 2).sum())
            )
        if aoa is not None:
            df.loc["total", "outside_aoa_pct"] = (
                100.0 * tot["outside_aoa_area_ha"] / (tot["area_ha"] + tot["outside_aoa_area_ha"])
            )
    return df


def _years(years) -> float:
    if isinstance(years, (tuple, list)):
        if len(years) != 2:
            raise ValueError(
                f"years={years} must be a number of years or a pair (year_t0, year_t1)."
            )
        dt = float(years[1]) - float(years[0])
    else:
        dt = float(years)
    if not dt > 0:
        raise ValueError(
            f"years={years} gives {dt} years between the maps; it must be > 0 (t1 after t0)."
        )
    return dt


@renamed_kwargs({"map_t0": "agb_raster_t0", "map_t1": "agb_raster_t1"})
def carbon_sink(
    agb_raster_t0,
    agb_raster_t1,
    years,
    regions=None,
    carbon_fraction: float = 0.47,
    root_shoot: float | None = None,
    *,
    by: str | None = None,
    edges=None,
    band="agb",
    std_band="agb_std",
) -> pd.DataFrame:
    """Carbon sink (TgC per year) between two AGB maps on the same grid, per region.

    Only cells mapped on both dates count, so a change in the mapped area is not read as a
    change in carbon. A positive sink is a gain of carbon.

    Parameters
    ----------
    agb_raster_t0, agb_raster_t1 : str or Path
        AGB maps (Mg/ha) of the two dates, on the same grid.
    years : float or (year_t0, year_t1)
        Time between the maps, years.
    regions, carbon_fraction, root_shoot, by, edges, band, std_band
        As in :func:`carbon_stock`.

    Returns
    -------
    DataFrame indexed by region (plus ``total``) with n_cells, area_ha, stock_t0_TgC,
    stock_t1_TgC, change_TgC, sink_TgC_per_yr, density_change_MgC_ha_yr and, when both maps
    have std bands, sink_sd_TgC_per_yr (independent errors between cells and dates).

    References
    ----------
    The Tibet ResNet study: forest biomass carbon sink over Tibet 2015-2020 (3.35 +- 0.08 TgC/yr).

    Examples
    --------
    >>> import numpy as np, rasterio, tempfile, os
    >>> from rasterio.transform import from_origin
    >>> d = tempfile.mkdtemp()
    >>> for name, v in [("t0.tif", 100.0), ("t1.tif", 110.0)]:
    ...     with rasterio.open(os.path.join(d, name), "w", driver="GTiff", width=10, height=10,
    ...                        count=1, dtype="float32", crs="EPSG:32648",
    ...                        transform=from_origin(0, 1000, 100, 100)) as ds:
    ...         ds.write(np.full((1, 10, 10), v, dtype="float32"))
    >>> s = carbon_sink(os.path.join(d, "t0.tif"), os.path.join(d, "t1.tif"), years=(2015, 2020))
    >>> round(float(s.loc["all", "sink_TgC_per_yr"]) * 1e6, 6)  # 100 ha * 10 Mg/ha * 0.47 / 5 yr
    94.0
    """
    cf, rs = _check_factors(carbon_fraction, root_shoot)
    dt = _years(years)
    with open_map(agb_raster_t0) as d0, open_map(agb_raster_t1) as d1:
        g0 = dict(crs=d0.crs, transform=d0.transform, width=d0.width, height=d0.height)
        g1 = dict(crs=d1.crs, transform=d1.transform, width=d1.width, height=d1.height)
        if not same_grid(g0, g1):
            raise ValueError(
                f"the two maps are on different grids ({d0.width}x{d0.height} vs {d1.width}x{d1.height}, "
                "or transform/CRS differ); map both dates with the same features grid and resolution, "
                "or warp one onto the other (rasterio.warp.reproject) before computing a sink."
            )
        i0, i1 = _band_index(d0, band), _band_index(d1, band)
        s0 = find_band(d0, std_band) if isinstance(std_band, str) else int(std_band)
        s1 = find_band(d1, std_band) if isinstance(std_band, str) else int(std_band)
        with_sd = bool(s0 and s1)
        zones = make_zones(regions, d0.crs, by=by, edges=edges)
        area = cell_area_ha(d0)
        acc = ZonalAccumulator(sums=("a0", "a1") + (("var",) if with_sd else ()))
        for win in map_windows(d0):
            a0, a1 = _read_valid(d0, win, i0), _read_valid(d1, win, i1)
            codes = zones.codes(win, d0.window_transform(win), a0.shape)
            ok = np.isfinite(a0) & np.isfinite(a1) & (codes >= 0)
            vals = {"a0": a0[ok], "a1": a1[ok]}
            if with_sd:
                vals["var"] = (
                    np.nan_to_num(_read_valid(d0, win, s0)[ok]) ** 2
                    + np.nan_to_num(_read_valid(d1, win, s1)[ok]) ** 2
                )
            acc.add(codes[ok], **vals)
    t = acc.frame(zones.order())
    k = area * cf * (1.0 + rs)
    n = t["n"].to_numpy()
    st0, st1 = t["a0_sum"].to_numpy() * k / 1e6, t["a1_sum"].to_numpy() * k / 1e6
    df = pd.DataFrame(
        {
            "n_cells": n,
            "area_ha": n * area,
            "stock_t0_TgC": st0,
            "stock_t1_TgC": st1,
            "change_TgC": st1 - st0,
            "sink_TgC_per_yr": (st1 - st0) / dt,
        },
        index=t.index,
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        df["density_change_MgC_ha_yr"] = (st1 - st0) * 1e6 / (n * area) / dt
    if with_sd:
        df["sink_sd_TgC_per_yr"] = np.sqrt(t["var_sum"].to_numpy()) * k / 1e6 / dt
    df = _finish(df, zones, total=regions is not None)
    if "total" in df.index:
        tot = df.loc["total"]
        df.loc["total", "density_change_MgC_ha_yr"] = tot["change_TgC"] * 1e6 / tot["area_ha"] / dt
        if with_sd:
            df.loc["total", "sink_sd_TgC_per_yr"] = float(
                np.sqrt((df["sink_sd_TgC_per_yr"].drop("total") ** 2).sum())
            )
    return df


def agb_class_frequencies(agb_raster, bins=DEFAULT_CLASS_EDGES, *, band="agb") -> pd.DataFrame:
    """Area and AGB share of each AGB class (FineKarstAGB Fig. 9c).

    Parameters
    ----------
    agb_raster : str or Path
        AGB map (Mg/ha).
    bins : sequence of float, default (0, 50, 100, 150, 200, 250, inf)
        Class edges, Mg/ha; classes are left-closed ``[lo, hi)``. Cells outside the edges are
        counted in a last row ``"outside"`` when there are any.
    band : str or int, default "agb"

    Returns
    -------
    DataFrame indexed by class label with n_cells, area_ha, area_pct (share of the mapped area,
    %), mean_agb_Mg_ha and agb_pct (share of the total biomass, %).

    Examples
    --------
    >>> import numpy as np, rasterio, tempfile, os
    >>> from rasterio.transform import from_origin
    >>> p = os.path.join(tempfile.mkdtemp(), "agb.tif")
    >>> with rasterio.open(p, "w", driver="GTiff", width=4, height=1, count=1, dtype="float32",
    ...                    crs="EPSG:32648", transform=from_origin(0, 30, 30, 30)) as ds:
    ...     ds.write(np.array([[[20, 60, 80, 140]]], dtype="float32"))
    >>> agb_class_frequencies(p, bins=[0, 50, 100, 150])["area_pct"].tolist()
    [25.0, 50.0, 25.0]
    """
    e = np.asarray(bins, dtype=float)
    if e.ndim != 1 or e.size < 2 or np.any(np.diff(e) <= 0):
        raise ValueError(
            f"bins={list(bins)} must be increasing class edges (at least two), e.g. [0, 50, 100]."
        )
    labels = [f">={lo:g}" if np.isinf(hi) else f"{lo:g}-{hi:g}" for lo, hi in zip(e[:-1], e[1:])]
    with open_map(agb_raster) as ds:
        idx = _band_index(ds, band)
        area = cell_area_ha(ds) if ds.crs is not None else np.nan
        acc = ZonalAccumulator(sums=("agb",))
        for win in map_windows(ds):
            a = _read_valid(ds, win, idx)
            a = a[np.isfinite(a)]
            code = np.searchsorted(e, a, side="right") - 1
            code[(a < e[0]) | (a >= e[-1])] = len(labels)
            acc.add(code, agb=a)
    t = acc.frame(list(range(len(labels))))
    names = labels + ["outside"]
    n = t["n"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        df = pd.DataFrame(
            {
                "n_cells": n,
                "area_ha": n * area,
                "area_pct": 100.0 * n / n.sum(),
                "mean_agb_Mg_ha": t["agb_sum"].to_numpy() / n,
                "agb_pct": 100.0 * t["agb_sum"].to_numpy() / t["agb_sum"].sum(),
            },
            index=pd.Index([names[c] for c in t.index], name="agb_class"),
        )
    return df
