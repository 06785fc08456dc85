"""Figures of SHAP explanations; each function returns a matplotlib Figure."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._compat import renamed_kwargs

__all__ = [
    "plot_importance",
    "plot_summary",
    "plot_dependence",
    "plot_interaction",
    "plot_top_interactions",
]


def _axes(ax, figsize):
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, constrained_layout=True)
        return fig, ax
    return ax.figure, ax


@renamed_kwargs({"units": "unit"})
def plot_importance(
    imp: pd.Series, max_display: int = 20, ax=None, unit: str = "Mg/ha", title: str | None = None
):
    """Horizontal bars of mean |SHAP| (features or groups), most important on top.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig = plot_importance(pd.Series({"ndvi": 2.0, "slope": 1.0}))
    >>> ax = fig.axes[0]
    >>> [t.get_text() for t in ax.get_yticklabels()], [float(p.get_width()) for p in ax.patches]
    (['slope', 'ndvi'], [1.0, 2.0])
    >>> plt.close(fig)
    """
    imp = imp.sort_values(ascending=False).head(max_display)[::-1]
    fig, ax = _axes(ax, (6.0, 0.3 * len(imp) + 1.2))
    ax.barh(np.arange(len(imp)), imp.to_numpy(), color="#3b7dd8")
    ax.set_yticks(np.arange(len(imp)), [str(i) for i in imp.index])
    ax.set_xlabel(f"mean |SHAP value| ({unit})")
    ax.set_title(
        title or ("Group importance" if imp.index.name == "group" else "Feature importance")
    )
    return fig


def _swarm_offsets(v, width=0.4, n_bins=80):
    """Vertical offsets that spread points with similar values (a simple beeswarm)."""
    off = np.zeros(v.size)
    if v.size == 0 or np.ptp(v) == 0:
        return off
    bins = np.floor((v - v.min()) / np.ptp(v) * (n_bins - 1)).astype(int)
    order = np.argsort(bins, kind="stable")
    counts = np.bincount(bins, minlength=n_bins)
    peak = max(counts.max(), 1)
    start = 0
    for c in counts:
        if c:
            idx = order[start : start + c]
            k = np.arange(c)
            off[idx] = np.where(k % 2 == 0, 1, -1) * ((k + 1) // 2) / peak * width
        start += c
    return off


@renamed_kwargs({"units": "unit"})
def plot_summary(
    values,
    data: pd.DataFrame,
    feature_names,
    max_display: int = 20,
    unit: str = "Mg/ha",
    cmap: str = "coolwarm",
):
    """Beeswarm of SHAP values per feature, coloured by the feature value (low blue, high red).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> data = pd.DataFrame({"ndvi": [0.5, 0.8], "slope": [10.0, 20.0]})
    >>> fig = plot_summary([[1.0, -2.0], [3.0, 0.5]], data, ["ndvi", "slope"])
    >>> ax = fig.axes[0]
    >>> [t.get_text() for t in ax.get_yticklabels()]   # mean |SHAP| 1.25 and 2.0, top last
    ['slope', 'ndvi']
    >>> ax.collections[-1].get_offsets()[:, 0].tolist()   # the SHAP values of ndvi
    [1.0, 3.0]
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    v = np.asarray(values, dtype=float)
    names = list(feature_names)
    order = np.argsort(-np.abs(v).mean(axis=0), kind="stable")[:max_display][::-1]
    fig, ax = plt.subplots(figsize=(7.0, 0.35 * len(order) + 1.5), constrained_layout=True)
    sc = None
    for row, j in enumerate(order):
        col = pd.to_numeric(data.iloc[:, j], errors="coerce").to_numpy(dtype=float)
        ok = np.isfinite(col)
        lo, hi = np.nanpercentile(col, [5, 95]) if ok.any() else (0.0, 1.0)
        c = np.clip((col - lo) / (hi - lo), 0, 1) if hi > lo else np.full(col.shape, 0.5)
        y = row + _swarm_offsets(v[:, j])
        ax.scatter(v[~ok, j], y[~ok], s=6, color="#999999", alpha=0.6, linewidths=0)
        sc = ax.scatter(
            v[ok, j], y[ok], c=c[ok], s=6, cmap=cmap, vmin=0, vmax=1, alpha=0.8, linewidths=0
        )
    ax.axvline(0.0, color="#555555", lw=0.8)
    ax.set_yticks(np.arange(len(order)), [names[j] for j in order])
    ax.set_xlabel(f"SHAP value ({unit})")
    if sc is not None:
        cb = fig.colorbar(sc, ax=ax, ticks=[0, 1], aspect=40)
        cb.ax.set_yticklabels(["low", "high"])
        cb.set_label("feature value")
    return fig


