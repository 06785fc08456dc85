"""``fit_bundle``: plots + rasters -> QC -> block size -> spatial CV -> fitted model bundle.

The steps, each reported in a line or two:

1. read the rasters (a folder or list) and the plots (any vector format or CSV, any CRS; see
   :func:`~geoagb.workflow.read_plots`), and build the feature recipe;
2. compute the features at the plots with that recipe (:meth:`RasterFeatures.at_points`), the
   same numbers mapping computes per cell;
3. plot quality control: plots that cannot be used are dropped, each reason counted in a line
   (:data:`DROP_REASONS`: outside the rasters, with both extents and CRSs; missing target;
   non-numeric target; missing feature; and, with the imagery check, a negative target), then
   those the imagery contradicts (:func:`geoagb.inventory.filter_inconsistent_plots`,
   studentized rule). Too few plots left, or a constant target, is an error naming the
   reasons and the fix;
4. block size: the effective range of the variogram of the learner's out-of-fold residuals
   (:func:`geoagb.model_selection.suggest_block_size`), unless given; kept no larger than what
   still gives one block per fold;
5. cross-validation: the model under spatial block k-fold at half, once and twice that block
   size and under random k-fold (:func:`geoagb.model_selection.block_size_sensitivity`), train
   and validation metrics per fold;
6. the model refitted on all plots, and everything written into one bundle.
"""

from __future__ import annotations

import numbers
import re
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ..raster import band_table, read_sources

__all__ = ["fit_bundle", "make_model", "MODELS"]

#: ``--model`` choices -> label used in titles.
MODELS = {
    "xgboost": "XGBoost",
    "rf": "Random forest",
    "rk-ok": "XGBoost + residual kriging",
    "rk-ck": "XGBoost + residual co-kriging",
}
_QC_FEATURES = ("ndvi", "crown_cover", "height_mean")
_METRICS = ("r", "r2", "rmse", "mae", "overall_bias")


def make_model(
    kind: str,
    *,
    secondary: str = "elevation",
    n_estimators: int | None = None,
    n_jobs: int = 1,
    random_state: int = 0,
):
    """The estimator behind ``--model``.

    * ``xgboost``: ``XGBRegressor(n_estimators=300, learning_rate=0.05, max_depth=4,
      subsample=0.8)``;
    * ``rf``: ``RandomForestRegressor(n_estimators=300, min_samples_leaf=2, max_features=0.5)``
      (its map gets the spread of the trees as uncertainty);
    * ``rk-ok``: that XGBoost plus kriging of its out-of-fold residuals
      (:class:`~geoagb.kriging.ResidualKrigingRegressor`, ``method="auto"``: simple or ordinary
      kriging, applied only where cross-validation finds that it helps);
    * ``rk-ck``: the same with collocated co-kriging on ``secondary`` (a feature, e.g. the DEM's
      ``elevation``).
    """
    from xgboost import XGBRegressor

    if kind not in MODELS:
        raise ValueError(f"model={kind!r} is not one of {', '.join(MODELS)}.")
    n = _n_trees(n_estimators)
    xgb = XGBRegressor(
        n_estimators=n,
        learning_rate=0.05,
        max_depth=4,
        subsample=0.8,
        n_jobs=n_jobs,
        random_state=random_state,
    )
    if kind == "xgboost":
        return xgb
    if kind == "rf":
        from sklearn.ensemble import RandomForestRegressor

        return RandomForestRegressor(
            n_estimators=n,
            min_samples_leaf=2,
            max_features=0.5,
            n_jobs=n_jobs,
            random_state=random_state,
        )
    from ..kriging import ResidualKrigingRegressor

    if kind == "rk-ok":
        return ResidualKrigingRegressor(
            xgb, method="auto", n_neighbors=64, random_state=random_state
        )
    return ResidualKrigingRegressor(
        xgb, method="cokriging", secondary=secondary, n_neighbors=64, random_state=random_state
    )


def _n_trees(n_estimators) -> int:
    """``n_estimators`` checked: None -> 300, else a whole number >= 1."""
    if n_estimators is None:
        return 300
    if (
        isinstance(n_estimators, bool)
        or not isinstance(n_estimators, numbers.Integral)
        or n_estimators < 1
    ):
        raise ValueError(
            f"n_estimators={n_estimators!r} must be a whole number >= 1 (trees of the learner), "
            "e.g. 300, or None for 300."
        )
    return int(n_estimators)


