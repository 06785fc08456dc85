"""Figures for the features sub-package (each returns a matplotlib Figure)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["plot_screening", "plot_feature_window"]


def plot_screening(table, top: int | None = 25, ax=None):
    """Bar chart of the correlation of each feature with the target, from :func:`screen_features`.

    Bars are coloured by category; selected features are solid, the others hatched.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`~geoagb.features.screen_features`.
    top : int or None, default 25
        Show the ``top`` features by ``|r|`` (None: all).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import pandas as pd
    >>> from geoagb.features import screen_features
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"ndvi": rng.normal(size=200), "noise": rng.normal(size=200)})
    >>> fig = plot_screening(screen_features(X, 2 * X["ndvi"] + rng.normal(size=200)))
    >>> ax = fig.axes[0]
    >>> [t.get_text() for t in ax.get_yticklabels()], round(float(ax.patches[1].get_width()), 2)
    (['noise', 'ndvi'], 0.89)
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    t = table if top is None else table.head(top)
    t = t.iloc[::-1]
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 0.28 * len(t) + 1.2))
    else:
        fig = ax.figure
    cats = list(dict.fromkeys(t["category"]))
    colors = dict(zip(cats, plt.get_cmap("tab10").colors))
    y = np.arange(len(t))
    for yi, (_, row) in zip(y, t.iterrows()):
        ax.barh(
            yi,
            row["r"],
            color=colors[row["category"]],
            edgecolor="k",
            linewidth=0.4,
            hatch=None if row["selected"] else "///",
            alpha=1.0 if row["selected"] else 0.55,
        )
    ax.set_yticks(y, t["feature"])
    ax.axvline(0, color="k", lw=0.6)
    ax.set_xlabel("Pearson r with the target")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colors[c]) for c in cats]
    handles.append(plt.Rectangle((0, 0), 1, 1, facecolor="w", edgecolor="k", hatch="///"))
    ax.legend(handles, cats + ["not selected"], fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def plot_feature_window(features, window, names: Sequence[str], out_resolution=None, ncols=3):
    """Maps of some features of a :class:`~geoagb.features.RasterFeatures` on one window.

    Parameters
    ----------
    features : RasterFeatures
    window : rasterio.windows.Window
    names : sequence of str
        Feature names to show.
    out_resolution : float, optional
        Passed to ``on_window`` (e.g. 30 m).
    ncols : int, default 3

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import tempfile
    >>> import matplotlib.pyplot as plt
    >>> from rasterio.windows import Window
    >>> from geoagb.datasets import make_scene
    >>> from geoagb.features import RasterFeatures
    >>> scene = make_scene(tempfile.mkdtemp(), size_m=300, n_plots=10, random_state=0)
    >>> rf = RasterFeatures(scene.sources, indices=["ndvi"], terrain=["slope"])
    >>> fig = plot_feature_window(rf, Window(0, 0, 60, 60), ["ndvi", "slope"], ncols=2)
    >>> [ax.get_title() for ax in fig.axes[:2]], fig.axes[0].images[0].get_array().shape
    (['ndvi', 'slope'], (60, 60))
    >>> plt.close(fig)
    """
    import matplotlib.pyplot as plt

    missing = [n for n in names if n not in features.feature_names]
    if missing:
        raise ValueError(
            f"features {missing} are not in the recipe; it has {features.feature_names}."
        )
    block = features.on_window(window, out_resolution=out_resolution)
    nrows = int(np.ceil(len(names) / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 3.0 * nrows), squeeze=False)
    for ax, name in zip(axes.ravel(), names):
        im = ax.imshow(block[features.feature_names.index(name)], cmap="viridis")
        ax.set_title(name, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(im, ax=ax, shrink=0.8)
    for ax in axes.ravel()[len(names) :]:
        ax.axis("off")
    fig.tight_layout()
    return fig
