"""Forest-fraction scaling: a benchmark AGBC map and yearly cover fractions -> annual AGBC maps.

A benchmark map gives the grid-mean aboveground carbon ``B`` (MgC/ha) of one base year. Each cell
holds trees over a fraction ``TC`` and short vegetation over ``SV``; with ``r`` the carbon density
of short vegetation per unit cover relative to trees, the cell's effective cover is
``E = TC + r SV`` and its carbon density per unit of effective cover is ``d = B / E_base``. The
density is held fixed and the covers move:

    AGBC_t = d (TC_t + r SV_t) = d TC_t  (trees)  +  d r SV_t  (short vegetation).

So a cell that gains tree cover gains carbon at its own density, one that loses cover loses it.
Cells with less than ``min_cover`` effective cover in the base year have no usable density of
their own (``B / E`` would divide noise by almost nothing); they get the **regional density**,
the ratio estimator ``sum B / sum E_base`` over the covered cells of their region (of the whole
map without regions, or when the region has no covered cell), and are counted in ``n_filled``.
Cells whose benchmark or base-year cover is missing are NaN (``n_nan``).

The benchmark's standard deviation scales the same way: ``sd_t = sd_B E_t / E_base`` (filled
cells: the regional relative sd ``sum sd_B / sum B`` times their AGBC).

References
----------
Feng, X. (data contributor). Maps with 1 km resolution reveal increases in above- and
belowground forest biomass carbon pools in China over the past 20 years (dataset, 2002-2021).
National Cryosphere Desert Data Center, CSTR 11738.11.NCDC.FIGSHARE.DB6534.2024: the benchmark
AGBC map extended to 2002-2021 with the cover of trees and short vegetation from optical remote
sensing.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .._progress import progress_disabled
from ..raster import (
    ZonalAccumulator,
    atomic_geotiff,
    geotiff_profile,
    make_zones,
    plan_windows,
    window_size_for_budget,
)
from ._stack import StackSource, align_years, companion, make_grid, window_transform

__all__ = ["CoverScaling", "scale_by_cover", "base_layers"]


@dataclass
class CoverScaling:
    """Result of :func:`scale_by_cover`.

    Attributes
    ----------
    agbc, agbc_sd : ndarray of shape (T, H, W) or None
        Annual AGBC and its sd, MgC/ha (None when written to files).
    path, sd_path : Path or None
        The files written (one band per year, band descriptions = years).
    years : ndarray
    base_year : int or tuple
    density : ndarray of shape (H, W) or None
        Carbon density per unit effective cover, MgC/ha (None when written to files).
    regional_density : Series
        Ratio-estimator density per region, MgC/ha per unit effective cover (``"all"``: the map).
    n_filled : int
        Cells with base-year effective cover below ``min_cover`` given their regional density.
    n_nan : int
        Cells with no benchmark or no base-year cover (NaN in every year).
    transform, crs
    """

    agbc: np.ndarray | None
    agbc_sd: np.ndarray | None
    path: Path | None
    sd_path: Path | None
    years: np.ndarray
    base_year: object
    density: np.ndarray | None
    regional_density: pd.Series
    n_filled: int
    n_nan: int
    transform: object = None
    crs: object = None


def _check_cover(a: np.ndarray, name: str) -> None:
    fin = a[np.isfinite(a)]
    if fin.size == 0:
        return
    lo, hi = float(fin.min()), float(fin.max())
    if hi > 1.0 + 1e-6:
        hint = " It looks like percent: divide by 100." if hi <= 100.0 else ""
        raise ValueError(
            f"{name} has values up to {hi:g}; cover fractions must be in [0, 1].{hint}"
        )
    if lo < -1e-6:
        raise ValueError(
            f"{name} has values down to {lo:g}; cover fractions must be in [0, 1]; "
            "set negative fill values as nodata (NaN) first."
        )


def base_layers(src: StackSource, base_year) -> list[int]:
    """Layer indices of ``base_year`` (an int, or an inclusive (first, last) range averaged)."""
    if src.years is None:
        raise ValueError(f"{src.name} has no years; pass years=[...] (one per layer).")
    if isinstance(base_year, (tuple, list)):
        if len(base_year) != 2 or int(base_year[0]) > int(base_year[1]):
            raise ValueError(
                f"base_year={base_year} must be a year or an inclusive range (first, last)."
            )
        idx = np.flatnonzero((src.years >= int(base_year[0])) & (src.years <= int(base_year[1])))
        if idx.size == 0:
            raise ValueError(
                f"no layer of {src.name} falls in base_year={tuple(base_year)} "
                f"(years {src.years.min()}-{src.years.max()})."
            )
        return idx.tolist()
    return [src.layer_index(base_year)]


def _lookup(codes: np.ndarray, table: dict, default: float) -> np.ndarray:
    """Per-cell value of ``table[code]`` (``default`` for codes not in it, e.g. -1)."""
    if codes.size == 0:
        return codes.astype(float)
    u, inv = np.unique(codes, return_inverse=True)
    return np.array([table.get(int(k), default) for k in u], dtype=float)[inv].reshape(codes.shape)


class _Inputs:
    """The sources of a scaling run and their per-window reads."""

    def __init__(
        self, benchmark, tree_cover, short_cover, benchmark_sd, years, base_year, transform, crs
    ):
        self.tree = StackSource(tree_cover, years, transform=transform, crs=crs, name="tree_cover")
        if self.tree.years is None:
            if self.tree.path is not None:
                self.tree.require_years()  # band descriptions that are not years: refused
            raise ValueError(
                "tree_cover has no years: pass years=[...] or a stack file whose band "
                "descriptions are the years."
            )
        tr, c = self.tree.transform, self.tree.crs
        self.short = (
            None
            if short_cover is None
            else companion(
                short_cover, self.tree, name="short_cover", years_given=years is not None
            )
        )
        if self.short is not None:
            align_years(self.tree, [self.short])
        self.bench = StackSource(benchmark, None, transform=tr, crs=c, name="benchmark")
        self.sd = (
            None
            if benchmark_sd is None
            else StackSource(benchmark_sd, None, transform=tr, crs=c, name="benchmark_sd")
        )
        for s in (self.bench, self.sd):
            if s is not None:
                self.tree.check_same_grid(s)
        self.base = base_layers(self.tree, base_year)

    def effective(self, win, layers, ratio):
        tc = self.tree.read(win, layers)
        _check_cover(tc, "tree_cover")
        if self.short is None:
            return tc
        sv = self.short.read(win, layers)
        _check_cover(sv, "short_cover")
        return tc + ratio * sv

    def base_effective(self, win, ratio):
        return self.effective(win, self.base, ratio).mean(axis=0)


def scale_by_cover(
    benchmark,
    tree_cover,
    short_cover=None,
    *,
    base_year,
    years=None,
    short_ratio: float = 0.1,
    min_cover: float = 0.05,
    regions=None,
    region_names=None,
    benchmark_sd=None,
    out=None,
    out_sd=None,
    memory_mb: float = 256.0,
    window_size: int | None = None,
    progress: bool | None = None,
    transform=None,
    crs=None,
) -> CoverScaling:
    """Annual AGBC maps from a benchmark AGBC map and yearly tree / short-vegetation cover.

    Parameters
    ----------
    benchmark : ndarray (H, W), str or Path
        Benchmark AGBC of the base year, MgC/ha (grid-mean: forest AGBC times forest fraction).
    tree_cover : ndarray (T, H, W), str or Path
        Tree cover fraction (0-1) per year; a file's band descriptions are its years.
    short_cover : ndarray (T, H, W), str or Path, optional
        Short-vegetation cover fraction (0-1) per year, same years.
    base_year : int or (int, int)
        Year of the benchmark, or an inclusive range whose mean cover is the base (e.g. the
        years of the field campaign, ``(2011, 2015)``).
    years : sequence of int, optional
        Years of the cover layers (default: the band descriptions of a file).
    short_ratio : float, default 0.1
        Carbon density of short vegetation per unit cover relative to trees, in [0, 1].
    min_cover : float, default 0.05
        Base-year effective cover below which a cell takes its regional density.
    regions : int ndarray (H, W), int raster path, or GeoDataFrame, optional
        Regions of the regional densities (negative codes: no region, map-wide density).
    region_names : sequence of str, optional
        Names of the codes 0, 1, ... of an integer array ``regions``.
    benchmark_sd : ndarray (H, W), str or Path, optional
        Standard deviation of the benchmark, MgC/ha; gives ``agbc_sd``.
    out, out_sd : str or Path, optional
        Write AGBC (and its sd) to tiled GeoTIFFs window by window, atomically (one band per
        year, band descriptions = years, unit MgC/ha) instead of returning arrays.
    memory_mb : float, default 256
        Budget of the windows in flight (files only).
    window_size : int, optional
        Window side in cells (default from ``memory_mb``).
    progress : bool or None, default None
    transform, crs : optional ``None``: only when stderr is a terminal.
        Grid of in-memory arrays (needed with ``out=`` or polygon ``regions``).

    Returns
    -------
    CoverScaling

    References
    ----------
    The benchmark-plus-cover extension of the 1 km China AGBC/BGBC series 2002-2021 (Feng, X.,
    data contributor; CSTR 11738.11.NCDC.FIGSHARE.DB6534.2024), see the module docstring.

    Examples
    --------
    >>> import numpy as np
    >>> bench = np.array([[60.0, 0.0]])                         # MgC/ha in 2010
    >>> tc = np.array([[[0.5, 0.0]], [[0.6, 0.2]]])             # tree cover 2010, 2011
    >>> r = scale_by_cover(bench, tc, base_year=2010, years=[2010, 2011], progress=False)
    >>> r.agbc[:, 0, 0].tolist()                                # 120 MgC/ha per unit cover
    [60.0, 72.0]
    >>> r.n_filled, r.agbc[1, 0, 1]                              # regional density for the bare cell
    (1, np.float32(24.0))
    """
    r, mc = _check_ratios(short_ratio, min_cover)
    inp = _Inputs(
        benchmark, tree_cover, short_cover, benchmark_sd, years, base_year, transform, crs
    )
    _check_outputs(inp, out, out_sd)
    zones = make_zones(np.asarray(regions) if isinstance(regions, list) else regions, inp.tree.crs)
    if window_size is None:
        window_size = _default_window_size(inp, out, memory_mb)
    H, W = inp.tree.shape
    wins = plan_windows(W, H, int(window_size))
    dens = _regional_densities(inp, zones, wins, r, mc, progress=progress)
    regional = dens.series(zones, region_names)
    with ExitStack() as stack:
        dst, dst_sd = _open_outputs(stack, inp, out, out_sd, int(window_size), base_year, r, mc)
        maps = _annual_maps(inp, zones, wins, dens, r, mc, dst, dst_sd, progress=progress)
    return CoverScaling(
        agbc=maps.agbc,
        agbc_sd=maps.sd,
        path=None if out is None else Path(out),
        sd_path=None if out_sd is None else Path(out_sd),
        years=inp.tree.years,
        base_year=base_year,
        density=maps.density,
        regional_density=regional,
        n_filled=maps.n_filled,
        n_nan=maps.n_nan,
        transform=inp.tree.transform,
        crs=inp.tree.crs,
    )


# ---- the steps of scale_by_cover -----------------------------------------------------------------
def _check_ratios(short_ratio, min_cover) -> tuple[float, float]:
    """``short_ratio`` in [0, 1] and ``min_cover`` in (0, 1), as floats."""
    r = float(short_ratio)
    if not 0.0 <= r <= 1.0:
        raise ValueError(
            f"short_ratio={short_ratio} must be in [0, 1]: carbon per unit cover of short "
            "vegetation relative to trees (e.g. 0.1)."
        )
    mc = float(min_cover)
    if not 0.0 < mc < 1.0:
        raise ValueError(
            f"min_cover={min_cover} must be in (0, 1), e.g. 0.05 (5 % effective cover)."
        )
    return r, mc


def _check_outputs(inp: _Inputs, out, out_sd) -> None:
    """Files need a grid; an sd file needs the benchmark's sd."""
    if (out is not None or out_sd is not None) and inp.tree.transform is None:
        raise ValueError("out= needs the grid of the arrays: pass transform= and crs=.")
    if out_sd is not None and inp.sd is None:
        raise ValueError(
            "out_sd= needs benchmark_sd= (the benchmark's standard deviation, MgC/ha)."
        )


