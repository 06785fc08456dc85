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
from ._cv_repeats import fold_seeds, format_repeats, repeat_frame, repeat_summary
from ._models import MODELS, make_model
from ._plots_io import (
    _crs_name,
    describe_sources,
    footprint_notes,
    numeric_band_names,
    plot_summary_line,
    raster_sources,
    read_plots,
)
from ._recipe import build_features, freeze_recipe, load_config, make_recipe
from ._uncertainty import band_method

Echo = Callable[[str], None]


@dataclass(frozen=True)
class _FitOptions:
    """The options of :func:`~geoagb.workflow.fit_bundle` (same names, same defaults), checked."""

    target: str = "agb"
    unit: str = "Mg/ha"
    nonnegative: bool = True  # resolved by target_traits in fit_bundle (None never reaches here)
    biomass: bool = True
    carbon_fraction: float | None = 0.47
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
    n_repeats: int = 5
    qc: str = "flag"  # "flag" | "drop" | "off" (_fit_qc.qc_mode)
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
    """Step 5's result: per-fold metrics of every scheme and repeat, and the spatial / random
    summaries over the repeats (fold seeds).
    """

    sizes: list[float]  # block sizes cross-validated (metres): the used one and its neighbours
    spatial: Any  # CVResult at the used block size, first fold seed (the plots table's oof)
    random: Any  # CVResult of random k-fold, first fold seed
    table: pd.DataFrame  # the bundle's cv table (one row per scheme, repeat, fold and set)
    label: str
    summary_spatial: dict
    summary_random: dict
    seeds: tuple = (0,)  # the fold seeds, one per repeat (the first is random_state)
    spatial_repeats: tuple = ()  # CVResult at the used block size, one per fold seed
    random_repeats: tuple = ()  # CVResult of random k-fold, one per fold seed
    sensitivity_repeats: int = 1  # fold seeds run at the neighbouring block sizes


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
    names = numeric_band_names(infos, echo)  # projected CRS checked; class rasters left out
    echo(describe_sources(infos))
    gdf = _read_plot_table(plots, next(iter(infos.values())), opts, echo)
    config = opts.config
    cfg = load_config(config) if isinstance(config, (str, Path)) else dict(config or {})
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
    lines, entry = footprint_notes(X, footprint)  # no-footprint warning, partial footprints
    for line in lines:
        echo(line)
    table = pd.DataFrame(
        {"x": gdf["x"].to_numpy(float), "y": gdf["y"].to_numpy(float)}, index=gdf.index
    ).join(X)
    table[opts.target] = pd.to_numeric(gdf[opts.target], errors="coerce")
    table.attrs = {"footprint": entry}  # for the manifest (manifest["footprint"])
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
    """Step 4: the given block size, checked, else the residual variogram's effective range
    (or, when the residuals show no usable spatial structure, the suggestion's fallback).

    The out-of-fold residuals use 5 folds shuffled with the fixed seed 0, so that the block
    size does not depend on ``random_state``.
    """
    t = time.perf_counter()
    n_splits, name = opts.n_splits, type(learner).__name__
    resid = _oof_residuals(learner, Xcv, yv, 0)
    xy = Xcv[["x", "y"]].to_numpy(float)
    sugg = None
    if len(yv) >= 30:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # notes are reported below
            sugg = suggest_block_size(xy, resid, n_splits=n_splits, random_state=opts.random_state)
        sugg.source = f"out-of-fold residuals of {name}"
    if opts.block_size is not None:
        used = _given_block_size(xy, float(opts.block_size), n_splits, sugg, echo)
        return _BlockChoice(used, True, sugg, resid)
    if sugg is None:
        raise ValueError(
            f"{len(yv)} plots are too few to suggest a block size from a variogram (30 "
            "needed); give one with block_size= (metres)."
        )
    used = usable_block_size(xy, float(sugg), n_splits)
    if sugg.fallback is not None:
        msg = (
            f"    block size {used:,.0f} m ({sugg.verdict} in {name}'s out-of-fold residuals: "
            f"{'; '.join(sugg.reasons)}; fallback {sugg.fallback}, plot spacing "
            f"{sugg.plot_spacing:,.0f} m)"
        )
    else:
        msg = (
            f"    block size {used:,.0f} m: suggested {float(sugg):,.0f} m, the effective range "
            f"of the variogram of {name}'s out-of-fold residuals ({sugg.model}, "
            f"nugget:sill {sugg.nugget_to_sill:.2f}, plot spacing {sugg.plot_spacing:,.0f} m)"
        )
    if abs(used - float(sugg)) > 1e-9 * max(used, 1.0):
        msg += f"; kept to at least {n_splits} occupied blocks"
    echo(msg + f" ({time.perf_counter() - t:.1f} s)")
    for note in sugg.notes:
        if not note.startswith(sugg.verdict):  # the verdict is in the line above
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
        + (f" ({sugg.verdict}: {sugg.fallback})" if getattr(sugg, "fallback", None) else "")
    )
    return used


