"""Figures of the kriging sub-package; each function returns a matplotlib Figure."""

from __future__ import annotations

import numpy as np

from .._compat import renamed_kwargs

__all__ = ["plot_variogram"]


@renamed_kwargs({"units": "unit"})
def plot_variogram(variogram, ax=None, *, title=None, unit=None):
    """Empirical semivariogram (points sized by pair count) and the fitted model.

    Parameters
    ----------
    variogram : Variogram
        Fitted variogram (a :meth:`~geoagb.kriging.Variogram.from_params` model shows the
        curve only).
    ax : matplotlib Axes, optional
        Axes to draw into; a new figure otherwise.
    title : str, optional
    unit : str, optional
        Units of the variable (e.g. ``"Mg/ha"``) for the y label.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    variogram._check_fitted()
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 3.8))
    else:
        fig = ax.figure
    lags = variogram.lags_
    hmax = variogram.effective_range_ * 1.3
    if lags is not None:
        ok = variogram.n_pairs_ > 0
        n = variogram.n_pairs_[ok]
        ax.scatter(
            lags[ok],
            variogram.gamma_[ok],
            s=15 + 60 * n / n.max(),
            color="C0",
            label="empirical (size: pairs)",
            zorder=3,
        )
        hmax = float(variogram.bin_edges_[-1])
    h = np.linspace(0.0, hmax, 300)
    ax.plot(h[1:], variogram(h[1:]), color="C3", label=f"{variogram.model_} model")
    ax.axhline(variogram.sill_, color="0.5", ls=":", lw=1)
    ax.axvline(
        variogram.effective_range_,
        color="0.5",
        ls="--",
        lw=1,
        label=f"effective range {variogram.effective_range_:,.0f} m",
    )
    ax.set_xlim(0, hmax)
    ax.set_ylim(0, None)
    ax.set_xlabel("lag distance (m)")
    ax.set_ylabel("semivariance" + (f" ({unit})²" if unit else ""))
    ax.set_title(
        title
        or (
            f"nugget {variogram.nugget_:.3g}, partial sill {variogram.psill_:.3g}, "
            f"range {variogram.range_:,.0f} m"
        ),
        fontsize=9,
    )
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