def _default_window_size(inp: _Inputs, out, memory_mb: float) -> int:
    """Window side from the memory budget when writing files, else the whole map."""
    T, (H, W) = inp.tree.count, inp.tree.shape
    return window_size_for_budget(T * 4 * 5 + 64, memory_mb) if out is not None else max(H, W)


def _window_codes(zones, win, transform, shape) -> np.ndarray:
    """Region code of every cell of window ``win``."""
    return zones.codes(win, None if transform is None else window_transform(win, transform), shape)


@dataclass
class _Densities:
    """Pass 1 of :func:`scale_by_cover`: ratio estimators per region code.

    ``dens``: carbon density per unit effective cover (MgC/ha), ``rel``: relative sd of the
    benchmark; ``glob_d`` and ``glob_rel`` are the map-wide values (cells outside every region,
    regions with no covered cell).
    """

    dens: dict
    rel: dict
    glob_d: float
    glob_rel: float

    def series(self, zones, region_names) -> pd.Series:
        """The regional densities by region name, plus ``"all"`` (the map)."""

        def _name(k):
            return str(region_names[k]) if region_names is not None else zones.name(k)

        reg = pd.Series({_name(k): v for k, v in sorted(self.dens.items())}, dtype=float)
        reg["all"] = self.glob_d
        reg.index.name = "region"
        reg.name = "density_MgC_ha_per_unit_cover"
        return reg


