"""The steps of :func:`~geoagb.workflow.fit_bundle`, each a function that a test can call.

The pipeline passes two small records between them: :class:`_FitOptions` (the caller's options,
checked) and :class:`_FitInputs` (what step 1 read); each step returns its own record
(:class:`_BlockChoice`, :class:`_CVOutcome`, :class:`_FinalFit`). The quality-control step is in
:mod:`geoagb.workflow._fit_qc`, the manifest in :mod:`geoagb.workflow._fit_manifest`.
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pyproj import CRS
from sklearn.base import clone
from sklearn.model_selection import KFold, cross_val_predict

from .._coords import drop_coords
from ..base import uses_coords
from ..model_selection import block_labels, block_size_sensitivity, suggest_block_size
from ..raster import band_table, read_sources
from ._bundle import (
    Bundle,
    jsonable,
    save_bundle,
)
from ._models import MODELS, make_model
from ._plots_io import _crs_name, describe_sources, plot_summary_line, raster_sources, read_plots
from ._recipe import build_features, freeze_recipe, load_config, make_recipe

_METRICS = ("r", "r2", "rmse", "mae", "overall_bias")
Echo = Callable[[str], None]


@dataclass(frozen=True)
class _FitOptions:
    """The options of :func:`~geoagb.workflow.fit_bundle` (same names, same defaults), checked."""

    target: str = "agb"
    unit: str = "Mg/ha"
    model: str = "xgboost"
    config: Any = None
    bands: Any = None
    indices: Any = None
    textures: Any = None
    terrain: Any = None
    footprint: float | None = None
    map_resolution: float | None = None
    block_size: float | None = None
    n_splits: int = 5
    qc: bool = True
    qc_features: Any = None
    secondary: str = "elevation"
    n_estimators: int | None = None
    x: str | None = None
    y: str | None = None
    crs: Any = None
    layer: Any = None
    id_column: str | None = None
    random_state: int = 0
    n_jobs: int = 1
    progress: bool = False
    command: str | None = None


@dataclass(frozen=True)
class _FitInputs:
    """Step 1's result: the plot file as given, the rasters, the plots read and the recipe."""

    plots: Any  # the plot file, as the caller gave it
    sources: dict  # {raster name: path}
    infos: dict  # {raster name: RasterInfo}; the first one's grid is the maps' grid
    gdf: Any  # the plots, indexed by plot id ("plot"), in the rasters' CRS where projected
    features: Any  # the RasterFeatures of the recipe
    recipe: dict  # the frozen recipe, as stored in the bundle
    feature_names: list[str]

    @property
    def ref(self):
        """The first raster's RasterInfo (size, transform, CRS)."""
        return next(iter(self.infos.values()))


@dataclass(frozen=True)
class _BlockChoice:
    """Step 4's result: block size used (metres), its suggestion, the out-of-fold residuals."""

    used: float
    given: bool
    suggestion: Any  # BlockSizeSuggestion, or None under 30 plots
    residuals: np.ndarray


@dataclass(frozen=True)
class _CVOutcome:
    """Step 5's result: per-fold metrics of every scheme and the spatial / random summaries."""

    sizes: list[float]  # block sizes cross-validated (metres): the used one and its neighbours
    spatial: Any  # CVResult at the used block size
    random: Any  # CVResult of random k-fold
    table: pd.DataFrame  # the bundle's cv table
    label: str
    summary_spatial: dict
    summary_random: dict


@dataclass(frozen=True)
class _FinalFit:
    """Step 6's result: the model fitted on all kept plots, its columns and kriging summary."""

    model: Any
    columns: list[str]
    coordinate_aware: bool
    kriging: dict | None


