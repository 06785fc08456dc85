"""Trend maps: Mann-Kendall / Theil-Sen / Pettitt on every pixel of an annual stack, in row chunks.

Memory is bounded by ``memory_mb``: the stack is read a block of full rows at a time (about
``T x 12 + 200`` bytes per cell in flight), the compiled kernels of
:mod:`geoagb.timeseries._kernels` run on the block, and the block's statistics are either kept
(in-memory result, 40 bytes per cell) or written to a tiled GeoTIFF (``out=``), so a 20-year
4000 x 4000 stack on disk is processed in a few hundred MiB.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from rasterio.windows import Window
from scipy.special import ndtr, ndtri
from tqdm.auto import tqdm

from .._progress import progress_disabled
from ..raster import atomic_geotiff, geotiff_profile
from ._kernels import MK_COLUMNS, PETTITT_COLUMNS, mk_block, pettitt_block
from ._plot import plot_trend_map
from ._stack import StackSource, make_grid, write_stack, year_span
from ._trend import (
    UntestedWarning,
    _check_alpha,
    _check_min_years,
    check_years,
    untested_counts,
    untested_message,
)

__all__ = ["TREND_BANDS", "TrendResult", "trend_map", "trend_recovery"]

#: Bands of a trend map, in file order.
TREND_BANDS = (
    "slope",
    "intercept",
    "tau",
    "z",
    "p_value",
    "significant",
    "n_years",
    "breakpoint_year",
    "breakpoint_p",
    "breakpoint_shift",
)


def _units(unit: str) -> list[str]:
    return [f"{unit}/yr", unit, "1", "1", "1", "1 = p < alpha", "years", "year", "1", unit]


@dataclass
class TrendResult:
    """Per-pixel trend statistics of an annual stack (see :func:`trend_map`).

    Attributes
    ----------
    bands : dict of str -> ndarray of shape (H, W), float32
        :data:`TREND_BANDS`: Theil-Sen ``slope`` (unit/yr) and ``intercept`` (first year),
        Kendall's ``tau``, ``z``, ``p_value``, ``significant`` (1/0, NaN where untested),
        ``n_years`` (finite values), Pettitt ``breakpoint_year`` (first year of the new regime),
        ``breakpoint_p`` and ``breakpoint_shift`` (unit; NaN without ``breakpoint=True``).
    years : ndarray
    alpha : float
    hamed_rao : bool
    transform, crs : grid of the stack (None for an array without them)
    unit : str
        Unit of the stack (e.g. MgC/ha); slopes are unit per year.
    """

    bands: dict
    years: np.ndarray
    alpha: float
    hamed_rao: bool
    transform: object = None
    crs: object = None
    unit: str = "MgC/ha"

    def __getattr__(self, name):
        bands = self.__dict__.get("bands", {})
        if name in bands:
            return bands[name]
        raise AttributeError(name)

    @property
    def significant_mask(self) -> np.ndarray:
        """Boolean (H, W): the trend test rejects 'no trend' at ``alpha``."""
        return self.bands["significant"] == 1

    def to_geotiff(self, path) -> Path:
        """Write every band to a tiled GeoTIFF (band descriptions = :data:`TREND_BANDS`), atomically."""
        return write_stack(
            path,
            np.stack([self.bands[b] for b in TREND_BANDS]),
            list(TREND_BANDS),
            transform=self.transform,
            crs=self.crs,
            unit=_units(self.unit),
            tags=dict(
                alpha=self.alpha,
                hamed_rao=self.hamed_rao,
                years=f"{int(self.years[0])}-{int(self.years[-1])}",
            ),
        )

    def summary(self, regions=None, region_names=None) -> pd.DataFrame:
        """Per region: cells tested, % significant increase / decrease, median slope (unit/yr).

        ``regions`` is an integer (H, W) array (negative = outside); None summarises the map.
        """
        slope, sig = self.bands["slope"], self.bands["significant"]
        codes = np.zeros(slope.shape, np.int64) if regions is None else np.asarray(regions)
        rows = {}
        for c in np.unique(codes[codes >= 0]):
            m = (codes == c) & np.isfinite(slope)
            s, g = slope[m], sig[m] == 1
            name = (
                "all"
                if regions is None
                else (region_names[int(c)] if region_names else str(int(c)))
            )
            rows[name] = {
                "n_cells": int(m.sum()),
                "pct_significant_increase": 100.0 * np.mean(g & (s > 0)) if m.any() else np.nan,
                "pct_significant_decrease": 100.0 * np.mean(g & (s < 0)) if m.any() else np.nan,
                f"median_slope_{self.unit}_per_yr": float(np.median(s)) if m.any() else np.nan,
            }
        return pd.DataFrame.from_dict(rows, orient="index").rename_axis("region")

    def plot(self, **kwargs):
        """Trend map figure; see :func:`geoagb.timeseries.plot_trend_map`."""
        return plot_trend_map(self, **kwargs)


def _rows_per_chunk(width: int, n_years: int, memory_mb: float) -> int:
    if memory_mb <= 0:
        raise ValueError(f"memory_mb={memory_mb} must be > 0 (MiB for the rows being processed).")
    per_cell = n_years * 12 + 200
    return max(1, int(memory_mb * 2**20 // (per_cell * max(1, width))))


def _n_threads(n_jobs) -> int:
    if n_jobs is None:
        return 1
    n = int(n_jobs)
    if n == 0:
        raise ValueError(
            "n_jobs=0 is not a number of threads: use None or 1 (one), k > 1, or -1 (all cores)."
        )
    return max(1, (os.cpu_count() or 1) + 1 + n) if n < 0 else n


def _kernels(rows, t, hamed_rao, lag, zcrit, min_n, breakpoint, detrend):
    mk = mk_block(rows, t, hamed_rao, lag, zcrit, min_n)
    pt = (
        pettitt_block(rows, t, min_n, detrend, np.ascontiguousarray(mk[:, 0]))
        if breakpoint
        else None
    )
    return mk, pt


def _chunk_stats(
    block: np.ndarray,
    *,
    t,
    hamed_rao,
    lag,
    zcrit,
    min_n,
    breakpoint,
    detrend,
    pool=None,
    threads=1,
) -> np.ndarray:
    """(T, h, w) float32 -> (len(TREND_BANDS), h, w) float32; the kernels release the GIL, so a
    thread ``pool`` runs them on parts of the chunk at once.
    """
    T, h, w = block.shape
    rows = np.ascontiguousarray(block.reshape(T, -1).T, dtype=np.float64)
    args = (t, hamed_rao, lag, zcrit, min_n, breakpoint, detrend)
    if pool is None or rows.shape[0] < 2048:
        mk, pt = _kernels(rows, *args)
    else:
        parts = np.array_split(np.arange(rows.shape[0]), threads)
        res = list(
            pool.map(
                lambda ix: _kernels(rows[ix[0] : ix[-1] + 1], *args), [p for p in parts if p.size]
            )
        )
        mk = np.concatenate([r[0] for r in res])
        pt = np.concatenate([r[1] for r in res]) if breakpoint else None
    out = np.full((len(TREND_BANDS), h * w), np.nan, dtype=np.float32)
    col = {c: mk[:, i] for i, c in enumerate(MK_COLUMNS)}
    z = col["z"]
    tested = np.isfinite(col["n_years"])
    out[0], out[1], out[2], out[3] = col["slope"], col["intercept"], col["tau"], z
    out[4] = 2.0 * ndtr(-np.abs(z))
    out[5] = np.where(tested, (np.abs(z) > zcrit).astype(np.float32), np.nan)
    out[6] = col["n_years"]
    if breakpoint:
        pc = {c: pt[:, i] for i, c in enumerate(PETTITT_COLUMNS)}
        out[7], out[8], out[9] = pc["breakpoint_year"], pc["breakpoint_p"], pc["breakpoint_shift"]
    return out.reshape(len(TREND_BANDS), h, w)


def trend_map(
    stack,
    years=None,
    out=None,
    *,
    alpha: float = 0.05,
    hamed_rao: bool = False,
    lag: int | None = None,
    breakpoint: bool = True,
    breakpoint_detrend: bool = True,
    min_years: int = 8,
    memory_mb: float = 256.0,
    chunk_rows: int | None = None,
    n_jobs: int | None = None,
    progress: bool | None = None,
    transform=None,
    crs=None,
    unit: str = "MgC/ha",
):
    """Theil-Sen slope, Mann-Kendall test and Pettitt change point of every pixel of a stack.

    Parameters
    ----------
    stack : ndarray of shape (T, H, W), str or Path
        Annual maps (e.g. AGBC, MgC/ha), or a stack GeoTIFF whose band descriptions are the years.
        NaN, +-inf (or the file's nodata) mark a missing year of a pixel.
    years : sequence of int, optional
        One per layer; default the band descriptions of a file (a file whose descriptions are
        not years, e.g. ``"band_1"``, is refused: give ``years=``), else 0..T-1 for an array
        (slopes are then per layer).
    out : str or Path, optional
        Write the statistics to this tiled GeoTIFF (bands :data:`TREND_BANDS`) chunk by chunk,
        atomically, and return its path: the way to process stacks larger than memory.
    alpha : float, default 0.05
        Two-sided significance level of the trend test.
    hamed_rao : bool, default False
        Hamed & Rao (1998) variance correction for serial correlation.
    lag : int, optional
        Lags of the Hamed-Rao correction (default all).
    breakpoint : bool, default True
        Also run Pettitt's change-point test.
    breakpoint_detrend : bool, default True
        Run it on the series minus its step-on-trend slope, so that a disturbance in a trending
        series is dated where it happens (see :func:`pettitt`); False: Pettitt's original test.
    min_years : int, default 8
        Pixels with fewer finite years are NaN (not tested). A stack with fewer layers is refused
        (no pixel could be tested); when no pixel has enough finite years (all-NaN input), an
        :class:`~geoagb.timeseries.UntestedWarning` gives the counts.
    memory_mb : float, default 256
        Budget for the rows in flight, MiB (sets the chunk height).
    chunk_rows : int, optional
        Rows per chunk, overriding ``memory_mb``.
    n_jobs : int or None, default None
        Threads computing parts of each chunk at once (None: 1; -1: all cores).
    progress : bool or None, default None
        tqdm bar over chunks. ``None``: only when stderr is a terminal.
    transform, crs : optional
        Grid of an in-memory stack (kept in the result, needed by ``to_geotiff`` and ``out=``).
    unit : str, default "MgC/ha"

    Returns
    -------
    TrendResult, or the Path of ``out``.

    See Also
    --------
    mann_kendall, pettitt : the same statistics of a single series.

    References
    ----------
    Sen (1968) "Estimates of the regression coefficient based on Kendall's tau", JASA 63,
    1379-1389; Mann (1945), Econometrica 13, 245-259; Kendall (1975) Rank Correlation Methods;
    Hamed & Rao (1998) "A modified Mann-Kendall trend test for autocorrelated data", J. Hydrology
    204, 182-196; Pettitt (1979) "A non-parametric approach to the change-point problem",
    Applied Statistics 28, 126-135.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(2002, 2022)
    >>> stack = np.stack([np.full((2, 3), 50.0) + 1.5 * (y - 2002) for y in t])   # +1.5 MgC/ha/yr
    >>> stack[:, 1, :] = 40.0 - 0.5 * (t[:, None] - 2002)                          # row 1 loses
    >>> res = trend_map(stack, t, progress=False)
    >>> res.slope.tolist()
    [[1.5, 1.5, 1.5], [-0.5, -0.5, -0.5]]
    >>> bool(res.significant_mask.all()), float(res.p_value.max()) < 1e-6
    (True, True)
    """
    a = _check_alpha(alpha)
    src = StackSource(stack, years, transform=transform, crs=crs, name="stack")
    t = check_years(src.require_years(), src.count)
    min_n = _check_min_years(min_years, src.count)
    if src.count < min_n:
        raise ValueError(
            f"the stack has {src.count} layer(s) ({year_span(t)}) but min_years={min_n}: no pixel "
            f"can have {min_n} finite years, so none would be tested; give a series of at least "
            f"{min_n} years, or lower min_years (>= 3; a test on so few years has little power)."
        )
    lg = -1 if lag is None else int(lag)
    if lag is not None and lg < 1:
        raise ValueError(
            f"lag={lag} must be >= 1 (number of autocorrelation lags) or None for all."
        )
    zcrit = float(ndtri(1.0 - a / 2.0))
    H, W = src.shape
    if chunk_rows is not None:
        if int(chunk_rows) < 1:
            raise ValueError(f"chunk_rows={chunk_rows} must be >= 1.")
        step = int(chunk_rows)
    else:
        step = _rows_per_chunk(W, src.count, memory_mb)
        # whole GeoTIFF tiles per chunk: 256-row tiles, or tiles as tall as the chunk
        step = step // 256 * 256 if step >= 256 else (step // 16 * 16 if step >= 16 else step)
    starts = list(range(0, H, step))
    bar = tqdm(starts, desc="trend", unit="chunk", disable=progress_disabled(progress), leave=False)
    threads = _n_threads(n_jobs)
    pool = ThreadPoolExecutor(threads) if threads > 1 else None
    args = dict(
        t=t,
        hamed_rao=bool(hamed_rao),
        lag=lg,
        zcrit=zcrit,
        min_n=min_n,
        breakpoint=bool(breakpoint),
        detrend=bool(breakpoint_detrend),
        pool=pool,
        threads=threads,
    )
    try:
        res, n_finite = _run(
            src,
            out,
            args=args,
            step=step,
            starts=starts,
            bar=bar,
            a=a,
            hamed_rao=hamed_rao,
            breakpoint_detrend=breakpoint_detrend,
            unit=unit,
            t=t,
            H=H,
            W=W,
        )
    finally:
        if pool is not None:
            pool.shutdown()
    if not np.any(n_finite[min_n:]):
        c = untested_counts(n_finite, src.count, min_n)
        warnings.warn(UntestedWarning(untested_message(c, "pixels"), c), stacklevel=2)
    return res


def _finite_histogram(block: np.ndarray) -> np.ndarray:
    """Number of pixels of a (T, h, w) block with 0, 1, ..., T finite values."""
    T = block.shape[0]
    return np.bincount(np.isfinite(block).sum(axis=0).reshape(-1), minlength=T + 1)


def _run(src, out, *, args, step, starts, bar, a, hamed_rao, breakpoint_detrend, unit, t, H, W):
    """(TrendResult or Path, histogram of the finite values per pixel)."""
    n_finite = np.zeros(src.count + 1, dtype=np.int64)
    if out is not None:
        if src.transform is None:
            raise ValueError(
                "out= needs the grid of the stack: pass transform= and crs= with an array."
            )
        grid = make_grid(src.transform, src.crs, W, H)
        profile = geotiff_profile(
            grid, count=len(TREND_BANDS), window_size=min(step, 256) if step % 16 == 0 else None
        )
        tags = dict(
            alpha=a,
            hamed_rao=bool(hamed_rao),
            years=f"{int(t[0])}-{int(t[-1])}",
            breakpoint_detrend=bool(breakpoint_detrend),
            method="Theil-Sen slope, Mann-Kendall test, Pettitt change point",
        )
        with atomic_geotiff(out, profile, list(TREND_BANDS), _units(unit), tags=tags) as dst:
            for r0 in bar:
                win = Window(0, r0, W, min(step, H - r0))
                block = src.read(win)
                n_finite += _finite_histogram(block)
                dst.write(_chunk_stats(block, **args), window=win)
        return Path(out), n_finite
    res = np.full((len(TREND_BANDS), H, W), np.nan, dtype=np.float32)
    for r0 in bar:
        win = Window(0, r0, W, min(step, H - r0))
        block = src.read(win)
        n_finite += _finite_histogram(block)
        res[:, r0 : r0 + int(win.height)] = _chunk_stats(block, **args)
    result = TrendResult(
        bands=dict(zip(TREND_BANDS, res)),
        years=t,
        alpha=a,
        hamed_rao=bool(hamed_rao),
        transform=src.transform,
        crs=src.crs,
        unit=unit,
    )
    return result, n_finite


def trend_recovery(result, true_slope, mask=None) -> dict:
    """How well a trend map recovers known (planted) per-pixel trends.

    Parameters
    ----------
    result : TrendResult or dict with ``slope`` and ``significant``
    true_slope : ndarray of shape (H, W)
        True trend, unit per year (e.g. ``truth.trend`` of :func:`make_carbon_series`).
    mask : bool ndarray, optional
        Cells to score (default all tested cells).

    Returns
    -------
    dict: ``n_cells``, ``pct_significant``, ``sign_correct_pct`` (share of significant cells
    with a non-zero true trend whose slope has the true sign), ``false_positive_pct`` (share of
    cells with a zero true trend flagged significant), ``slope_bias``, ``slope_mae``,
    ``slope_rmse`` (unit/yr, estimated - true, over all scored cells).

    Examples
    --------
    >>> import numpy as np
    >>> r = {"slope": np.array([1.0, -2.0, 0.1]), "significant": np.array([1.0, 1.0, 0.0])}
    >>> d = trend_recovery(r, np.array([1.5, -2.0, 0.0]))
    >>> d["sign_correct_pct"], d["false_positive_pct"], round(d["slope_mae"], 3)
    (100.0, 0.0, 0.2)
    """
    bands = result.bands if isinstance(result, TrendResult) else result
    slope = np.asarray(bands["slope"], dtype=float)
    sig = np.asarray(bands["significant"]) == 1
    truth = np.asarray(true_slope, dtype=float)
    if truth.shape != slope.shape:
        raise ValueError(f"true_slope has shape {truth.shape} but the trend map {slope.shape}.")
    ok = np.isfinite(slope) & np.isfinite(truth)
    if mask is not None:
        ok &= np.asarray(mask, dtype=bool)
    s, g, tr = slope[ok], sig[ok], truth[ok]
    moving = g & (tr != 0)
    still = tr == 0
    err = s - tr
    return {
        "n_cells": int(ok.sum()),
        "pct_significant": 100.0 * float(g.mean()) if g.size else np.nan,
        "sign_correct_pct": (
            100.0 * float(np.mean(np.sign(s[moving]) == np.sign(tr[moving])))
            if moving.any()
            else np.nan
        ),
        "false_positive_pct": 100.0 * float(g[still].mean()) if still.any() else np.nan,
        "slope_bias": float(err.mean()) if err.size else np.nan,
        "slope_mae": float(np.abs(err).mean()) if err.size else np.nan,
        "slope_rmse": float(np.sqrt((err**2).mean())) if err.size else np.nan,
    }
