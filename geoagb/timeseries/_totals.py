"""Annual carbon totals per region and the carbon sink as the slope of the totals.

Totals. A cell of area ``A`` ha with AGBC ``a`` and BGBC ``b`` (MgC/ha) holds ``(a + b) A`` MgC;
totals are in TgC (1e6 MgC). Only cells with AGBC (and BGBC, when given) in that year count. With
per-cell standard deviations ``s_a``, ``s_b`` the cell's sd is ``s_a + s_b`` (belowground carbon is
predicted from aboveground carbon, so their errors add); the sd of a total is given for
independent cell errors, ``sqrt(sum (s A)^2)``, and for fully correlated ones, ``sum s A`` (an
upper bound, closer to spatially autocorrelated model errors), as in
:func:`geoagb.mapping.carbon_stock`.

Sink. The sink of a region is the least-squares slope ``beta`` of its totals ``Y_t`` on the years
(TgC/yr, positive = uptake), with the t-based confidence interval ``beta +- t_{1-alpha/2, n-2}
se``. Map errors propagate into the slope through its weights ``w_t = (t - tbar) / sum (t -
tbar)^2``: ``sqrt(sum w_t^2 sd_t^2)`` when the yearly errors are independent, ``|sum w_t sd_t|``
when they are one error repeated every year; with the sd of fully correlated cell errors the
latter is the effect of one error shared by every cell and year (a biased benchmark: the sink is
then off by the same fraction as the stock). The Theil-Sen slope with its
confidence interval (Sen 1968) and the Mann-Kendall p-value give a robust check.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats
from tqdm.auto import tqdm

from .. import raster
from .._progress import progress_disabled
from ..raster import make_zones, plan_windows, window_size_for_budget
from ._stack import StackSource, align_years, companion, make_grid, window_transform, year_span
from ._trend import mann_kendall

__all__ = ["annual_totals", "carbon_sink_trend", "MIN_SINK_YEARS"]

#: Fewest years with a finite total for a sink: the slope's t interval has n - 2 degrees of freedom.
MIN_SINK_YEARS = 3

_SINK_COLUMNS = (
    "n_years",
    "sink_TgC_per_yr",
    "sink_se",
    "ci_low",
    "ci_high",
    "p_value",
    "theil_sen_TgC_per_yr",
    "theil_sen_ci_low",
    "theil_sen_ci_high",
    "mk_p_value",
)


def annual_totals(
    agbc,
    bgbc=None,
    *,
    regions=None,
    region_names=None,
    years=None,
    align: str = "exact",
    agbc_sd=None,
    bgbc_sd=None,
    transform=None,
    crs=None,
    cell_area_ha: float | None = None,
    memory_mb: float = 256.0,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Carbon stock (AGBC + BGBC, TgC) per region and year, with its uncertainty.

    Parameters
    ----------
    agbc : ndarray (T, H, W), str or Path
        Annual AGBC maps, MgC/ha.
    bgbc : ndarray (T, H, W), str or Path, optional
        Annual BGBC maps, MgC/ha, same grid and years (see ``align``).
    regions : int ndarray (H, W), raster path or GeoDataFrame, optional
        Zones as in :func:`geoagb.mapping.zonal_statistics` (negative codes: no region).
    region_names : sequence of str, optional
        Names of the codes 0, 1, ... of an integer array.
    years : sequence of int, optional
        Years of the layers of every stack that does not carry its own: arrays, and files whose
        band descriptions are not years. Default: the band descriptions of each file, else
        0..T-1 for arrays. A file without year descriptions is refused unless ``years`` is given.
    align : {"exact", "intersect"}, default "exact"
        Stacks with years of their own (files) are paired year by year, never by position.
        ``"exact"``: they must hold the same years as ``agbc`` (else a ValueError naming both
        ranges); ``"intersect"``: only the years held by every stack are totalled.
    agbc_sd, bgbc_sd : ndarray (T, H, W), str, Path or float, optional
        Per-cell standard deviations, MgC/ha; a number applies to every cell (e.g. the
        cross-validated RMSE of the BGBC model, :func:`evaluate_belowground`). Stacks are paired
        with ``agbc`` year by year as ``bgbc``.
    transform, crs : optional
        Grid of in-memory arrays (the cell area comes from it).
    cell_area_ha : float, optional
        Cell area, hectares, overriding the grid's.
    memory_mb : float, default 256
    progress : bool or None, default None

    Returns ``None``: only when stderr is a terminal.
    -------
    DataFrame, one row per region and year (plus region ``"all"`` when there are several): n_cells,
    area_ha, agbc_TgC, bgbc_TgC, total_TgC, density_MgC_ha and, with sds, total_sd_TgC
    (independent cells) and total_sd_TgC_correlated.

    Examples
    --------
    >>> import numpy as np
    >>> a = np.full((2, 2, 2), 50.0); a[1] += 10                # MgC/ha, 2 years, 4 cells of 100 ha
    >>> t = annual_totals(a, 0.25 * a, years=[2020, 2021], cell_area_ha=100.0)
    >>> t["total_TgC"].round(6).tolist()                         # 4 x 100 ha x 62.5 MgC/ha
    [0.025, 0.03]
    """
    if align not in ("exact", "intersect"):
        raise ValueError(
            f"align={align!r} is not one of ('exact', 'intersect'): 'exact' refuses stacks of "
            "different years, 'intersect' totals only the years they share."
        )
    src = StackSource(agbc, years, transform=transform, crs=crs, name="agbc")
    src.require_years()
    others, const_sd = _companions(src, bgbc, agbc_sd, bgbc_sd, years_given=years is not None)
    yrs, layers = align_years(
        src,
        list(others.values()),
        intersect=align == "intersect",
        fix="cut them to the same years first, or pass align='intersect' to total only the "
        "common years.",
    )
    area = _cell_area(src, cell_area_ha)
    zones = make_zones(regions, src.crs)
    with_sd = (
        "agbc_sd" in others or "bgbc_sd" in others or agbc_sd is not None or bgbc_sd is not None
    )
    sums = _zonal_sums(src, others, layers, const_sd, zones, len(yrs), memory_mb, progress)
    order = zones.order()
    codes_all = sorted({c for c, _ in sums}) if order is None else list(order)
    df = _region_rows(sums, codes_all, zones, region_names, yrs, area, with_sd)
    if len(codes_all) > 1:
        df = _append_all_regions(df, with_sd)
    return df


