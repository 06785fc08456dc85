"""Plot quality control before fitting (step 3 of :func:`~geoagb.workflow.fit_bundle`).

Plots that cannot be used are left out, each for the first of :data:`DROP_REASONS` that applies
(outside the rasters, missing or non-numeric target, missing feature), and counted in a line;
then the imagery check (:func:`geoagb.inventory.filter_inconsistent_plots`, studentized rule;
with a target declared non-negative also the sign rule) flags plots, each with the reason that
applied. ``qc="flag"`` (default) reports them and keeps every plot, ``qc="drop"`` leaves them
out (and :mod:`geoagb.workflow._fit_dropped` scores them as held-out plots), ``qc="off"`` skips
the check. Too few plots left, or a constant target, is an error naming the reasons and the fix.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyproj import CRS
from rasterio.transform import array_bounds

from ..inventory import filter_inconsistent_plots
from ._fit_steps import _FitInputs, _FitOptions
from ._plots_io import _crs_name

#: Why a plot is left out before fitting, in the order they are tested (the first one counts).
DROP_REASONS = (
    "outside the rasters",
    "missing target",
    "non-numeric target",
    "missing feature",
)
#: The values of the fit option ``qc``.
QC_MODES = ("flag", "drop", "off")
#: Plots the imagery check needs (its random forest is cross-validated with 5 folds).
_QC_MIN_PLOTS = 10
#: Features the imagery check prefers, where the recipe has them.
_QC_FEATURES = ("ndvi", "crown_cover", "height_mean")
_QC_COLUMNS = ["reason", "detail", "observed", "predicted", "statistic", "flagged", "dropped"]


@dataclass(frozen=True)
class _QCResult:
    """Step 3's result: the plots kept, the qc table of those left out, the manifest's qc entry."""

    data: pd.DataFrame  # kept plots: x, y, features, target
    table: pd.DataFrame  # one row per plot left out or flagged: reason, detail, ..., dropped
    info: dict

    @property
    def n_dropped(self) -> int:
        """Plots left out of the fit (unusable, or flagged under ``qc="drop"``)."""
        if "dropped" not in self.table.columns:  # a table of left-out plots only
            return int(len(self.table))
        return int(self.table["dropped"].sum())


def qc_mode(qc) -> str:
    """The fit option ``qc`` as one of :data:`QC_MODES`.

    ``True`` (the old default, which dropped the flagged plots) now means ``"flag"`` and warns;
    ``False`` means ``"off"`` as before.

    Examples
    --------
    >>> qc_mode("drop"), qc_mode(False)
    ('drop', 'off')
    """
    if qc is True:
        warnings.warn(
            "qc=True now means qc='flag': flagged plots are reported and kept; pass qc='drop' "
            "to leave them out (the old qc=True), or qc='flag' to silence this warning.",
            FutureWarning,
            stacklevel=3,
        )
        return "flag"
    if qc is False:
        return "off"
    if qc not in QC_MODES:
        raise ValueError(f"qc={qc!r} must be one of {QC_MODES} (or True / False).")
    return qc


def _quality_control(
    inputs: _FitInputs, table, opts: _FitOptions, echo: Callable[[str], None]
) -> _QCResult:
    """Step 3: the plots kept for fitting, the qc table (every plot left out or flagged, with
    its reason) and the manifest's qc entry.
    """
    gdf, target, features, unit = inputs.gdf, opts.target, inputs.feature_names, opts.unit
    mode = qc_mode(opts.qc)
    raw = gdf[target]
    attrs = gdf.attrs
    outside, where = _outside_rasters(
        gdf, inputs.ref, attrs.get("source_crs"), attrs.get("source_bounds")
    )
    reason = _drop_reasons(table, raw, target, features, outside)
    notes = _reason_notes(reason, table, raw, target, features, unit, where)
    info = _count_dropped(reason, notes, where, n_splits=int(opts.n_splits), mode=mode, echo=echo)
    complete = table.loc[reason == ""]
    _check_constant(complete[target].to_numpy(float), target, unit, "usable")
    rows = [
        (idx, r, _drop_detail(r, idx, table, raw, target, features), table.at[idx, target])
        + (np.nan, np.nan, False, True)
        for idx, r in reason[reason != ""].items()
    ]
    keep = (reason == "").to_numpy(copy=True)  # writable: qc="drop" narrows it
    if mode != "off":
        flagged = _imagery_check(complete, target, features, opts, mode, info, echo)
        rows += [
            (idx, r["reason"], r["detail"], r["observed"], r["predicted"], r["relative_error"])
            + (True, mode == "drop")
            for idx, r in flagged.iterrows()
        ]
        if mode == "drop":
            keep &= ~table.index.isin(flagged.index)
            for r, k in info["flagged_by_reason"].items():
                info["dropped_by_reason"][r] = info["dropped_by_reason"].get(r, 0) + k
    qc_table = _qc_table(rows, table)
    data = table.loc[keep]
    info["n_dropped"] = int(len(table) - len(data))
    _check_enough_kept(data, target, unit, opts.n_splits, info.get("flagged_by_reason", {}), mode)
    return _QCResult(data, qc_table, info)


def _imagery_check(complete, target, features, opts, mode, info, echo) -> pd.DataFrame:
    """The imagery check on the usable plots: the report of the flagged ones (each with the
    reason that applied); the manifest's qc entry filled in and one line echoed.
    """
    nonnegative = bool(getattr(opts, "nonnegative", target.lower() in {"agb", "biomass"}))
    qf = _imagery_features(complete, target, features, opts.qc_features)
    n_neg = int((complete[target] < 0).sum()) if nonnegative else 0
    if len(complete) - n_neg < _QC_MIN_PLOTS:
        raise ValueError(
            f"only {len(complete) - n_neg} of {len(complete)} usable plots have {target} >= 0 "
            f"({n_neg} negative target) and the imagery check needs at least {_QC_MIN_PLOTS}: "
            f"{target} is taken as non-negative; for a target that can be negative (e.g. an "
            "ordination axis) pass nonnegative=False, or skip the check with qc='off'."
        )
    _, report = filter_inconsistent_plots(
        complete,
        target=target,
        features=qf,
        random_state=opts.random_state,
        height=None,
        nonnegative=nonnegative,
    )
    counts = report["reason"].value_counts()
    by_reason = {str(r): int(k) for r, k in counts.items()}
    scale = "log" if complete[target].min() >= 0 else "identity"
    info.update(
        mode=mode,
        rule="studentized",
        features=qf,
        threshold=3.0,
        scale=scale,
        nonnegative=nonnegative,
        n_flagged=int(len(report)),
        flagged_by_reason=by_reason,
    )
    why = ", ".join(f"{k} {r}" for r, k in by_reason.items())
    action = (
        "kept them (qc='flag'; qc='drop' leaves them out)"
        if mode == "flag"
        else "left them out (qc='drop')"
    )
    echo(
        f"    quality control ({', '.join(qf)}; out-of-fold random forest, studentized residual "
        f"> 3{' on the log scale' if scale == 'log' else ''}"
        f"{'; sign rule: target >= 0' if nonnegative else ''}): flagged {len(report)} of "
        f"{len(complete)} plots{f' ({why})' if why else ''}"
        + (f"; {action}" if len(report) else "")
    )
    return report


def _count_dropped(reason, notes, where, *, n_splits: int, mode: str, echo) -> dict:
    """Each reason counted in a line; too few usable plots is an error naming reasons and fixes."""
    dropped = reason != ""
    counts = {r: int((reason == r).sum()) for r in DROP_REASONS if (reason == r).any()}
    if dropped.any():
        echo(f"    {int(dropped.sum())} of {len(reason)} plots are left out before fitting:")
        for r, k in counts.items():
            echo(f"      {k} {r}: {notes[r][0]}")
    n_ok, need = int((~dropped).sum()), 2 * n_splits
    if n_ok < need or (mode != "off" and n_ok < _QC_MIN_PLOTS):
        why = "; ".join(f"{k} {r}" for r, k in counts.items())
        rule = (
            f"{n_splits}-fold CV needs at least {need}"
            if n_ok < need
            else f"the imagery check needs at least {_QC_MIN_PLOTS}"
        )
        fixes = [notes[r][1] for r in sorted(counts, key=counts.get, reverse=True)]
        fixes.append(
            "add plots or lower n_splits=" if n_ok < need else "add plots or pass qc='off'"
        )
        outside_note = f" ({where})" if "outside the rasters" in counts else ""
        raise ValueError(
            f"only {n_ok} of {len(reason)} plots can be used"
            f"{f' ({why})' if why else ''} and {rule}{outside_note}: {'; '.join(fixes)}."
        )
    return {
        "mode": mode,
        "rule": None,
        "features": [],
        "threshold": None,
        "n_incomplete": int(dropped.sum()),
        "n_flagged": 0,
        "flagged_by_reason": {},
        "dropped_by_reason": counts,
    }


def _imagery_features(complete, target: str, features: list[str], qc_features) -> list[str]:
    """The imagery check's features: as given, else _QC_FEATURES + the most target-correlated."""
    qf = list(qc_features) if qc_features else [f for f in _QC_FEATURES if f in features]
    if not qc_features and len(qf) < 3:
        r = complete[features].corrwith(complete[target]).abs().sort_values(ascending=False)
        qf += [f for f in r.index if f not in qf][: 3 - len(qf)]
    missing = [f for f in qf if f not in features]
    if missing:
        raise ValueError(
            f"qc_features={missing} are not features of the recipe ({features}); "
            "name recipe features, or leave qc_features out."
        )
    return qf