# ---- 5. cross-validation ------------------------------------------------------------------------
#: Fold seeds run at the neighbouring block sizes (half and twice the used one): one, so that the
#: sensitivity check costs what it did; the used size and random k-fold run every seed.
_SENSITIVITY_REPEATS = 1


def _cross_validate(est, Xcv, yv, used: float, opts: _FitOptions, echo: Echo) -> _CVOutcome:
    """Step 5: spatial k-fold at the block size and random k-fold, each under ``n_repeats`` fold
    seeds; spatial k-fold at half and twice the block size under the first seed.
    """
    t = time.perf_counter()
    n_splits = opts.n_splits
    xy = Xcv[["x", "y"]].to_numpy(float)
    sizes = [s for s in (used / 2, used, 2 * used) if s == used or _n_blocks(xy, s) >= n_splits]
    seeds = fold_seeds(opts.random_state, opts.n_repeats)
    runs = []
    for r, seed in enumerate(seeds):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            sens = block_size_sensitivity(
                est,
                Xcv,
                yv,
                sizes if r < _SENSITIVITY_REPEATS else [used],
                n_splits=n_splits,
                random_state=seed,
                include_random=True,
                progress=opts.progress,
            )
        if used not in sens.results:
            raise ValueError(
                f"the {used:,.0f} m block CV of {type(est).__name__} cannot run: "
                f"{sens.skipped.get(used, 'a fold gives no model')}. Use fewer folds (n_splits="
                f"{n_splits} now), a smaller block size, or a model without kriging."
            )
        runs.append(sens.results)
    spatial = tuple(run[used] for run in runs)
    rnd = tuple(run["random"] for run in runs)
    n = len(seeds)
    outcome = _CVOutcome(
        sizes=sizes,
        spatial=spatial[0],
        random=rnd[0],
        table=pd.concat(
            [repeat_frame(run, r, used) for r, run in enumerate(runs)], ignore_index=True
        ),
        label=f"spatial {n_splits}-fold CV, {used:,.0f} m blocks"
        + (f", {n} fold seeds" if n > 1 else ""),
        summary_spatial=_cv_entry(spatial),
        summary_random=_cv_entry(rnd),
        seeds=tuple(seeds),
        spatial_repeats=spatial,
        random_repeats=rnd,
        sensitivity_repeats=min(_SENSITIVITY_REPEATS, n),
    )
    echo(
        f"    cross-validation, {n_splits} folds x {n} fold seed{'s' if n > 1 else ''} "
        f"({time.perf_counter() - t:.1f} s); validation scores: "
        + (
            "mean +- sd over fold seeds of the mean over folds [min, max over seeds], "
            "pooled = all out-of-fold predictions of a seed together, averaged over seeds:"
            if n > 1
            else "mean over folds, pooled = all out-of-fold predictions together:"
        )
    )
    _echo_cv_summary(outcome, used, opts.unit, echo)
    return outcome


def _echo_cv_summary(outcome: _CVOutcome, used: float, unit: str, echo: Echo) -> None:
    """One line per scheme: R2 and RMSE over the fold seeds, pooled, and the training R2."""
    n = len(outcome.seeds)
    seeds = f"{n} fold seed{'s' if n > 1 else ''}"
    for name, s in (
        (f"spatial CV ({seeds}, {used:,.0f} m blocks)", outcome.summary_spatial),
        (f"random k-fold ({seeds})", outcome.summary_random),
    ):
        echo(
            f"      {name}: R2 {format_repeats(s, 'r2', 3)}, RMSE ({unit}) "
            f"{format_repeats(s, 'rmse', 2)}; sd over folds: R2 {s['validation_r2_sd']:.3f}, "
            f"RMSE {s['validation_rmse_sd']:.2f}; train R2 {s['train_r2_mean']:.3f}"
        )


def _cv_entry(results) -> dict:
    """One scheme's CV summary for the manifest: train and validation metrics, pooled scores,
    over the fold seeds (one :class:`SpatialCVResult` or a sequence of them, one per seed).
    """
    return repeat_summary(list(results) if isinstance(results, (list, tuple)) else [results])


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
    echo(f"    uncertainty band of the map: {band_method(fitted, kriging)}")
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