# ---- the steps of annual_totals -------------------------------------------------------------------
_SUM_KEYS = ("a", "b", "s", "s2")


def _companions(src: StackSource, bgbc, agbc_sd, bgbc_sd, *, years_given: bool):
    """The stacks read along ``agbc`` (key -> StackSource) and the sum of the constant sds."""
    others, const_sd = {}, 0.0
    for key, val in (("bgbc", bgbc), ("agbc_sd", agbc_sd), ("bgbc_sd", bgbc_sd)):
        if key != "bgbc" and isinstance(val, (int, float, np.number)):
            if not (np.isfinite(val) and val >= 0):
                raise ValueError(f"{key}={val} must be a standard deviation >= 0 (MgC/ha).")
            const_sd += float(val)
            continue
        if val is not None:
            others[key] = companion(val, src, name=key, years_given=years_given)
    return others, const_sd


def _cell_area(src: StackSource, cell_area_ha: float | None) -> float:
    """Cell area, hectares: ``cell_area_ha`` or that of the grid of ``src``."""
    if cell_area_ha is not None:
        return float(cell_area_ha)
    if src.transform is None:
        raise ValueError(
            "the cell area is unknown: pass transform= and crs= (a projected CRS in metres) "
            "or cell_area_ha=."
        )
    # the parameter cell_area_ha shadows the helper of the same name
    return raster.cell_area_ha(make_grid(src.transform, src.crs, 1, 1))


def _read_window(src: StackSource, others: dict, layers: dict, const_sd: float, win):
    """AGBC, BGBC (zeros without) and cell sd of window ``win``, each (T, h, w) float64."""
    a = src.read(win, layers["agbc"]).astype(np.float64)
    b = (
        others["bgbc"].read(win, layers["bgbc"]).astype(np.float64)
        if "bgbc" in others
        else np.zeros_like(a)
    )
    s = np.full_like(a, const_sd)
    for k in ("agbc_sd", "bgbc_sd"):
        if k in others:
            s += np.nan_to_num(others[k].read(win, layers[k]).astype(np.float64))
    return a, b, s


def _add_window(sums: dict, a, b, s, codes, T: int) -> None:
    """Add the cells of one window to ``sums[(code, year index)]`` (n, a, b, s, s2)."""
    for i in range(T):
        ok = np.isfinite(a[i]) & np.isfinite(b[i]) & (codes >= 0)
        if not ok.any():
            continue
        c = codes[ok]
        u, inv = np.unique(c, return_inverse=True)
        vals = {"a": a[i][ok], "b": b[i][ok], "s": s[i][ok], "s2": s[i][ok] ** 2}
        n = np.bincount(inv, minlength=u.size)
        part = {k: np.bincount(inv, weights=v, minlength=u.size) for k, v in vals.items()}
        for j, code in enumerate(u.tolist()):
            row = sums.setdefault((code, i), dict.fromkeys(("n",) + _SUM_KEYS, 0.0))
            row["n"] += n[j]
            for k in _SUM_KEYS:
                row[k] += part[k][j]


