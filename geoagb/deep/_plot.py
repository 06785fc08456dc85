"""Figures of the deep sub-package (matplotlib; no torch)."""

from __future__ import annotations

import numpy as np

from ._calibration import ONE_SD_COVERAGE, check_predictions

__all__ = ["plot_history", "plot_calibration"]


def plot_history(history: dict, ax=None, log: bool = True):
    """Training and validation loss per epoch, with the kept (best) epoch marked.

    Parameters
    ----------
    history : dict
        A fitted patch regressor's ``history_`` (keys ``epoch``, ``train_loss``, ``val_loss``,
        ``best_epoch``).
    ax : matplotlib Axes, optional
        Draw there instead of on a new figure.
    log : bool
        Logarithmic loss axis (only when every loss is positive).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_history({"epoch": [1, 2, 3], "train_loss": [1.0, 0.5, 0.4],
    ...                     "val_loss": [1.1, 0.7, 0.8], "best_epoch": 2})
    >>> [line.get_label() for line in fig.axes[0].get_lines()][:2]
    ['train', 'validation']
    """
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 3.2))
    else:
        fig = ax.figure
    ep = np.asarray(history["epoch"])
    tr = np.asarray(history["train_loss"], dtype=float)
    va = np.asarray(history.get("val_loss", [np.nan] * len(ep)), dtype=float)
    ax.plot(ep, tr, label="train")
    if np.isfinite(va).any():
        ax.plot(ep, va, label="validation")
    best = history.get("best_epoch")
    if best:
        ax.axvline(best, color="0.5", ls="--", lw=1, label=f"kept epoch {best}")
    vals = np.concatenate([tr, va[np.isfinite(va)]])
    if log and vals.size and np.all(vals > 0):
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def plot_calibration(y_true, y_pred, y_std, ax=None, label: str | None = None):
    """Coverage curve of predicted standard deviations: observed vs nominal Gaussian coverage.

    For ``k`` from 0 to 3, the share of ``|y_true - y_pred| <= k * y_std`` is plotted against
    the share a Gaussian predictive distribution promises, ``2 Phi(k) - 1`` (0.683 at k = 1):
    a calibrated model lies on the diagonal, an over-confident one below it. The k = 1 point
    is marked.

    Parameters
    ----------
    y_true, y_pred, y_std : array-like of shape (n,)
        Observations, predicted means and predicted standard deviations (held-out, e.g. the
        out-of-fold predictions of a cross-validation); NaN rows are ignored.
    ax : matplotlib Axes, optional
        Draw there instead of on a new figure (call again with the same ``ax`` to compare
        models).
    label : str, optional
        Legend entry of the curve.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> std = rng.uniform(1, 3, 2000)
    >>> fig = plot_calibration(rng.normal(0, std), np.zeros(2000), std, label="calibrated")
    >>> line = fig.axes[0].get_lines()[1]          # [0] is the diagonal
    >>> round(float(np.interp(0.683, *line.get_data())), 2)  # observed at nominal 68.3 %
    0.68
    """
    import matplotlib.pyplot as plt
    from scipy.stats import norm

    y_true, y_pred, y_std = check_predictions(y_true, y_pred, y_std)
    ok = np.isfinite(y_true) & np.isfinite(y_pred) & np.isfinite(y_std)
    if not ok.any():
        raise ValueError("no sample has finite y_true, y_pred and y_std; nothing to plot.")
    if np.any(y_std[ok] < 0):
        raise ValueError("y_std has negative values; pass predicted standard deviations (>= 0).")
    z = np.abs(y_true[ok] - y_pred[ok]) / np.maximum(y_std[ok], 1e-300)
    k = np.linspace(0.0, 3.0, 61)
    nominal = 2 * norm.cdf(k) - 1
    observed = (z[None, :] <= k[:, None]).mean(axis=1)
    if ax is None:
        fig, ax = plt.subplots(figsize=(4, 4))
    else:
        fig = ax.figure
    if not ax.get_lines():
        ax.plot([0, 1], [0, 1], color="0.6", ls="--", lw=1, label="calibrated")
    (line,) = ax.plot(nominal, observed, label=label)
    cov1 = float(np.mean(z <= 1.0))
    ax.plot([ONE_SD_COVERAGE], [cov1], "o", color=line.get_color())
    ax.annotate(
        f"{100 * cov1:.0f} % within 1 sd",
        (ONE_SD_COVERAGE, cov1),
        textcoords="offset points",
        xytext=(6, -12),
        fontsize=8,
        color=line.get_color(),
    )
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("nominal coverage (Gaussian)")
    ax.set_ylabel("observed coverage")
    ax.legend(frameon=False, loc="upper left")
    fig.tight_layout()
    return fig