# ---- 1. rasters, plots, recipe ------------------------------------------------------------------
def _read_inputs(plots, rasters, opts: _FitOptions, echo: Echo) -> _FitInputs:
    """Step 1: the rasters and the plots read, and the feature recipe built and checked."""
    sources = dict(rasters) if isinstance(rasters, dict) else raster_sources(rasters)
    infos = read_sources(sources)
    echo(describe_sources(infos))
    gdf = _read_plot_table(plots, next(iter(infos.values())), opts, echo)
    config = opts.config
    cfg = load_config(config) if isinstance(config, (str, Path)) else dict(config or {})
    names = [n for n in band_table(infos) if ":" not in n]
    recipe = make_recipe(
        names,
        cfg,
        bands=opts.bands,
        indices=opts.indices,
        textures=opts.textures,
        terrain=opts.terrain,
    )
    rf = build_features(sources, recipe)
    inputs = _FitInputs(
        plots, sources, infos, gdf, rf, freeze_recipe(rf, recipe), list(rf.feature_names)
    )
    _check_recipe(inputs, opts)
    return inputs


def _read_plot_table(plots, ref, opts: _FitOptions, echo: Echo):
    """The plots in the rasters' CRS (where projected), indexed by ``id_column`` as "plot"."""
    gdf = read_plots(
        plots,
        target=opts.target,
        x=opts.x,
        y=opts.y,
        crs=opts.crs,
        layer=opts.layer,
        raster_crs=ref.crs,
        echo=echo,
    )
    echo(plot_summary_line(gdf, plots, opts.target, opts.unit))
    id_column = opts.id_column
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
    return gdf


def _check_recipe(inputs: _FitInputs, opts: _FitOptions) -> None:
    """The recipe suits the model: XGBoost-safe names, target not a feature, kriging CRS."""
    model, target, feature_names = opts.model, opts.target, inputs.feature_names
    if model != "rf":
        _check_xgboost_names(feature_names, inputs.infos, inputs.sources)
    if target in feature_names or target in ("x", "y"):
        raise ValueError(
            f"the target {target!r} has the name of a feature or coordinate; rename the "
            "target column (or the feature in the recipe)."
        )
    crs = inputs.ref.crs
    if model.startswith("rk") and CRS.from_user_input(crs).is_geographic:
        raise ValueError(
            f"model={model!r} krige residuals at map cells, whose coordinates are those "
            f"of the rasters, but the rasters' CRS ({_crs_name(crs)}) is geographic; "
            "warp the rasters to a projected CRS first (gdalwarp -t_srs EPSG:<utm zone>)."
        )
    if model == "rk-ck" and opts.secondary not in feature_names:
        raise ValueError(
            f"model='rk-ck' co-kriges with {opts.secondary!r}, which is not a feature of the "
            f"recipe ({', '.join(feature_names)}); add it (e.g. terrain='elevation') or "
            "name another with secondary=."
        )


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


# ---- 2. features at the plots -------------------------------------------------------------------
def _features_at_plots(inputs: _FitInputs, opts: _FitOptions, echo: Echo) -> pd.DataFrame:
    """Step 2: per plot, x and y, the recipe's features and the target (NaN where not a number)."""
    t = time.perf_counter()
    gdf, names, footprint = inputs.gdf, inputs.feature_names, opts.footprint
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # NaN plots are reported by the QC step
        X = inputs.features.at_points(gdf, footprint=footprint, progress=opts.progress)
    echo(
        f"    {len(names)} features per plot (recipe halo {inputs.features.halo} px, footprint "
        f"{'pixel under the centre' if footprint is None else f'{float(footprint):g} m square'}): "
        f"{', '.join(names[:8])}{' ...' if len(names) > 8 else ''} "
        f"({time.perf_counter() - t:.1f} s)"
    )
    table = pd.DataFrame(
        {"x": gdf["x"].to_numpy(float), "y": gdf["y"].to_numpy(float)}, index=gdf.index
    ).join(X)
    table[opts.target] = pd.to_numeric(gdf[opts.target], errors="coerce")
    return table