def _zonal_sums(src, others, layers, const_sd, zones, T, memory_mb, progress) -> dict:
    """Sums per (region code, year index) over the windows of the map."""
    (H, W) = src.shape
    side = window_size_for_budget(T * 4 * (1 + len(others)) + 16, memory_mb)
    sums: dict = {}
    for win in tqdm(
        plan_windows(W, H, side), desc="totals", disable=progress_disabled(progress), leave=False
    ):
        a, b, s = _read_window(src, others, layers, const_sd, win)
        wt = None if src.transform is None else window_transform(win, src.transform)
        codes = zones.codes(win, wt, a.shape[1:])
        _add_window(sums, a, b, s, codes, T)
    return sums


def _region_rows(sums, codes_all, zones, region_names, yrs, area, with_sd) -> pd.DataFrame:
    """One row per region (non-negative code) and year."""
    rows = []
    for code in codes_all:
        if code < 0:
            continue
        name = (
            str(region_names[code])
            if region_names is not None and code < len(region_names)
            else zones.name(code)
        )
        for i in range(len(yrs)):
            r = sums.get((code, i), dict.fromkeys(("n",) + _SUM_KEYS, 0.0))
            rows.append(_row(name, yrs[i], r, area, with_sd))
    return pd.DataFrame(rows)


def _append_all_regions(df: pd.DataFrame, with_sd: bool) -> pd.DataFrame:
    """``df`` with the rows of region ``"all"`` (the sum of the regions) appended."""
    g = df.groupby("year", sort=True)
    tot = g[["n_cells", "area_ha", "agbc_TgC", "bgbc_TgC", "total_TgC"]].sum().reset_index()
    tot.insert(0, "region", "all")
    tot["density_MgC_ha"] = tot["total_TgC"] * 1e6 / tot["area_ha"]
    if with_sd:
        tot["total_sd_TgC"] = (
            g["total_sd_TgC"].apply(lambda v: float(np.sqrt((v**2).sum()))).to_numpy()
        )
        tot["total_sd_TgC_correlated"] = g["total_sd_TgC_correlated"].sum().to_numpy()
    return pd.concat([df, tot[df.columns]], ignore_index=True)


def _row(name, year, r, area, with_sd):
    out = {
        "region": name,
        "year": int(year),
        "n_cells": int(r["n"]),
        "area_ha": r["n"] * area,
        "agbc_TgC": r["a"] * area / 1e6,
        "bgbc_TgC": r["b"] * area / 1e6,
        "total_TgC": (r["a"] + r["b"]) * area / 1e6,
    }
    out["density_MgC_ha"] = (r["a"] + r["b"]) / r["n"] if r["n"] else np.nan
    if with_sd:
        out["total_sd_TgC"] = np.sqrt(r["s2"]) * area / 1e6
        out["total_sd_TgC_correlated"] = r["s"] * area / 1e6
    return out


