"""Quick-look figures of maps and map statistics (each function returns a matplotlib Figure)."""

from __future__ import annotations

import numpy as np
import rasterio
from rasterio.enums import Resampling

from .._compat import renamed_kwargs
from ..raster import find_band

__all__ = ["plot_agb_map", "plot_power_law", "plot_class_frequencies"]


def _read_decimated(ds, band: int, max_size: int) -> np.ndarray:
    scale = max(1.0, max(ds.width, ds.height) / float(max_size))
    shape = (max(1, int(round(ds.height / scale))), max(1, int(round(ds.width / scale))))
    a = ds.read(
        band, out_shape=shape, resampling=Resampling.average, out_dtype=np.float64, masked=True
    )
    return a.filled(np.nan)


@renamed_kwargs({"raster": "agb_raster"})
def plot_agb_map(
    agb_raster,
    *,
    std: bool = True,
    max_size: int = 1024,
    cmap: str = "YlGn",
    vmax: float | None = None,
    title: str | None = None,
):
    """Quick look of an AGB map (and its ``agb_std`` band when present), Mg/ha.

    Parameters
    ----------
    agb_raster : str or Path
        Map written by :func:`predict_raster` (bands ``agb`` [, ``agb_std``]).
    std : bool, default True
        Add a panel for the uncertainty band when the map has one.
    max_size : int, default 1024
        Largest side (pixels) read; large maps are read decimated (from their overviews).
    cmap : str, default "YlGn"
    vmax : float, optional
        Upper colour limit for AGB (default: the 99th percentile).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from rasterio.plot import plotting_extent

    with rasterio.open(agb_raster) as ds:
        ia = find_band(ds, "agb", 1)
        isd = find_band(ds, "agb_std") if std else None
        agb = _read_decimated(ds, ia, max_size)
        sd = _read_decimated(ds, isd, max_size) if isd else None
        extent = np.asarray(plotting_extent(ds)) / 1000.0
        res = ds.res[0]
    panels = [("AGB", agb, cmap)] + (
        [("AGB standard deviation", sd, "magma_r")] if sd is not None else []
    )
    fig, axes = plt.subplots(
        1, len(panels), figsize=(5.2 * len(panels), 4.6), squeeze=False, layout="constrained"
    )
    for ax, (name, arr, cm) in zip(axes[0], panels):
        finite = arr[np.isfinite(arr)]
        top = (
            vmax
            if (vmax is not None and name == "AGB")
            else (float(np.percentile(finite, 99)) if finite.size else 1.0)
        )
        im = ax.imshow(arr, extent=extent, cmap=cm, vmin=0, vmax=top, interpolation="nearest")
        fig.colorbar(im, ax=ax, label=f"{name} (Mg/ha)", shrink=0.85)
        ax.set_xlabel("easting (km)")
        ax.set_ylabel("northing (km)")
        ax.ticklabel_format(useOffset=False, style="plain")  # km, not "+2.75e3" offsets
        mean = float(np.mean(finite)) if finite.size else float("nan")
        ax.set_title(f"{name}: mean {mean:.1f} Mg/ha ({res:g} m cells)", fontsize=10)
    if title:
        fig.suptitle(title)
    return fig


def plot_power_law(fit, ax=None, max_points: int = 20_000, random_state=None):
    """Scatter of map AGB against canopy height with the fitted AGB = a H^b (FineKarstAGB Fig. 7).

    Parameters
    ----------
    fit : PowerLawFit
        From :func:`canopy_height_consistency` or :func:`fit_power_law`.
    ax : matplotlib Axes, optional
    max_points : int, default 20000
        Points drawn (a random subset of larger fits).
    random_state : int, RandomState, Generator or None, default None

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(4.8, 4.2), layout="constrained")
    else:
        fig = ax.figure
    h, y = fit.height, fit.agb
    if h is not None and h.size > max_points:
        from .._random import check_generator

        idx = check_generator(random_state).choice(h.size, max_points, replace=False)
        h, y = h[idx], y[idx]
    if h is not None:
        ax.scatter(h, y, s=4, alpha=0.35, color="tab:green", lw=0)
        grid = np.linspace(max(h.min(), 1e-3), h.max(), 200)
        ax.plot(grid, fit.predict(grid), color="k", lw=1.5)
    ax.set_xlabel("canopy height H (m)")
    ax.set_ylabel("AGB (Mg/ha)")
    ax.set_title(f"AGB = {fit.a:.3g} H^{fit.b:.3g},  R2 = {fit.r2:.2f},  n = {fit.n}", fontsize=10)
    return fig


def plot_class_frequencies(table, ax=None):
    """Bar chart of the area share of each AGB class (FineKarstAGB Fig. 9c).

    Parameters
    ----------
    table : DataFrame
        From :func:`agb_class_frequencies`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(5.0, 3.6), layout="constrained")
    else:
        fig = ax.figure
    t = table.drop(index="outside", errors="ignore")
    bars = ax.bar(range(len(t)), t["area_pct"].to_numpy(), color="tab:green")
    ax.bar_label(bars, fmt="%.1f%%", fontsize=8)
    ax.set_xticks(range(len(t)), [str(i) for i in t.index], rotation=30)
    ax.set_xlabel("AGB class (Mg/ha)")
    ax.set_ylabel("share of mapped area (%)")
    return fig
