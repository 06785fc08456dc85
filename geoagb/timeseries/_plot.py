"""Figures of carbon through time (each function returns a matplotlib Figure)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["plot_region_series", "plot_trend_map"]


def plot_region_series(
    totals: pd.DataFrame,
    column: str = "total_TgC",
    *,
    sd_column: str | None = "total_sd_TgC",
    sinks: pd.DataFrame | None = None,
    truth: pd.DataFrame | None = None,
    include_all: bool = False,
    ax=None,
    title: str | None = None,
):
    """Annual carbon totals per region (TgC) with a 95 % band and the fitted sink.

    Parameters
    ----------
    totals : DataFrame
        Long table with ``region``, ``year``, ``column`` (e.g. :func:`annual_totals`).
    column : str, default "total_TgC"
    sd_column : str or None, default "total_sd_TgC"
        Shaded as +- 1.96 sd when present.
    sinks : DataFrame, optional
        :func:`carbon_sink_trend` of the same table: draws each least-squares line and writes the
        sink (TgC/yr) with its confidence interval in the legend.
    truth : DataFrame, optional
        A table of true totals (same columns) drawn dashed, e.g. ``truth.totals`` of
        :func:`make_carbon_series`.
    include_all : bool, default False
        Also draw the region ``"all"``.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> tot = pd.DataFrame({"region": "a", "year": [2000, 2001, 2002], "total_TgC": [1.0, 1.2, 1.3]})
    >>> fig = plot_region_series(tot)
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['a']
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 4.5), layout="constrained")
    else:
        fig = ax.figure
    regions = [r for r in pd.unique(totals["region"]) if include_all or r != "all"]
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, reg in enumerate(regions):
        g = totals[totals["region"] == reg].sort_values("year")
        t, y = g["year"].to_numpy(float), g[column].to_numpy(float)
        col = colors[i % len(colors)]
        label = str(reg)
        if sinks is not None and reg in sinks.index and "sink_TgC_per_yr" in sinks.columns:
            s = sinks.loc[reg]
            label += (
                f": {s['sink_TgC_per_yr']:+.3f} TgC/yr [{s['ci_low']:+.3f}, {s['ci_high']:+.3f}]"
            )
            b = float(s["sink_TgC_per_yr"])
            ax.plot(t, np.nanmean(y) + b * (t - t.mean()), color=col, lw=1, ls=":")
        ax.plot(t, y, "o-", color=col, ms=3, label=label)
        if sd_column is not None and sd_column in g.columns:
            sd = g[sd_column].to_numpy(float)
            ax.fill_between(t, y - 1.96 * sd, y + 1.96 * sd, color=col, alpha=0.2, lw=0)
        if truth is not None:
            tg = truth[truth["region"] == reg].sort_values("year")
            if len(tg):
                ax.plot(tg["year"], tg[column], "--", color=col, lw=1)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("year")
    ax.set_ylabel(f"{column.replace('_TgC', '')} carbon (TgC)")
    ax.set_title(
        title or "Carbon stock per region" + (" (dashed: truth)" if truth is not None else "")
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig


def _bands_of(result, max_size):
    from pathlib import Path

    if isinstance(result, (str, Path)):
        import rasterio
        from rasterio.enums import Resampling

        with rasterio.open(result) as ds:
            scale = max(1.0, max(ds.width, ds.height) / float(max_size))
            shape = (max(1, int(round(ds.height / scale))), max(1, int(round(ds.width / scale))))
            out = {
                d: ds.read(
                    i,
                    out_shape=shape,
                    resampling=Resampling.nearest,
                    out_dtype=np.float64,
                    masked=True,
                ).filled(np.nan)
                for i, d in enumerate(ds.descriptions, 1)
            }
            alpha = float(ds.tags().get("alpha", 0.05))
            from rasterio.plot import plotting_extent

            extent = np.asarray(plotting_extent(ds)) / 1000.0
            unit = ds.units[0] if ds.units and ds.units[0] else "unit/yr"
        return out, alpha, extent, unit
    b = result.bands
    step = max(1, int(np.ceil(max(b["slope"].shape) / float(max_size))))
    out = {k: np.asarray(v, dtype=float)[::step, ::step] for k, v in b.items()}
    extent = None
    if result.transform is not None:
        H, W = b["slope"].shape
        t = result.transform
        extent = np.array([t.c, t.c + W * t.a, t.f + H * t.e, t.f]) / 1000.0
    return out, result.alpha, extent, f"{result.unit}/yr"


def plot_trend_map(
    result,
    *,
    alpha: float | None = None,
    breakpoints: bool = True,
    max_size: int = 1024,
    vmax: float | None = None,
    title: str | None = None,
):
    """Map of the Theil-Sen slope with non-significant cells greyed, and of the change-point years.

    Parameters
    ----------
    result : TrendResult, str or Path
        From :func:`trend_map` (a trend GeoTIFF is read decimated to ``max_size``).
    alpha : float, optional
        Significance level (default the one of the trend map); applies to the Pettitt panel too.
    breakpoints : bool, default True
        Add the panel of the first year of the new regime where Pettitt's p < alpha.
    max_size : int, default 1024
    vmax : float, optional
        Symmetric colour limit of the slope (default the 98th percentile of |slope|).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    b, a0, extent, unit = _bands_of(result, max_size)
    a = a0 if alpha is None else float(alpha)
    slope, p = b["slope"], b["p_value"]
    show_bp = breakpoints and "breakpoint_year" in b and np.isfinite(b["breakpoint_year"]).any()
    n = 2 if show_bp else 1
    fig, axes = plt.subplots(1, n, figsize=(5.4 * n, 4.6), squeeze=False, layout="constrained")
    ax = axes[0, 0]
    fin = np.abs(slope[np.isfinite(slope)])
    top = vmax if vmax is not None else (float(np.percentile(fin, 98)) if fin.size else 1.0) or 1.0
    kw = dict(extent=extent, interpolation="nearest")
    im = ax.imshow(slope, cmap="RdBu", vmin=-top, vmax=top, **kw)
    fig.colorbar(im, ax=ax, label=f"Theil-Sen slope ({unit})", shrink=0.85)
    ns = np.where(np.isfinite(p) & (p >= a), 1.0, np.nan)
    ax.imshow(ns, cmap="Greys", vmin=0, vmax=1.5, alpha=0.75, **kw)
    pct = 100.0 * np.mean(p[np.isfinite(p)] < a) if np.isfinite(p).any() else 0.0
    ax.set_title(f"trend (grey: Mann-Kendall p >= {a:g}; {pct:.0f} % significant)", fontsize=9)
    if show_bp:
        ax2 = axes[0, 1]
        by = np.where(b["breakpoint_p"] < a, b["breakpoint_year"], np.nan)
        fy = by[np.isfinite(by)]
        im2 = ax2.imshow(
            by,
            cmap="viridis",
            vmin=fy.min() if fy.size else None,
            vmax=fy.max() if fy.size else None,
            **kw,
        )
        fig.colorbar(im2, ax=ax2, label="first year after the change", shrink=0.85)
        ax2.set_title(f"Pettitt change point (p < {a:g})", fontsize=9)
    for axx in axes[0]:
        axx.set_xlabel("easting (km)" if extent is not None else "column")
        axx.set_ylabel("northing (km)" if extent is not None else "row")
    if title:
        fig.suptitle(title)
    return fig