def _positive(name: str, value, unit: str = "metres") -> None:
    """A size given by the caller must be a finite number > 0 (None: the default)."""
    if value is None:
        return
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not (ok and np.isfinite(value) and value > 0):
        raise ValueError(f"{name}={value!r} must be a positive number of {unit}, or None.")


def _learner(model):
    from ..base import uses_coords

    return model.estimator if uses_coords(model) and hasattr(model, "estimator") else model


def _n_blocks(xy, size) -> int:
    from ..model_selection import block_labels

    return len(np.unique(block_labels(xy, size)))


def usable_block_size(xy, size: float, n_splits: int) -> float:
    """``size`` shrunk by steps of 20 % until the plots occupy at least ``n_splits`` blocks."""
    bs = float(size)
    for _ in range(200):
        if _n_blocks(xy, bs) >= n_splits:
            return bs
        bs *= 0.8
    raise ValueError(f"the plots cannot be split into {n_splits} spatial blocks; use fewer folds.")


def _progress(progress) -> bool:
    return sys.stderr.isatty() if progress is None else bool(progress)


#: Why a plot is left out before fitting, in the order they are tested (the first one counts).
DROP_REASONS = (
    "outside the rasters",
    "missing target",
    "non-numeric target",
    "missing feature",
    "negative target",
)
#: Plots the imagery check needs (its random forest is cross-validated with 5 folds).
_QC_MIN_PLOTS = 10


def _num(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.4g}"


def _extent(bounds) -> str:
    x0, y0, x1, y1 = bounds
    return f"x {_num(x0)} to {_num(x1)}, y {_num(y0)} to {_num(y1)}"


def _outside_rasters(gdf, ref, source_crs=None, source_bounds=None):
    """Plots whose centre is off the rasters' extent, and one sentence comparing the extents
    (both CRSs named).
    """
    from pyproj import CRS
    from rasterio.transform import array_bounds

    from ._plots_io import _crs_name

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


def _drop_reasons(table, raw, target, features, outside, qc) -> pd.Series:
    """Per plot, the first of :data:`DROP_REASONS` that applies ("" where none does).

    ``negative target`` only applies with the imagery check (``qc``), which needs AGB >= 0; a
    target that can be negative (an ordination axis) is kept without it.
    """
    y = table[target]
    tests = [
        outside.to_numpy(bool),
        raw.isna().to_numpy(),
        (raw.notna() & y.isna()).to_numpy(),
        table[features].isna().any(axis=1).to_numpy(),
        (y < 0).to_numpy() if qc else np.zeros(len(y), bool),
    ]
    reason = np.full(len(table), "", dtype=object)
    for name, hit in zip(DROP_REASONS, tests):
        reason[(reason == "") & hit] = name
    return pd.Series(reason, index=table.index)


def _drop_detail(reason, idx, table, raw, target, features) -> str:
    if reason == "outside the rasters":
        return f"at x {_num(table.at[idx, 'x'])}, y {_num(table.at[idx, 'y'])}"
    if reason == "missing target":
        return f"{target} is empty"
    if reason == "non-numeric target":
        return f"{target} = {str(raw.loc[idx])[:40]!r}"
    if reason == "missing feature":
        what = [f for f in features if pd.isna(table.at[idx, f])]
        return "missing " + ", ".join(what[:4]) + (" ..." if len(what) > 4 else "")
    return f"{target} = {table.at[idx, target]:g} < 0"


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
    if "negative target" in counts:
        notes["negative target"] = (
            f"{target} < 0, which the imagery check drops (AGB cannot be negative)",
            "for a target that can be negative (e.g. an ordination axis) pass qc=False",
        )
    return notes


def _check_constant(y, target, unit, what) -> None:
    if len(y) >= 2 and np.ptp(y) == 0:
        raise ValueError(
            f"the target {target!r} is constant: all {len(y)} {what} plots have {target} = "
            f"{y[0]:g} {unit}, so there is nothing for a model to learn; check the column (a "
            "fill value?) or name the target column with target=."
        )