def _regional_densities(inp: _Inputs, zones, wins, r: float, mc: float, *, progress) -> _Densities:
    """Pass 1: sum benchmark, base-year effective cover and sd over the covered cells by region."""
    acc = ZonalAccumulator(sums=("b", "e", "s"))
    for win in tqdm(
        wins, desc="scaling (densities)", disable=progress_disabled(progress), leave=False
    ):
        b = inp.bench.read(win)[0]
        e = inp.base_effective(win, r)
        s = inp.sd.read(win)[0] if inp.sd is not None else np.zeros_like(b)
        cod = _window_codes(zones, win, inp.tree.transform, b.shape)
        ok = np.isfinite(b) & np.isfinite(e) & (e >= mc)
        acc.add(
            cod[ok],
            b=b[ok].astype(float),
            e=e[ok].astype(float),
            s=np.nan_to_num(s[ok]).astype(float),
        )
    tab = acc.frame()
    tot_b, tot_e, tot_s = tab["b_sum"].sum(), tab["e_sum"].sum(), tab["s_sum"].sum()
    if tot_e <= 0:
        raise ValueError(
            f"no cell has base-year effective cover >= min_cover={mc:g}: the densities per unit "
            "cover cannot be estimated. Check base_year and the cover units (fractions 0-1)."
        )
    glob_d, glob_rel = tot_b / tot_e, (tot_s / tot_b if tot_b > 0 else 0.0)
    regional = tab[tab.index >= 0]  # cells outside every region use the map-wide values
    dens = {
        int(k): (row.b_sum / row.e_sum if row.e_sum > 0 else glob_d)
        for k, row in regional.iterrows()
    }
    rel = {
        int(k): (row.s_sum / row.b_sum if row.b_sum > 0 else glob_rel)
        for k, row in regional.iterrows()
    }
    return _Densities(dens, rel, glob_d, glob_rel)