# ---- 4. block size ------------------------------------------------------------------------------
def _estimator(opts: _FitOptions):
    """The unfitted estimator that ``opts.model`` names (see :func:`make_model`)."""
    return make_model(
        opts.model,
        secondary=opts.secondary,
        n_estimators=opts.n_estimators,
        n_jobs=opts.n_jobs,
        random_state=opts.random_state,
    )


def _learner(model):
    """The learner inside a residual-kriging model (the model itself otherwise)."""
    return model.estimator if uses_coords(model) and hasattr(model, "estimator") else model


def _n_blocks(xy, size) -> int:
    """Blocks of side ``size`` (metres) that the plots at ``xy`` occupy."""
    return len(np.unique(block_labels(xy, size)))


def usable_block_size(xy, size: float, n_splits: int) -> float:
    """``size`` shrunk by steps of 20 % until the plots occupy at least ``n_splits`` blocks."""
    bs = float(size)
    for _ in range(200):
        if _n_blocks(xy, bs) >= n_splits:
            return bs
        bs *= 0.8
    raise ValueError(f"the plots cannot be split into {n_splits} spatial blocks; use fewer folds.")


def _choose_block_size(learner, Xcv, yv, opts: _FitOptions, echo: Echo) -> _BlockChoice:
    """Step 4: the given block size, checked, else the residual variogram's effective range."""
    t = time.perf_counter()
    n_splits, name = opts.n_splits, type(learner).__name__
    resid = _oof_residuals(learner, Xcv, yv, opts.random_state)
    xy = Xcv[["x", "y"]].to_numpy(float)
    sugg = None
    if len(yv) >= 30:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # notes are reported below
            sugg = suggest_block_size(xy, resid, random_state=opts.random_state)
        sugg.source = f"out-of-fold residuals of {name}"
    if opts.block_size is not None:
        used = _given_block_size(xy, float(opts.block_size), n_splits, sugg, echo)
        return _BlockChoice(used, True, sugg, resid)
    if sugg is None:
        raise ValueError(
            f"{len(yv)} plots are too few to suggest a block size from a variogram (30 "
            "needed); give one with block_size= (metres)."
        )
    size = float(sugg)
    if size < sugg.plot_spacing:
        size = 3 * sugg.plot_spacing
    used = usable_block_size(xy, size, n_splits)
    msg = (
        f"    block size {used:,.0f} m: suggested {float(sugg):,.0f} m, the effective range of "
        f"the variogram of {name}'s out-of-fold residuals ({sugg.model}, "
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
    return _BlockChoice(used, False, sugg, resid)


def _oof_residuals(learner, Xcv, yv, random_state) -> np.ndarray:
    """Target minus the learner's out-of-fold predictions (random 5-fold, coordinates dropped)."""
    cv = KFold(5, shuffle=True, random_state=random_state)
    return yv - cross_val_predict(clone(learner), drop_coords(Xcv), yv, cv=cv)


def _given_block_size(xy, used: float, n_splits: int, sugg, echo: Echo) -> float:
    """A block size the caller gave, checked to leave ``n_splits`` occupied blocks."""
    if _n_blocks(xy, used) < n_splits:
        raise ValueError(
            f"block_size={used:g} m leaves fewer than {n_splits} occupied blocks "
            f"(extent {np.ptp(xy, axis=0).max():,.0f} m); use a smaller block size "
            "or a lower n_splits=."
        )
    echo(
        f"    block size {used:,.0f} m (given)"
        + (f"; the residual variogram suggests {float(sugg):,.0f} m" if sugg is not None else "")
    )
    return used


# ---- 5. cross-validation ------------------------------------------------------------------------
def _cross_validate(est, Xcv, yv, used: float, opts: _FitOptions, echo: Echo) -> _CVOutcome:
    """Step 5: spatial k-fold at half, once and twice the block size, and random k-fold."""
    t = time.perf_counter()
    n_splits = opts.n_splits
    xy = Xcv[["x", "y"]].to_numpy(float)
    sizes = [s for s in (used / 2, used, 2 * used) if s == used or _n_blocks(xy, s) >= n_splits]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        sens = block_size_sensitivity(
            est,
            Xcv,
            yv,
            sizes,
            n_splits=n_splits,
            random_state=opts.random_state,
            include_random=True,
            progress=opts.progress,
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
    outcome = _CVOutcome(
        sizes=sizes,
        spatial=spatial,
        random=rnd,
        table=pd.concat(frames, ignore_index=True),
        label=f"spatial {n_splits}-fold CV, {used:,.0f} m blocks",
        summary_spatial=_cv_entry(spatial),
        summary_random=_cv_entry(rnd),
    )
    echo(
        f"    cross-validation, {n_splits} folds ({time.perf_counter() - t:.1f} s); validation "
        "metrics, mean and sd over folds, pooled = all out-of-fold predictions together:"
    )
    _echo_cv_summary(outcome, used, opts.unit, echo)
    return outcome


def _echo_cv_summary(outcome: _CVOutcome, used: float, unit: str, echo: Echo) -> None:
    """The spatial and random CV metrics as a small table, one echo line per row."""
    s_sp, s_rn = outcome.summary_spatial, outcome.summary_random
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


def _cv_entry(res) -> dict:
    """One scheme's CV summary for the manifest: train and validation metrics, pooled scores."""
    s = res.summary(_METRICS, fmt=None)
    out = {}
    for st in ("train", "validation"):
        for c in s.columns:
            out[f"{st}_{c}"] = float(s.loc[st, c])
    for k, v in res.oof_scores().items():
        out[f"pooled_{k}"] = float(v)
    out["n_folds"] = int(res.folds["fold"].nunique())
    return out


# ---- 6. final fit and the bundle ----------------------------------------------------------------
def _fit_final(est, data, yv, feature_names, opts: _FitOptions, echo: Echo) -> _FinalFit:
    """Step 6: the model refitted on all kept plots (with x, y where it kriges residuals)."""
    t = time.perf_counter()
    aware = uses_coords(est)
    columns = (["x", "y"] if aware else []) + list(feature_names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fitted = clone(est).fit(data[columns], yv)
    if opts.model == "rf" and "n_jobs" in fitted.get_params():
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
    echo(f"    {MODELS[opts.model]} fitted on {len(data)} plots ({time.perf_counter() - t:.1f} s)")
    return _FinalFit(fitted, columns, aware, kriging)


def _plots_table(data, feature_names, target: str, cv: _CVOutcome, residuals) -> pd.DataFrame:
    """The bundle's plots table: x, y, target, features, out-of-fold predictions and folds."""
    plots_out = data[["x", "y", target] + list(feature_names)].copy()
    plots_out["oof_spatial"] = cv.spatial.oof_predictions
    plots_out["fold_spatial"] = cv.spatial.fold
    plots_out["oof_random"] = cv.random.oof_predictions
    plots_out["fold_random"] = cv.random.fold
    plots_out["oof_residual"] = residuals
    return plots_out


def _map_resolution(ref, footprint, map_resolution) -> float:
    """Maps' default cell size, metres: as given, else the footprint in whole pixels (>= 1)."""
    res_m = float(abs(ref.transform.a))
    if map_resolution is None:
        map_resolution = res_m * max(1, round(float(footprint) / res_m)) if footprint else res_m
    k = float(map_resolution) / res_m
    if abs(k - round(k)) > 1e-6 or round(k) < 1:
        raise ValueError(
            f"map_resolution={map_resolution:g} m is not a whole multiple of the "
            f"rasters' {res_m:g} m pixels; use e.g. {max(1, round(k)) * res_m:g}."
        )
    return float(map_resolution)


def _write_bundle(bundle: Bundle, out, echo: Echo) -> None:
    """Step 8: the bundle saved to ``out`` (nothing when ``out`` is None), its size echoed."""
    if out is not None:
        save_bundle(bundle, out)
        echo(f"    wrote {out} ({Path(out).stat().st_size / 1024:,.0f} kB)")