@renamed_kwargs({"units": "unit"})
def plot_dependence(
    x,
    shap_values,
    feature: str,
    *,
    color=None,
    color_name: str | None = None,
    fit=None,
    ax=None,
    unit: str = "Mg/ha",
    cmap: str = "viridis",
):
    """SHAP dependence: a feature's SHAP values against its values, coloured by another feature.

    The black dashed line marks the feature's median; with ``fit`` (a
    :class:`~geoagb.explain.SegmentedFit`) the broken line is drawn and each threshold is a red
    dotted line with its confidence interval shaded, as in Figure 5 of the Shenzhen urban
    vegetation carbon study (Remote Sensing, 2026).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig = plot_dependence([0.2, 0.4, 0.9], [-1.0, 0.5, 2.0], "ndvi")
    >>> ax = fig.axes[0]
    >>> ax.get_xlabel(), float(ax.lines[1].get_xdata()[0])     # the median of ndvi
    ('ndvi', 0.4)
    >>> plt.close(fig)
    """
    x = np.asarray(x, dtype=float)
    s = np.asarray(shap_values, dtype=float)
    fig, ax = _axes(ax, (6.0, 4.2))
    if color is not None:
        c = np.asarray(color, dtype=float)
        sc = ax.scatter(x, s, c=c, s=10, cmap=cmap, alpha=0.8, linewidths=0)
        fig.colorbar(sc, ax=ax, label=color_name or "")
    else:
        ax.scatter(x, s, s=10, color="#3b7dd8", alpha=0.7, linewidths=0)
    ax.axhline(0.0, color="#999999", lw=0.6)
    if np.isfinite(x).any():
        ax.axvline(np.nanmedian(x), color="black", ls="--", lw=1.0, label="median")
    if fit is not None:
        xs = np.linspace(np.nanmin(x), np.nanmax(x), 300)
        ax.plot(xs, fit.predict(xs), color="black", lw=1.5, label="segmented fit")
        for j, psi in enumerate(fit.breakpoints):
            lo, hi = fit.ci[j]
            ax.axvspan(lo, hi, color="red", alpha=0.12, lw=0)
            ax.axvline(
                psi,
                color="red",
                ls=":",
                lw=1.5,
                label=f"threshold (CI {100 * (1 - fit.alpha):.0f} %)" if j == 0 else None,
            )
        ax.legend(loc="best", fontsize=8, frameon=False)
    ax.set_xlabel(feature)
    ax.set_ylabel(f"SHAP value of {feature} ({unit})")
    return fig


@renamed_kwargs({"units": "unit"})
def plot_interaction(
    x1, main, pair, x2, f1: str, f2: str, unit: str = "Mg/ha", cmap: str = "viridis"
):
    """Two panels: the main effect of ``f1`` and its interaction with ``f2`` (``Phi_12 + Phi_21``)
    against ``f1``, coloured by ``f2``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig = plot_interaction([0.2, 0.4, 0.9], [-1.0, 0.5, 2.0], [0.1, 0.0, -0.3],
    ...                        [800.0, 900.0, 1000.0], "ndvi", "elevation")
    >>> [ax.get_title() for ax in fig.axes[:2]]
    ['main effect of ndvi', 'interaction ndvi x elevation']
    >>> fig.axes[1].collections[0].get_offsets()[:, 1].tolist()
    [0.1, 0.0, -0.3]
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10.0, 4.0), constrained_layout=True, sharex=True)
    c = np.asarray(x2, dtype=float)
    axes[0].scatter(x1, main, c=c, s=10, cmap=cmap, alpha=0.8, linewidths=0)
    axes[0].set_title(f"main effect of {f1}")
    axes[0].set_ylabel(f"SHAP main effect ({unit})")
    sc = axes[1].scatter(x1, pair, c=c, s=10, cmap=cmap, alpha=0.8, linewidths=0)
    axes[1].set_title(f"interaction {f1} x {f2}")
    axes[1].set_ylabel(f"SHAP interaction ({unit})")
    for a in axes:
        a.axhline(0.0, color="#999999", lw=0.6)
        a.set_xlabel(f1)
    fig.colorbar(sc, ax=axes, label=f2)
    return fig


@renamed_kwargs({"units": "unit"})
def plot_top_interactions(top: pd.DataFrame, ax=None, unit: str = "Mg/ha"):
    """Bars of the strongest interactions from :func:`~geoagb.explain.top_interactions`.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from geoagb.explain import top_interactions
    >>> phi = np.zeros((2, 3, 3)); phi[:, 0, 2] = phi[:, 2, 0] = [0.5, -1.0]
    >>> fig = plot_top_interactions(top_interactions(phi, ["ndvi", "nir", "elevation"], k=2))
    >>> ax = fig.axes[0]
    >>> [t.get_text() for t in ax.get_yticklabels()], [float(p.get_width()) for p in ax.patches]
    (['ndvi x nir', 'ndvi x elevation'], [0.0, 1.5])
    >>> plt.close(fig)
    """
    t = top.iloc[::-1]
    fig, ax = _axes(ax, (6.0, 0.3 * len(t) + 1.2))
    labels = [f"{a} x {b}" for a, b in zip(t["feature_a"], t["feature_b"])]
    ax.barh(np.arange(len(t)), t["mean_abs_interaction"].to_numpy(), color="#d8613b")
    ax.set_yticks(np.arange(len(t)), labels)
    ax.set_xlabel(f"mean |SHAP interaction| ({unit})")
    ax.set_title("Strongest interactions")
    return fig
