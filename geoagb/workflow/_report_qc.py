"""The report's quality-control section: the qc table's plots by reason, the figure of observed
against out-of-fold predicted values with flagged plots marked by reason, and, under
``qc="drop"``, the CV of the kept plots beside the CV with the dropped plots held out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._html import mpl_text

_MARKERS = ("o", "s", "^", "D", "v", "P")


def dropped_rows(q: pd.DataFrame) -> pd.DataFrame:
    """The rows of a qc table left out of the fit (bundles before qc modes: every row).

    Examples
    --------
    >>> q = pd.DataFrame({"reason": ["a", "b"], "dropped": [True, False]})
    >>> dropped_rows(q)["reason"].tolist(), len(dropped_rows(q.drop(columns="dropped")))
    (['a'], 2)
    """
    return q[q["dropped"].astype(bool)] if "dropped" in q.columns else q


def reason_counts(q: pd.DataFrame) -> pd.DataFrame:
    """Plots per reason: flagged by the imagery check or unusable, and how many were left out.

    Examples
    --------
    >>> q = pd.DataFrame({"reason": ["x", "x", "y"], "dropped": [True, False, True]})
    >>> reason_counts(q).to_dict("index")
    {'x': {'plots': 2, 'left out': 1}, 'y': {'plots': 1, 'left out': 1}}
    """
    d = dropped_rows(q).groupby("reason").size()
    out = q.groupby("reason").size().rename("plots").to_frame()
    out["left out"] = d.reindex(out.index, fill_value=0).astype(int)
    return out


def side_by_side(entry: dict) -> pd.DataFrame:
    """The manifest's ``qc.cv_side_by_side`` as a table: one row per score, one column per set.

    Examples
    --------
    >>> e = {"kept": {"n": 2, "rmse": 1.0}, "kept_and_dropped": {"n": 3, "rmse": 2.0}}
    >>> side_by_side(e).loc["rmse"].tolist()
    [1.0, 2.0]
    """
    cols = {"kept": "kept plots only", "kept_and_dropped": "kept + dropped plots (held out)"}
    return pd.DataFrame({cols[k]: pd.Series(entry[k], dtype=float) for k in cols})


def qc_figure(bundle):
    """``(title, fig, caption)``: observed against out-of-fold predicted target, every plot
    fitted grey, flagged plots marked by reason; dropped plots (``qc="drop"``) at their held-out
    prediction by the final model. None when no plot was flagged.
    """
    import matplotlib.pyplot as plt

    p, q, t, u = bundle.plots, bundle.qc, bundle.target, bundle.unit
    flagged = q[q["flagged"].astype(bool)] if "flagged" in q.columns else q.iloc[:0]
    if not len(flagged):
        return None
    fig, ax = plt.subplots(figsize=(6.0, 5.0), layout="constrained")
    ax.scatter(p[t], p["oof_spatial"], s=10, color="0.7", label=f"fitted plots ({len(p)})")
    pts = [p[t].to_numpy(float), p["oof_spatial"].to_numpy(float)]
    for k, (reason, rows) in enumerate(flagged.groupby("reason")):
        kept = rows.index[~rows["dropped"].astype(bool)].intersection(p.index)
        obs = np.concatenate([p.loc[kept, t], rows.loc[rows["dropped"].astype(bool), "observed"]])
        held = rows.loc[rows["dropped"].astype(bool)].get("held_out", pd.Series(dtype=float))
        pred = np.concatenate([p.loc[kept, "oof_spatial"], held.to_numpy(float)])
        ax.scatter(
            obs,
            pred,
            s=36,
            marker=_MARKERS[k % len(_MARKERS)],
            facecolor="none",
            edgecolor=f"C{k + 1}",
            label=f"{reason} ({len(rows)})",
        )
        pts += [obs, pred]
    v = np.concatenate(pts)
    lo, hi = float(np.nanmin(v)), float(np.nanmax(v))
    ax.plot([lo, hi], [lo, hi], color="k", lw=1)
    ax.set_xlabel(mpl_text(f"observed {t} ({u})"))
    ax.set_ylabel(mpl_text(f"out-of-fold predicted {t} ({u})"))
    ax.legend(fontsize=7)
    mode = bundle.manifest["qc"].get("mode", "drop")
    caption = (
        "Grey: every plot used in the fit, at its spatial out-of-fold prediction. Open marks: "
        "plots the quality control flagged, by reason"
        + (
            "; they were kept and fitted (qc='flag')."
            if mode == "flag"
            else "; those left out (qc='drop') are shown at the prediction of the final model, "
            "which never saw them."
        )
    )
    return "Plots flagged by quality control", fig, caption