def _qc_table(rows, table) -> pd.DataFrame:
    """The bundle's qc table: one row per plot left out or flagged, with its reason, detail,
    whether the imagery check flagged it, whether it was left out of the fit, and its place.
    """
    qc_table = pd.DataFrame(
        [r[1:] for r in rows],
        index=pd.Index([r[0] for r in rows], name="plot"),
        columns=_QC_COLUMNS,
    )
    qc_table = qc_table.astype(
        {
            "observed": float,
            "predicted": float,
            "statistic": float,
            "flagged": bool,
            "dropped": bool,
        }
    )
    qc_table = qc_table.loc[table.index[table.index.isin(qc_table.index)]]  # plot file order
    qc_table["x"] = table.loc[qc_table.index, "x"].to_numpy(float) if len(qc_table) else []
    qc_table["y"] = table.loc[qc_table.index, "y"].to_numpy(float) if len(qc_table) else []
    return qc_table


def _check_enough_kept(data, target: str, unit: str, n_splits: int, flagged, mode) -> None:
    """After quality control: enough plots for the folds, and a target that varies."""
    if len(data) < 2 * n_splits:
        why = "; ".join(f"{k} {r}" for r, k in flagged.items()) if mode == "drop" else ""
        raise ValueError(
            f"only {len(data)} plots are left after quality control"
            f"{f' (qc={mode!r} left out {why})' if why else ''}; {n_splits}-fold CV needs "
            f"at least {2 * n_splits}: add plots or lower n_splits="
            f"{', or keep the flagged plots with qc=' + repr('flag') if why else ''}."
        )
    _check_constant(data[target].to_numpy(float), target, unit, "kept")