def _qc(
    table,
    raw,
    y_name,
    features,
    qc,
    qc_features,
    random_state,
    echo,
    *,
    n_splits,
    outside,
    where,
    unit,
):
    """Plots that cannot be used (each reason counted), then the imagery check; returns
    (kept mask, report, qc info).
    """
    from ..inventory import filter_inconsistent_plots

    reason = _drop_reasons(table, raw, y_name, features, outside, qc)
    dropped = reason != ""
    rows = [
        (
            idx,
            r,
            _drop_detail(r, idx, table, raw, y_name, features),
            table.at[idx, y_name],
            np.nan,
            np.nan,
        )
        for idx, r in reason[dropped].items()
    ]
    complete = table.loc[~dropped]
    counts = {r: int((reason == r).sum()) for r in DROP_REASONS if (reason == r).any()}
    notes = _reason_notes(reason, table, raw, y_name, features, unit, where)
    info = {
        "rule": None,
        "features": [],
        "threshold": None,
        "n_incomplete": int(dropped.sum()),
        "dropped_by_reason": counts,
    }
    if dropped.any():
        echo(f"    {int(dropped.sum())} of {len(table)} plots are left out before fitting:")
        for r, k in counts.items():
            echo(f"      {k} {r}: {notes[r][0]}")
    n_ok = len(complete)
    need = 2 * n_splits
    if n_ok < need or (qc and n_ok < _QC_MIN_PLOTS):
        why = "; ".join(f"{k} {r}" for r, k in counts.items())
        rule = (
            f"{n_splits}-fold CV needs at least {need}"
            if n_ok < need
            else f"the imagery check needs at least {_QC_MIN_PLOTS}"
        )
        fixes = [notes[r][1] for r in sorted(counts, key=counts.get, reverse=True)]
        fixes.append(
            "add plots or lower n_splits=" if n_ok < need else "add plots or pass qc=False"
        )
        outside_note = f" ({where})" if "outside the rasters" in counts else ""
        raise ValueError(
            f"only {n_ok} of {len(table)} plots can be used"
            f"{f' ({why})' if why else ''} and {rule}{outside_note}: {'; '.join(fixes)}."
        )
    _check_constant(complete[y_name].to_numpy(float), y_name, unit, "usable")
    keep = ~dropped.to_numpy()
    if qc:
        qf = list(qc_features) if qc_features else [f for f in _QC_FEATURES if f in features]
        if not qc_features and len(qf) < 3:
            # fill up to three with the features most correlated with the target
            r = complete[features].corrwith(complete[y_name]).abs().sort_values(ascending=False)
            qf += [f for f in r.index if f not in qf][: 3 - len(qf)]
        missing = [f for f in qf if f not in features]
        if missing:
            raise ValueError(
                f"qc_features={missing} are not features of the recipe ({features}); "
                "name recipe features, or leave qc_features out."
            )
        kept, report = filter_inconsistent_plots(
            complete, target=y_name, features=qf, random_state=random_state, height=None
        )
        for idx, r in report.iterrows():
            rows.append(
                (idx, r["reason"], r["detail"], r["observed"], r["predicted"], r["relative_error"])
            )
        keep &= table.index.isin(kept.index)
        info.update(rule="studentized", features=qf, threshold=3.0)
        echo(
            f"    quality control ({', '.join(qf)}; out-of-fold random forest, studentized residual "
            f"> 3): dropped {len(report)} of {len(complete)} plots"
        )
    qc_table = pd.DataFrame(
        [r[1:] for r in rows],
        index=pd.Index([r[0] for r in rows], name="plot"),
        columns=["reason", "detail", "observed", "predicted", "statistic"],
    )
    qc_table = qc_table.astype({"observed": float, "predicted": float, "statistic": float})
    qc_table["x"] = table.loc[qc_table.index, "x"].to_numpy(float) if len(qc_table) else []
    qc_table["y"] = table.loc[qc_table.index, "y"].to_numpy(float) if len(qc_table) else []
    info["n_dropped"] = int(len(qc_table))
    return keep, qc_table, info


