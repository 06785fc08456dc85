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


def _colour_scale(finite: np.ndarray, cmap: str, diverging_cmap: str, vmax=None):
    """``(cmap, norm)`` of a map panel: diverging, centred at 0, when the values (1st to 99th
    percentile) cross 0; sequential from 0 (or from the 1st percentile when below 0) otherwise.
    Never clipped at 0: a negative value always has a colour of its own.
    """
    from matplotlib.colors import Normalize, TwoSlopeNorm

    if not finite.size:
        return cmap, Normalize(0.0, 1.0)
    lo, hi = (float(v) for v in np.percentile(finite, [1, 99]))
    hi = float(vmax) if vmax is not None else hi
    if lo < 0 < hi:
        return diverging_cmap, TwoSlopeNorm(vcenter=0.0, vmin=lo, vmax=hi)
    if lo >= 0:
        return cmap, Normalize(0.0, hi if hi > 0 else 1.0)
    return cmap, Normalize(lo, hi if hi > lo else lo + 1.0)


def _band_meta(ds):
    """``(band 1 index, std band index, name, unit)`` of a map: from its band description and
    unit (``agb`` in Mg/ha when it has none, as :func:`predict_raster` writes).
    """
    ia = find_band(ds, "agb", 1)
    name = ds.descriptions[ia - 1] or "agb"
    unit = ds.units[ia - 1] or "Mg/ha"
    isd = find_band(ds, f"{name}_std") or find_band(ds, "agb_std")
    label = "AGB" if name.lower() == "agb" else name
    return ia, isd, label, unit


@renamed_kwargs({"raster": "agb_raster"})
def plot_agb_map(
    agb_raster,
    *,
    std: bool = True,
    max_size: int = 1024,
    cmap: str = "YlGn",
    vmax: float | None = None,
    title: str | None = None,
    diverging_cmap: str = "RdBu_r",
):
    """Quick look of a map (and its standard deviation band when present), in its unit.

    The first band is drawn with its name and unit from the file (``agb``, Mg/ha for maps
    without a description; ``richness`` for a bundle fitted on richness). Values that cross 0
    get a diverging colour scale centred at 0 (``diverging_cmap``); others a sequential one
    (``cmap``) from 0, or from the 1st percentile when all are negative: never clipped at 0.

    Parameters
    ----------
    agb_raster : str or Path
        Map written by :func:`predict_raster` or ``Bundle.predict_map`` (bands ``agb``
        [, ``agb_std``], or ``<target>`` [, ``<target>_std``]).
    std : bool, default True
        Add a panel for the uncertainty band when the map has one.
    max_size : int, default 1024
        Largest side (pixels) read; large maps are read decimated (from their overviews).
    cmap : str, default "YlGn"
        Colour map of values on one side of 0.
    vmax : float, optional
        Upper colour limit of the first band (default: the 99th percentile).
    title : str, optional
    diverging_cmap : str, default "RdBu_r"
        Colour map of values that cross 0 (centred at 0 with
        :class:`matplotlib.colors.TwoSlopeNorm`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from rasterio.plot import plotting_extent

    with rasterio.open(agb_raster) as ds:
        ia, isd, name, unit = _band_meta(ds)
        isd = isd if std else None
        agb = _read_decimated(ds, ia, max_size)
        sd = _read_decimated(ds, isd, max_size) if isd else None
        extent = np.asarray(plotting_extent(ds)) / 1000.0
        res = ds.res[0]
    panels = [(name, agb, True)] + (
        [(f"{name} standard deviation", sd, False)] if sd is not None else []
    )
    fig, axes = plt.subplots(
        1, len(panels), figsize=(5.2 * len(panels), 4.6), squeeze=False, layout="constrained"
    )
    for ax, (label, arr, first) in zip(axes[0], panels):
        finite = arr[np.isfinite(arr)]
        if first:
            cm, norm = _colour_scale(finite, cmap, diverging_cmap, vmax)
        else:
            cm, norm = _colour_scale(finite, "magma_r", "magma_r")
        im = ax.imshow(arr, extent=extent, cmap=cm, norm=norm, interpolation="nearest")
        fig.colorbar(im, ax=ax, label=f"{label} ({unit})", shrink=0.85)
        ax.set_xlabel("easting (km)")
        ax.set_ylabel("northing (km)")
        ax.ticklabel_format(useOffset=False, style="plain")  # km, not "+2.75e3" offsets
        mean = float(np.mean(finite)) if finite.size else float("nan")
        ax.set_title(f"{label}: mean {mean:.1f} {unit} ({res:g} m cells)", fontsize=10)
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
