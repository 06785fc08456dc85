"""Figures for spatial cross-validation."""

from __future__ import annotations

import numpy as np

from .._compat import renamed_kwargs
from .._coords import get_coords
from ..metrics import agb_scores, format_bias
from ._blocks import block_origin

__all__ = ["plot_folds", "plot_predicted_observed", "plot_block_size_sensitivity"]


def _fig_ax(ax, figsize=(6, 5)):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def plot_folds(cv, X, ax=None):
    """Map of samples coloured by test fold, with the block grid of a block splitter.

    Parameters
    ----------
    cv : splitter
        A geoagb or scikit-learn splitter.
    X : GeoDataFrame, DataFrame or (n, 2) array
        The samples: point geometries, a DataFrame with the coordinate columns ``cv.coords``
        (default ``("x", "y")``, metres), or the (n, 2) coordinates themselves.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from sklearn.model_selection import KFold
    >>> xy = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> fig = plot_folds(KFold(2), xy)
    >>> ax = fig.axes[0]
    >>> ax.get_title(), ax.collections[0].get_array().tolist()     # test fold of each sample
    ('KFold: 2 folds', [0.0, 0.0, 1.0, 1.0])
    >>> plt.close(fig)
    """
    xy = get_coords(X, getattr(cv, "coords", ("x", "y")), allow_array=True)
    fold = np.full(len(xy), -1)
    for k, (_, test) in enumerate(cv.split(X)):
        fold[test] = k
    fig, ax = _fig_ax(ax)
    sc = ax.scatter(xy[:, 0], xy[:, 1], c=fold, cmap="tab10" if fold.max() < 10 else "tab20", s=8)
    bs = getattr(cv, "block_size", None)
    if bs is not None:
        x0, y0 = block_origin(xy, getattr(cv, "origin", "upper_left"))
        xs = x0 + bs * np.arange(0, int(np.ceil((xy[:, 0].max() - x0) / bs)) + 1)
        ys = y0 - bs * np.arange(0, int(np.ceil((y0 - xy[:, 1].min()) / bs)) + 1)
        for v in xs:
            ax.axvline(v, color="0.8", lw=0.5, zorder=0)
        for v in ys:
            ax.axhline(v, color="0.8", lw=0.5, zorder=0)
        ax.set_title(f"{type(cv).__name__}: {len(np.unique(fold))} folds, {bs / 1000:g} km blocks")
    else:
        ax.set_title(f"{type(cv).__name__}: {len(np.unique(fold))} folds")
    ax.set_xlabel("easting (m)")
    ax.set_ylabel("northing (m)")
    ax.set_aspect("equal")
    ax.ticklabel_format(useOffset=False, style="plain")
    fig.colorbar(sc, ax=ax, label="test fold")
    return fig


@renamed_kwargs({"units": "unit"})
def plot_predicted_observed(y, y_pred, groups=None, ax=None, title=None, unit="Mg/ha"):
    """Predicted against observed with the 1:1 line and the metrics in a corner.

    Parameters
    ----------
    y, y_pred : array-like
        Observed and predicted values; pairs with a non-finite value are left out.
    groups : array-like, optional
        Colours the points (e.g. the test fold).
    ax : matplotlib Axes, optional
    title : str, optional
    unit : str, default "Mg/ha"

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig = plot_predicted_observed([10, 20, 30], [12, 18, 33])
    >>> fig.axes[0].texts[0].get_text().splitlines()     # R2 = 1 - 17 / 200, bias = 3 / 60
    ['R² = 0.915', 'RMSE = 2.38 Mg/ha', 'MAE = 2.33 Mg/ha', 'bias = 5.00 %']
    >>> plt.close(fig)
    """
    y = np.asarray(y, float)
    p = np.asarray(y_pred, float)
    ok = np.isfinite(p) & np.isfinite(y)
    fig, ax = _fig_ax(ax, (5, 5))
    colour = {} if groups is None else {"c": np.asarray(groups)[ok], "cmap": "tab10"}
    ax.scatter(y[ok], p[ok], s=10, alpha=0.7, **colour)
    hi = float(max(y[ok].max(), p[ok].max())) * 1.05
    lo = min(0.0, float(min(y[ok].min(), p[ok].min())) * 1.05)  # a signed target below 0
    ax.plot([lo, hi], [lo, hi], color="k", lw=1)
    s = agb_scores(y[ok], p[ok])
    ax.text(
        0.03,
        0.97,
        f"R² = {s['r2']:.3f}\nRMSE = {s['rmse']:.2f} {unit}\nMAE = {s['mae']:.2f} {unit}"
        f"\n{format_bias(y[ok], p[ok], unit)}",  # percent only where the mean is positive
        transform=ax.transAxes,
        va="top",
    )
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_xlabel(f"observed ({unit})")
    ax.set_ylabel(f"predicted ({unit})")
    if title:
        ax.set_title(title)
    return fig


def plot_block_size_sensitivity(table, metric="r2", ax=None):
    """Training and validation ``metric`` (mean +- sd) by block size.

    The figure of the block-size sensitivity analysis (2, 5 and 10 km blocks) of the Shenzhen
    urban vegetation carbon study (Remote Sensing, 2026), its Fig. 3.

    Parameters
    ----------
    table : DataFrame
        One row per block size (index in metres, or labels), with columns
        ``train_<metric>_mean``, ``train_<metric>_sd``, ``validation_<metric>_mean`` and
        ``validation_<metric>_sd``.
    metric : str, default "r2"
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> t = pd.DataFrame({"train_r2_mean": [0.92, 0.90], "train_r2_sd": [0.05, 0.06],
    ...                   "validation_r2_mean": [0.60, 0.62], "validation_r2_sd": [0.10, 0.05]},
    ...                  index=[2000, 5000])
    >>> fig = plot_block_size_sensitivity(t)
    >>> ax = fig.axes[0]
    >>> [x.get_text() for x in ax.get_xticklabels()], ax.lines[3].get_ydata().tolist()
    (['2 km', '5 km'], [0.6, 0.62])
    >>> plt.close(fig)
    """
    fig, ax = _fig_ax(ax, (6, 4))
    labels = [f"{k / 1000:g} km" if not isinstance(k, str) else k for k in table.index]
    pos = np.arange(len(labels))
    for st, off, color in (("train", -0.12, "tab:blue"), ("validation", 0.12, "tab:orange")):
        ax.errorbar(
            pos + off,
            table[f"{st}_{metric}_mean"],
            yerr=table[f"{st}_{metric}_sd"],
            fmt="o",
            capsize=4,
            color=color,
            label=st,
        )
    ax.set_xticks(pos, labels)
    ax.set_xlabel("block size")
    ax.set_ylabel(metric.upper() if metric != "r2" else "R²")
    ax.legend()
    ax.set_title("Block-size sensitivity of spatial cross-validation")
    return fig
