"""Figures of the deep sub-package (matplotlib; no torch)."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_history"]


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