def _check_xgboost_names(feature_names, infos, sources) -> None:
    """XGBoost refuses feature names with ``[``, ``]`` or ``<``: name the band and the fix."""
    bad = [f for f in feature_names if re.search(r"[\[\]<]", f)]
    if not bad:
        return
    name = bad[0]
    clean = re.split(r"[\[\]<]", name)[0].strip() or re.sub(r"[\[\]<]", "_", name)
    table = band_table(infos)
    if name in table:
        key, i = table[name]
        desc = infos[key].descriptions[i - 1]
        where = f" (band {i} of {Path(sources[key]).name}, described {desc!r})"
        fix = (
            f'rename the band, e.g. python -c "import rasterio; d = rasterio.open('
            f"{str(sources[key])!r}, 'r+'); d.set_band_description({i}, {clean!r}); d.close()\""
        )
    else:
        where, fix = "", f"rename the feature in the recipe, e.g. {clean!r}"
    others = f" ({len(bad) - 1} more: {', '.join(bad[1:4])})" if len(bad) > 1 else ""
    raise ValueError(
        f"feature {name!r}{where} has a name XGBoost refuses ('[', ']' and '<' are not allowed "
        f"in its feature names){others}; {fix}, or use model='rf'."
    )


def _cv_entry(res) -> dict:
    s = res.summary(_METRICS, fmt=None)
    out = {}
    for st in ("train", "validation"):
        for c in s.columns:
            out[f"{st}_{c}"] = float(s.loc[st, c])
    for k, v in res.oof_scores().items():
        out[f"pooled_{k}"] = float(v)
    out["n_folds"] = int(res.folds["fold"].nunique())
    return out


def _block_info(sugg, used, given, variogram):
    info = {"used_m": float(used), "given": bool(given)}
    if sugg is not None:
        d = sugg.as_dict()
        info.update(
            suggested_m=float(sugg),
            effective_range_m=d["effective_range"],
            nugget_to_sill=d["nugget_to_sill"],
            plot_spacing_m=d["plot_spacing"],
            extent_m=d["extent"],
            variogram_model=d["model"],
            source=d["source"],
            trustworthy=bool(d["trustworthy"]),
            notes=list(d["notes"]),
        )
    if variogram is not None:
        v = variogram
        info["variogram"] = {
            "model": v.model_,
            "nugget": float(v.nugget_),
            "psill": float(v.psill_),
            "range": float(v.range_),
            "kappa": float(getattr(v, "kappa_", 0.5)),
            "sill": float(v.sill_),
            "effective_range": float(v.effective_range_),
            "lags": [float(a) for a in v.lags_],
            "gamma": [float(a) for a in v.gamma_],
            "n_pairs": [int(a) for a in v.n_pairs_],
            "max_lag": float(v.bin_edges_[-1]),
        }
    return info


