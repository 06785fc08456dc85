"""The plots that ``qc="drop"`` left out, scored as held-out plots beside the kept plots' CV.

Dropping plots changes what the CV measures: the scores of the kept plots alone are those of a
cleaner sample, not of the population the map is made for. With ``qc="drop"`` the fit reports
both, side by side: the kept plots' out-of-fold predictions (spatial CV, first fold seed), and
the same plus the dropped plots predicted by the final model, which was fitted on the kept
plots only and so never saw them (a held-out prediction, as in the spatial CV).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pandas as pd

from ..metrics import mae, mean_residual, r2, rmse
from ._fit_qc import _QCResult


def held_out_scores(y_true, y_pred) -> dict:
    """RMSE, MAE, R2 and mean residual (observed - predicted) of one set of plots.

    Examples
    --------
    >>> held_out_scores([1.0, 2.0, 3.0], [1.0, 2.0, 6.0])
    {'n': 3, 'rmse': 1.7320508075688772, 'mae': 1.0, 'r2': -3.5, 'mean_residual': -1.0}
    """
    y, p = np.asarray(y_true, float), np.asarray(y_pred, float)
    return {
        "n": len(y),
        "rmse": rmse(y, p),
        "mae": mae(y, p),
        "r2": r2(y, p),
        "mean_residual": mean_residual(y, p),
    }


def score_dropped(
    qc: _QCResult,
    table: pd.DataFrame,
    final,
    plots_out: pd.DataFrame,
    target: str,
    echo: Callable[[str], None],
) -> _QCResult:
    """Under ``qc="drop"``: the flagged plots predicted by the final model (the qc table's
    ``held_out`` column) and the manifest's ``qc.cv_side_by_side`` entry, ``{"kept": scores
    of the kept plots' spatial out-of-fold predictions, "kept_and_dropped": the same with the
    dropped plots' held-out predictions}``; one line echoed. Other modes: ``qc`` unchanged.
    """
    q = qc.table
    if qc.info.get("mode") != "drop" or not len(q) or not (q["flagged"] & q["dropped"]).any():
        return qc
    idx = q.index[q["flagged"] & q["dropped"]]
    pred = np.asarray(final.model.predict(table.loc[idx, final.columns]), float)
    q = q.assign(held_out=np.nan)
    q.loc[idx, "held_out"] = pred
    y_kept = plots_out[target].to_numpy(float)
    p_kept = plots_out["oof_spatial"].to_numpy(float)
    y_all = np.concatenate([y_kept, table.loc[idx, target].to_numpy(float)])
    p_all = np.concatenate([p_kept, pred])
    side = {
        "kept": held_out_scores(y_kept, p_kept),
        "kept_and_dropped": held_out_scores(y_all, p_all),
        "dropped_predicted_by": "final model fitted on the kept plots",
    }
    info = {**qc.info, "cv_side_by_side": side}
    k, a = side["kept"], side["kept_and_dropped"]
    echo(
        f"    spatial CV with the {len(idx)} dropped plots scored as held-out plots: RMSE "
        f"{a['rmse']:.4g} (kept only: {k['rmse']:.4g}), R2 {a['r2']:.3f} (kept only: "
        f"{k['r2']:.3f})"
    )
    return dataclasses.replace(qc, table=q, info=info)