def _num(v: float) -> str:
    """A coordinate for a message: whole metres past 1000, else 4 significant digits."""
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def _extent(bounds) -> str:
    """(west, south, east, north) as one phrase."""
    x0, y0, x1, y1 = bounds
    return f"x {_num(x0)} to {_num(x1)}, y {_num(y0)} to {_num(y1)}"


def _outside_rasters(gdf, ref, source_crs=None, source_bounds=None):
    """Plots whose centre is off the rasters' extent, and one sentence comparing the extents
    (both CRSs named).
    """
    w, s, e, n = array_bounds(ref.height, ref.width, ref.transform)
    pts = gdf.geometry
    if CRS.from_user_input(gdf.crs) != CRS.from_user_input(ref.crs):
        pts = pts.to_crs(ref.crs)
    px, py = pts.x.to_numpy(float), pts.y.to_numpy(float)
    inside = (px >= min(w, e)) & (px <= max(w, e)) & (py >= min(s, n)) & (py <= max(s, n))
    rname = _crs_name(ref.crs)
    text = f"the plots span {_extent((px.min(), py.min(), px.max(), py.max()))} in {rname}"
    if source_crs and source_bounds is not None and source_crs != rname:
        text += f" (read in {source_crs}: {_extent(source_bounds)})"
    text += f"; the rasters span {_extent((w, s, e, n))} there"
    return pd.Series(~inside, index=gdf.index), text