def fit_bundle(
    plots,
    rasters,
    out=None,
    *,
    target: str = "agb",
    unit: str = "Mg/ha",
    model: str = "xgboost",
    config=None,
    bands=None,
    indices=None,
    textures=None,
    terrain=None,
    footprint: float | None = None,
    map_resolution: float | None = None,
    block_size: float | None = None,
    n_splits: int = 5,
    qc: bool = True,
    qc_features=None,
    secondary: str = "elevation",
    n_estimators: int | None = None,
    x: str | None = None,
    y: str | None = None,
    crs=None,
    layer=None,
    id_column: str | None = None,
    random_state: int = 0,
    n_jobs: int = 1,
    progress: bool | None = None,
    command: str | None = None,
    echo: Callable[[str], None] = print,
):
    """From a plot file and rasters to a validated, fitted model bundle (``geoagb fit``).

    Parameters
    ----------
    plots : str or Path
        Plot file (GeoPackage, shapefile, GeoParquet, CSV ...), see
        :func:`~geoagb.workflow.read_plots`.
    rasters : str, Path, list or dict
        Folder of co-registered GeoTIFFs, list of files, or ``{name: path}``.
    out : str or Path, optional
        Bundle file to write (``.geoagb``); None: not written.
    target, unit : str
        Target column and its unit (``Mg/ha`` for AGB, ``MgC/ha`` for carbon density).
    model : {"xgboost", "rf", "rk-ok", "rk-ck"}
        See :func:`make_model`.
    config : str, Path or dict, optional
        Feature recipe (TOML file or dict, see :mod:`geoagb.workflow._recipe`); ``bands``,
        ``indices``, ``textures`` and ``terrain`` (comma-separated names, ``"nir:7"`` for a 7 x 7
        texture) add to or override it. Without any: every raster band, plus NDVI.
    footprint : float, optional
        Side of the square plots, metres: features are summarised over it (default: the pixel
        under the plot centre).
    map_resolution : float, optional
        Default cell size of maps made with the bundle, metres (default: the footprint rounded
        to whole pixels, else the pixel size).
    block_size : float, optional
        Spatial CV block side, metres (default: suggested from the residual variogram).
    n_splits : int, default 5
        CV folds.
    qc : bool, default True
        Run the imagery-based plot quality control (plots lacking a feature are always dropped).
    qc_features : list of str, optional
        Features of the QC forest (default: ndvi, crown_cover, height_mean where present, else
        the three features most correlated with the target).
    secondary : str, default "elevation"
        Co-kriging secondary variable (``rk-ck``), a feature of the recipe.
    n_estimators : int, optional
        Trees of the learner, >= 1 (default 300).
    x, y, crs, layer : optional
        Coordinate columns, their CRS, and the layer of a multi-layer file.
    id_column : str, optional
        Plot identifier column (default: the row number).
    random_state : int, default 0
        Seed of folds, learners and QC.
    n_jobs : int, default 1
        Threads of the learner.
    progress : bool, optional
        Progress bars (default: when stderr is a terminal).
    command : str, optional
        The command line, recorded in the manifest.
    echo : callable
        Where progress lines go.

    Returns
    -------
    Bundle

    Raises
    ------
    ValueError
        Bad options, unreadable plots, too few usable plots (the message counts each reason
        and names the fix), a constant target, or a feature name XGBoost refuses (``[``, ``]``,
        ``<``). Messages name parameters (``n_splits=``); ``geoagb fit`` shows its flags.
    """
    from .. import __version__
    from .._coords import drop_coords
    from ..model_selection import block_size_sensitivity, suggest_block_size
    from ._bundle import (
        BUNDLE_FORMAT,
        Bundle,
        combined_hash,
        file_sha256,
        jsonable,
        package_versions,
        save_bundle,
    )
    from ._plots_io import (
        _crs_name,
        describe_sources,
        plot_summary_line,
        raster_sources,
        read_plots,
    )
    from ._recipe import build_features, freeze_recipe, load_config, make_recipe, needed_sources

    t0 = time.perf_counter()
    if out is not None:
        from .._io import check_output_path

        out = check_output_path(out, "out")
        if out.suffix.lower() != ".geoagb":
            raise ValueError(
                f"out={str(out)!r} must end in .geoagb, e.g. {out.with_suffix('.geoagb').name!r}."
            )
    if model not in MODELS:
        raise ValueError(f"model={model!r} is not one of {', '.join(MODELS)}.")
    if isinstance(n_splits, bool) or not isinstance(n_splits, numbers.Integral) or n_splits < 2:
        raise ValueError(f"n_splits={n_splits!r} must be a whole number >= 2 (CV folds), e.g. 5.")
    _n_trees(n_estimators)
    for name, value in (
        ("footprint", footprint),
        ("map_resolution", map_resolution),
        ("block_size", block_size),
    ):
        _positive(name, value)
    progress = _progress(progress)

    # 1. rasters, plots, recipe ------------------------------------------------------------------
    sources = dict(rasters) if isinstance(rasters, dict) else raster_sources(rasters)
    infos = read_sources(sources)
    ref = next(iter(infos.values()))
    echo(describe_sources(infos))
    gdf = read_plots(
        plots, target=target, x=x, y=y, crs=crs, layer=layer, raster_crs=ref.crs, echo=echo
    )
    echo(plot_summary_line(gdf, plots, target, unit))
    source_crs, source_bounds = gdf.attrs.get("source_crs"), gdf.attrs.get("source_bounds")
    if id_column is not None:
        if id_column not in gdf.columns:
            raise ValueError(
                f"id_column={id_column!r} is not a column of the plots ({list(gdf.columns)[:15]})."
            )
        if gdf[id_column].duplicated().any():
            raise ValueError(
                f"id_column={id_column!r} has duplicated values; plot ids must be unique."
            )
        gdf = gdf.set_index(id_column)
    gdf.index.name = "plot"
    cfg = load_config(config) if isinstance(config, (str, Path)) else dict(config or {})
    names = [n for n in band_table(infos) if ":" not in n]
    recipe = make_recipe(
        names, cfg, bands=bands, indices=indices, textures=textures, terrain=terrain
    )
    rf = build_features(sources, recipe)
    frozen = freeze_recipe(rf, recipe)
    feature_names = rf.feature_names
    if model != "rf":
        _check_xgboost_names(feature_names, infos, sources)
    if target in feature_names or target in ("x", "y"):
        raise ValueError(
            f"the target {target!r} has the name of a feature or coordinate; rename the "
            "target column (or the feature in the recipe)."
        )
    from pyproj import CRS

    if model.startswith("rk") and CRS.from_user_input(ref.crs).is_geographic:
        raise ValueError(
            f"model={model!r} krige residuals at map cells, whose coordinates are those "
            f"of the rasters, but the rasters' CRS ({_crs_name(ref.crs)}) is geographic; "
            "warp the rasters to a projected CRS first (gdalwarp -t_srs EPSG:<utm zone>)."
        )
    if model == "rk-ck" and secondary not in feature_names:
        raise ValueError(
            f"model='rk-ck' co-kriges with {secondary!r}, which is not a feature of the "
            f"recipe ({', '.join(feature_names)}); add it (e.g. terrain='elevation') or "
            "name another with secondary=."
        )

    # 2. features at the plots -------------------------------------------------------------------
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # NaN plots are reported by the QC step
        X = rf.at_points(gdf, footprint=footprint, progress=progress)
    echo(
        f"    {len(feature_names)} features per plot (recipe halo {rf.halo} px, footprint "
        f"{'pixel under the centre' if footprint is None else f'{float(footprint):g} m square'}): "
        f"{', '.join(feature_names[:8])}{' ...' if len(feature_names) > 8 else ''} "
        f"({time.perf_counter() - t:.1f} s)"
    )
    table = pd.DataFrame(
        {"x": gdf["x"].to_numpy(float), "y": gdf["y"].to_numpy(float)}, index=gdf.index
    ).join(X)
    raw = gdf[target]
    table[target] = pd.to_numeric(raw, errors="coerce")

    # 3. quality control -------------------------------------------------------------------------
    outside, where = _outside_rasters(gdf, ref, source_crs, source_bounds)
    keep, qc_table, qc_info = _qc(
        table,
        raw,
        target,
        feature_names,
        qc,
        qc_features,
        random_state,
        echo,
        n_splits=int(n_splits),
        outside=outside,
        where=where,
        unit=unit,
    )
    data = table.loc[keep]
    n = len(data)
    if n < 2 * n_splits:
        raise ValueError(
            f"only {n} plots are left after quality control; {n_splits}-fold CV needs "
            f"at least {2 * n_splits}: add plots or lower n_splits=."
        )
    _check_constant(data[target].to_numpy(float), target, unit, "kept")
    est = make_model(
        model,
        secondary=secondary,
        n_estimators=n_estimators,
        n_jobs=n_jobs,
        random_state=random_state,
    )
    learner = _learner(est)
    Xcv = data[["x", "y"] + feature_names]
    yv = data[target].to_numpy(float)

    # 4. block size ------------------------------------------------------------------------------
    from sklearn.base import clone
    from sklearn.model_selection import KFold, cross_val_predict

    t = time.perf_counter()
    oof = cross_val_predict(
        clone(learner), drop_coords(Xcv), yv, cv=KFold(5, shuffle=True, random_state=random_state)
    )
    resid = yv - oof
    xy = Xcv[["x", "y"]].to_numpy(float)
    sugg = None
    if n >= 30:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # notes are reported below
            sugg = suggest_block_size(xy, resid, random_state=random_state)
        sugg.source = f"out-of-fold residuals of {type(learner).__name__}"
    if block_size is None:
        if sugg is None:
            raise ValueError(
                f"{n} plots are too few to suggest a block size from a variogram (30 "
                "needed); give one with block_size= (metres)."
            )
        size = float(sugg)
        if size < sugg.plot_spacing:
            size = 3 * sugg.plot_spacing
        used = usable_block_size(xy, size, n_splits)
        msg = (
            f"    block size {used:,.0f} m: suggested {float(sugg):,.0f} m, the effective range of "
            f"the variogram of {type(learner).__name__}'s out-of-fold residuals ({sugg.model}, "
            f"nugget:sill {sugg.nugget_to_sill:.2f}, plot spacing {sugg.plot_spacing:,.0f} m)"
        )
        if abs(used - float(sugg)) > 1e-9 * max(used, 1.0):
            msg += (
                f"; {'raised to 3 plot spacings and ' if size != float(sugg) else ''}kept to "
                f"at least {n_splits} occupied blocks"
            )
        echo(msg + f" ({time.perf_counter() - t:.1f} s)")
        for note in sugg.notes:
            echo(f"    note: {note}")
    else:
        used = float(block_size)
        if _n_blocks(xy, used) < n_splits:
            raise ValueError(
                f"block_size={used:g} m leaves fewer than {n_splits} occupied blocks "
                f"(extent {np.ptp(xy, axis=0).max():,.0f} m); use a smaller block size "
                "or a lower n_splits=."
            )
        echo(
            f"    block size {used:,.0f} m (given)"
            + (
                f"; the residual variogram suggests {float(sugg):,.0f} m"
                if sugg is not None
                else ""
            )
        )

    # 5. cross-validation ------------------------------------------------------------------------
    t = time.perf_counter()
    sizes = [s for s in (used / 2, used, 2 * used) if s == used or _n_blocks(xy, s) >= n_splits]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        sens = block_size_sensitivity(
            est,
            Xcv,
            yv,
            sizes,
            n_splits=n_splits,
            random_state=random_state,
            include_random=True,
            progress=progress,
        )
    spatial, rnd = sens.results[used], sens.results["random"]
    frames = []
    for key, res in sens.results.items():
        f = res.folds.copy()
        f.insert(0, "block_size", np.nan if key == "random" else float(key))
        f.insert(
            0,
            "scheme",
            "random" if key == "random" else ("spatial" if key == used else "sensitivity"),
        )
        frames.append(f)
    cv_table = pd.concat(frames, ignore_index=True)
    cv_label = f"spatial {n_splits}-fold CV, {used:,.0f} m blocks"
    s_sp, s_rn = _cv_entry(spatial), _cv_entry(rnd)
    echo(
        f"    cross-validation, {n_splits} folds ({time.perf_counter() - t:.1f} s); validation "
        "metrics, mean and sd over folds, pooled = all out-of-fold predictions together:"
    )
    show = pd.DataFrame(
        {
            "R2": [s_sp["validation_r2_mean"], s_rn["validation_r2_mean"]],
            "R2 sd": [s_sp["validation_r2_sd"], s_rn["validation_r2_sd"]],
            f"RMSE ({unit})": [s_sp["validation_rmse_mean"], s_rn["validation_rmse_mean"]],
            "RMSE sd": [s_sp["validation_rmse_sd"], s_rn["validation_rmse_sd"]],
            "pooled R2": [s_sp["pooled_r2"], s_rn["pooled_r2"]],
            "train R2": [s_sp["train_r2_mean"], s_rn["train_r2_mean"]],
        },
        index=[f"spatial ({used:,.0f} m blocks)", "random"],
    )
    for line in show.to_string(float_format=lambda v: f"{v:.3f}").splitlines():
        echo("      " + line)

    # 6. final fit and the bundle ----------------------------------------------------------------
    t = time.perf_counter()
    from ..base import uses_coords

    aware = uses_coords(est)
    model_columns = (["x", "y"] if aware else []) + feature_names
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fitted = clone(est).fit(data[model_columns], yv)
    if model == "rf" and "n_jobs" in fitted.get_params():
        # a forest predicting on several threads sums its trees in a varying order (last-bit
        # differences): the stored model predicts on one, so that maps are reproducible
        fitted.set_params(n_jobs=1)
    kriging = None
    if hasattr(fitted, "summary") and aware:
        kriging = jsonable(fitted.summary().to_dict())
        if kriging["method"] == "none":
            echo(
                "    residual kriging on all plots: no correction; kriging the out-of-fold residuals "
                f"did not lower their cross-validated RMSE (gain {100 * kriging['estimated_gain']:.1f} %)"
            )
        else:
            echo(
                f"    residual kriging on all plots: {kriging['method']} kriging, correction "
                f"{kriging['correction']} (shrinkage {kriging['shrinkage']:.2f}, estimated RMSE gain "
                f"{100 * kriging['estimated_gain']:.1f} %)"
            )
    echo(f"    {MODELS[model]} fitted on {n} plots ({time.perf_counter() - t:.1f} s)")

    plots_out = data[["x", "y", target] + feature_names].copy()
    plots_out["oof_spatial"] = spatial.oof_predictions
    plots_out["fold_spatial"] = spatial.fold
    plots_out["oof_random"] = rnd.oof_predictions
    plots_out["fold_random"] = rnd.fold
    plots_out["oof_residual"] = resid
    res_m = float(abs(ref.transform.a))
    if map_resolution is None:
        map_resolution = res_m * max(1, round(float(footprint) / res_m)) if footprint else res_m
    k = float(map_resolution) / res_m
    if abs(k - round(k)) > 1e-6 or round(k) < 1:
        raise ValueError(
            f"map_resolution={map_resolution:g} m is not a whole multiple of the "
            f"rasters' {res_m:g} m pixels; use e.g. {max(1, round(k)) * res_m:g}."
        )
    need = needed_sources(rf)
    hashes = {
        "plots": file_sha256(plots) if Path(plots).is_file() else None,
        "rasters": {kk: file_sha256(sources[kk]) for kk in need},
    }
    options = dict(
        target=target,
        model=model,
        footprint=footprint,
        block_size=block_size,
        n_splits=n_splits,
        qc=qc,
        qc_features=qc_features,
        secondary=secondary,
        n_estimators=n_estimators,
        random_state=random_state,
        recipe=frozen,
    )
    crs_obj = CRS.from_user_input(gdf.crs)  # the plots' coordinates: the rasters' CRS if projected
    manifest = jsonable(
        {
            "kind": "geoagb model bundle",
            "format": BUNDLE_FORMAT,
            "geoagb_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": command,
            "versions": package_versions(),
            "model": {
                "kind": model,
                "label": MODELS[model],
                "class": f"{type(fitted).__module__}.{type(fitted).__name__}",
                "n_estimators": n_estimators or 300,
                "secondary": secondary if model == "rk-ck" else None,
            },
            "target": target,
            "unit": unit,
            "crs_wkt": crs_obj.to_wkt(),
            "crs_name": _crs_name(crs_obj),
            "feature_names": feature_names,
            "model_columns": model_columns,
            "coordinate_aware": aware,
            "recipe": frozen,
            "footprint_m": None if footprint is None else float(footprint),
            "map_resolution_m": float(map_resolution),
            "rasters": {
                "sources": {kk: Path(sources[kk]).name for kk in need},
                "resolution_m": res_m,
                "width": ref.width,
                "height": ref.height,
                "crs_wkt": CRS.from_user_input(ref.crs).to_wkt(),
                "transform": list(ref.transform)[:6],
            },
            "plots": {
                "file": Path(plots).name,
                "n_read": len(gdf),
                "n_used": n,
                "n_dropped": int(len(qc_table)),
                "id_column": id_column,
            },
            "qc": qc_info,
            "block_size": _block_info(
                sugg, used, block_size is not None, None if sugg is None else sugg.variogram
            ),
            "cv": {
                "n_splits": int(n_splits),
                "random_state": int(random_state),
                "label": cv_label,
                "block_sizes_m": [float(s) for s in sizes],
                "spatial": s_sp,
                "random": s_rn,
            },
            "kriging": kriging,
            "inputs_sha256": hashes,
            "input_hash": combined_hash({"inputs": hashes, "options": options}),
            "fit_seconds": round(time.perf_counter() - t0, 1),
        }
    )
    bundle = Bundle(model=fitted, manifest=manifest, plots=plots_out, qc=qc_table, cv=cv_table)
    if out is not None:
        save_bundle(bundle, out)
        echo(f"    wrote {out} ({Path(out).stat().st_size / 1024:,.0f} kB)")
    return bundle