def _open_outputs(stack: ExitStack, inp: _Inputs, out, out_sd, window_size: int, base_year, r, mc):
    """The atomic GeoTIFF writers of AGBC and its sd (None when not written), on ``stack``."""
    if out is None:
        return None, None
    T, (H, W) = inp.tree.count, inp.tree.shape
    grid = make_grid(inp.tree.transform, inp.tree.crs, W, H)
    profile = geotiff_profile(grid, count=T, window_size=window_size)
    names = [str(int(y)) for y in inp.tree.years]
    tags = dict(
        method="forest-fraction scaling of a benchmark AGBC map",
        base_year=base_year,
        short_ratio=r,
        min_cover=mc,
    )
    dst = stack.enter_context(atomic_geotiff(out, profile, names, ["MgC/ha"] * T, tags=tags))
    dst_sd = None
    if out_sd is not None:
        dst_sd = stack.enter_context(
            atomic_geotiff(out_sd, profile, names, ["MgC/ha"] * T, tags=tags)
        )
    return dst, dst_sd


@dataclass
class _Maps:
    """Pass 2 of :func:`scale_by_cover`: the annual maps (None when written to files)."""

    agbc: np.ndarray | None
    sd: np.ndarray | None
    density: np.ndarray | None
    n_filled: int = 0
    n_nan: int = 0