def _drop_reasons(table, raw, target, features, outside) -> pd.Series:
    """Per plot, the first of :data:`DROP_REASONS` that applies ("" where none does). No reason
    looks at the target's sign: that is the imagery check's sign rule, for a target declared
    non-negative only.
    """
    y = table[target]
    tests = [
        outside.to_numpy(bool),
        raw.isna().to_numpy(),
        (raw.notna() & y.isna()).to_numpy(),
        table[features].isna().any(axis=1).to_numpy(),
    ]
    reason = np.full(len(table), "", dtype=object)
    for name, hit in zip(DROP_REASONS, tests):
        reason[(reason == "") & hit] = name
    return pd.Series(reason, index=table.index)


def _drop_detail(reason, idx, table, raw, target, features) -> str:
    """The qc table's detail for one plot left out before fitting."""
    if reason == "outside the rasters":
        return f"at x {_num(table.at[idx, 'x'])}, y {_num(table.at[idx, 'y'])}"
    if reason == "missing target":
        return f"{target} is empty"
    if reason == "non-numeric target":
        return f"{target} = {str(raw.loc[idx])[:40]!r}"
    what = [f for f in features if pd.isna(table.at[idx, f])]  # missing feature
    return "missing " + ", ".join(what[:4]) + (" ..." if len(what) > 4 else "")


def _reason_notes(reason, table, raw, target, features, unit, where) -> dict:
    """What each reason means and its fix, for the lines before fitting and the error."""
    notes = {}
    counts = reason.value_counts()
    if "outside the rasters" in counts:
        notes["outside the rasters"] = (
            where,
            "check the plots' CRS (crs=) and that the plots lie on the rasters",
        )
    if "missing target" in counts:
        notes["missing target"] = (
            f"{target} is empty (NaN)",
            f"fill {target!r} or name the target column with target=",
        )
    if "non-numeric target" in counts:
        text = raw[reason == "non-numeric target"].astype(str).unique()[:3]
        notes["non-numeric target"] = (
            f"{target} holds text such as {', '.join(repr(t[:20]) for t in text)}",
            f"give numbers ({unit}) in {target!r} or name another column with target=",
        )
    if "missing feature" in counts:
        nan = table.loc[reason == "missing feature", features].isna().sum()
        nan = nan[nan > 0].sort_values(ascending=False)
        top = ", ".join(f"{f} {k}" for f, k in nan.head(4).items())
        notes["missing feature"] = (
            f"nodata in the rasters at the plot: {top}",
            "check the rasters' nodata value and extent, or leave those features out of the recipe",
        )
    return notes


def _check_constant(y, target, unit, what) -> None:
    """A constant target (nothing to learn) is an error naming its value."""
    if len(y) >= 2 and np.ptp(y) == 0:
        raise ValueError(
            f"the target {target!r} is constant: all {len(y)} {what} plots have {target} = "
            f"{y[0]:g} {unit}, so there is nothing for a model to learn; check the column (a "
            "fill value?) or name the target column with target=."
        )