def carbon_sink_trend(
    totals: pd.DataFrame,
    column: str = "total_TgC",
    *,
    sd_column: str | None = "total_sd_TgC",
    sd_correlated_column: str | None = "total_sd_TgC_correlated",
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Carbon sink per region: the slope of the annual totals (TgC/yr) with its confidence interval.

    Parameters
    ----------
    totals : DataFrame
        Long table with ``region``, ``year`` and ``column`` (e.g. from :func:`annual_totals`).
    column : str, default "total_TgC"
        Totals to regress (``"agbc_TgC"`` for the aboveground sink only).
    sd_column : str or None, default "total_sd_TgC"
        Per-year sd of the totals for errors independent between cells (skipped when absent).
    sd_correlated_column : str or None, default "total_sd_TgC_correlated"
        Per-year sd of the totals for errors shared by all cells (skipped when absent).
    alpha : float, default 0.05
        1 - confidence level of the intervals.

    Returns
    -------
    DataFrame indexed by region, always with every column: n_years, sink_TgC_per_yr (least
    squares), sink_se, ci_low, ci_high, p_value (t-test of the slope), theil_sen_TgC_per_yr,
    theil_sen_ci_low, theil_sen_ci_high, mk_p_value and, with ``sd_column``,
    sink_sd_map_independent_years (errors independent between cells and years) and
    sink_sd_map_correlated_years (independent between cells, repeated every year) and, with
    ``sd_correlated_column``, sink_sd_map_fully_correlated (one error shared by every cell and
    year, e.g. a biased benchmark: an upper bound).

    Raises
    ------
    ValueError
        When no region has :data:`MIN_SINK_YEARS` (3) years with a finite total: a slope through
        two points has no interval. When only some regions are that short, their rows are NaN
        (with their ``n_years``) and a warning names them.

    References
    ----------
    Sen, P. K. (1968). Estimates of the regression coefficient based on Kendall's tau. JASA, 63,
    1379-1389. Mann (1945), Econometrica, 13, 245-259.

    Examples
    --------
    >>> import pandas as pd
    >>> tot = pd.DataFrame({"region": "a", "year": [2000, 2001, 2002, 2003],
    ...                     "total_TgC": [10.0, 10.5, 11.1, 11.4]})
    >>> s = carbon_sink_trend(tot, sd_column=None)
    >>> s.loc["a", ["sink_TgC_per_yr", "sink_se", "ci_low"]].astype(float).round(4).tolist()
    [0.48, 0.0424, 0.2975]
    """
    a = float(alpha)
    if not 0.0 < a < 1.0:
        raise ValueError(f"alpha={alpha} must be in (0, 1), e.g. 0.05 for 95 % intervals.")
    for c in ("region", "year", column):
        if c not in totals.columns:
            raise ValueError(
                f"totals has no column {c!r} (columns: {list(totals.columns)}); pass the "
                "table of annual_totals or name the column with column=."
            )
    use_sd = sd_column is not None and sd_column in totals.columns
    use_sdc = sd_correlated_column is not None and sd_correlated_column in totals.columns
    columns = list(_SINK_COLUMNS)
    if use_sd:
        columns += ["sink_sd_map_independent_years", "sink_sd_map_correlated_years"]
    if use_sdc:
        columns += ["sink_sd_map_fully_correlated"]
    rows, short = {}, {}
    for region, g in totals.groupby("region", sort=False):
        g = g.sort_values("year")
        t = g["year"].to_numpy(dtype=float)
        y = g[column].to_numpy(dtype=float)
        ok = np.isfinite(y)
        t, y = t[ok], y[ok]
        n = t.size
        row = dict.fromkeys(columns, np.nan)
        row["n_years"] = n
        if n < MIN_SINK_YEARS:
            short[region] = t
            rows[region] = row
            continue
        lr = stats.linregress(t, y)
        q = stats.t.ppf(1.0 - a / 2.0, n - 2)
        ts = stats.theilslopes(y, t, alpha=1.0 - a)
        row.update(
            sink_TgC_per_yr=float(lr.slope),
            sink_se=float(lr.stderr),
            ci_low=lr.slope - q * lr.stderr,
            ci_high=lr.slope + q * lr.stderr,
            p_value=lr.pvalue,
            theil_sen_TgC_per_yr=ts.slope,
            theil_sen_ci_low=ts.low_slope,
            theil_sen_ci_high=ts.high_slope,
            mk_p_value=mann_kendall(y, t, min_years=3).p_value,
        )
        w = (t - t.mean()) / np.sum((t - t.mean()) ** 2)
        if use_sd:
            sd = g[sd_column].to_numpy(dtype=float)[ok]
            row["sink_sd_map_independent_years"] = float(np.sqrt(np.sum(w**2 * sd**2)))
            row["sink_sd_map_correlated_years"] = float(abs(np.sum(w * sd)))
        if use_sdc:
            sdc = g[sd_correlated_column].to_numpy(dtype=float)[ok]
            row["sink_sd_map_fully_correlated"] = float(abs(np.sum(w * sdc)))
        rows[region] = row
    if short:
        what = "; ".join(f"{r!r} {len(t)} ({year_span(t)})" for r, t in short.items())
        msg = (
            f"the sink needs at least {MIN_SINK_YEARS} years with a finite {column} per region "
            f"(the interval of the slope has n - 2 degrees of freedom); years given: {what}"
        )
        if len(short) == len(rows):
            raise ValueError(f"{msg}. Give a longer series of annual totals.")
        warnings.warn(
            f"{msg}; their sink columns are NaN. Check the years where those regions have no "
            "valid cell, or drop them.",
            UserWarning,
            stacklevel=2,
        )
    df = pd.DataFrame.from_dict(rows, orient="index", columns=columns).rename_axis("region")
    return df.astype({"n_years": np.int64})