def _scale_window(inp: _Inputs, zones, win, dens: _Densities, r: float, mc: float):
    """AGBC (T, h, w), density (h, w), sd (T, h, w) or None, and the filled and NaN counts."""
    b = inp.bench.read(win)[0].astype(np.float64)
    e_base = inp.base_effective(win, r).astype(np.float64)
    e_all = inp.effective(win, None, r).astype(np.float64)
    cod = _window_codes(zones, win, inp.tree.transform, b.shape)
    valid = np.isfinite(b) & np.isfinite(e_base)
    own = valid & (e_base >= mc)
    fill = valid & ~own
    d_reg = _lookup(cod, dens.dens, dens.glob_d)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(own, b / e_base, np.where(fill, d_reg, np.nan))
    a = (d[None] * e_all).astype(np.float32)
    s_out = None
    if inp.sd is not None:
        s = inp.sd.read(win)[0].astype(np.float64)
        rel = _lookup(cod, dens.rel, dens.glob_rel)
        with np.errstate(invalid="ignore", divide="ignore"):
            per_cover = np.where(own, s / e_base, np.where(fill, d_reg * rel, np.nan))
        s_out = (per_cover[None] * e_all).astype(np.float32)
    return a, d, s_out, int(fill.sum()), int((~valid).sum())


def _annual_maps(inp: _Inputs, zones, wins, dens: _Densities, r, mc, dst, dst_sd, *, progress):
    """Pass 2: scale every window, into arrays (``dst`` None) or into the open files."""
    T, (H, W) = inp.tree.count, inp.tree.shape
    in_memory = dst is None
    maps = _Maps(
        agbc=np.full((T, H, W), np.nan, np.float32) if in_memory else None,
        sd=np.full((T, H, W), np.nan, np.float32) if in_memory and inp.sd is not None else None,
        density=np.full((H, W), np.nan, np.float32) if in_memory else None,
    )
    for win in tqdm(wins, desc="scaling (years)", disable=progress_disabled(progress), leave=False):
        a, d, s_out, n_filled, n_nan = _scale_window(inp, zones, win, dens, r, mc)
        maps.n_filled += n_filled
        maps.n_nan += n_nan
        r0, c0, h, w = int(win.row_off), int(win.col_off), int(win.height), int(win.width)
        if in_memory:
            maps.agbc[:, r0 : r0 + h, c0 : c0 + w] = a
            maps.density[r0 : r0 + h, c0 : c0 + w] = d
            if maps.sd is not None:
                maps.sd[:, r0 : r0 + h, c0 : c0 + w] = s_out
        else:
            dst.write(a, window=win)
            if dst_sd is not None:
                dst_sd.write(s_out, window=win)
    return maps
