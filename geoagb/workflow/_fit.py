"""``fit_bundle``: plots + rasters -> QC -> block size -> spatial CV -> fitted model bundle.

The steps, each reported in a line or two, each a function of
:mod:`geoagb.workflow._fit_steps` (step 3: :mod:`geoagb.workflow._fit_qc`):

1. read the rasters (a folder or list) and the plots (any vector format or CSV, any CRS; see
   :func:`~geoagb.workflow.read_plots`), and build the feature recipe (``_read_inputs``);
2. compute the features at the plots with that recipe (:meth:`RasterFeatures.at_points`), the
   same numbers mapping computes per cell (``_features_at_plots``);
3. plot quality control: plots that cannot be used are dropped, each reason counted in a line
   (``_fit_qc.DROP_REASONS``: outside the rasters, with both extents and CRSs; missing target;
   non-numeric target; missing feature), then the imagery check flags the plots the imagery
   contradicts (:func:`geoagb.inventory.filter_inconsistent_plots`, studentized rule; a
   negative value only for a target declared non-negative), each with its reason: reported and
   kept (``qc="flag"``), or left out (``qc="drop"``, then also scored as held-out plots,
   :mod:`geoagb.workflow._fit_dropped`). Too few plots left, or a constant target, is an error
   naming the reasons and the fix (``_quality_control``);
4. block size: the effective range of the variogram of the learner's out-of-fold residuals
   (:func:`geoagb.model_selection.suggest_block_size`), unless given; kept no larger than what
   still gives one block per fold (``_choose_block_size``);
5. cross-validation: the model under spatial block k-fold at half, once and twice that block
   size and under random k-fold (:func:`geoagb.model_selection.block_size_sensitivity`), train
   and validation metrics per fold, spatial at the block size and random each under ``n_repeats``
   fold seeds (``_cross_validate``, :mod:`geoagb.workflow._cv_repeats`);
6. the model refitted on all plots (``_fit_final``), and everything written into one bundle
   (``_fit_manifest._manifest``, ``_write_bundle``).
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Callable

import numpy as np

from .._io import check_output_path
from .._progress import show_progress
from .._random import seed_int
from ._bundle import Bundle
from ._cv_repeats import check_n_repeats
from ._fit_dropped import score_dropped
from ._fit_manifest import _manifest
from ._fit_qc import _quality_control, qc_mode
from ._fit_steps import (
    _choose_block_size,
    _cross_validate,
    _estimator,
    _features_at_plots,
    _fit_final,
    _FitOptions,
    _learner,
    _map_resolution,
    _plots_table,
    _read_inputs,
    _write_bundle,
)
from ._models import MODELS, _n_trees, make_model
from ._units import target_traits

__all__ = ["fit_bundle", "make_model", "MODELS"]


def _positive(name: str, value, unit: str = "metres") -> None:
    """A size given by the caller must be a finite number > 0 (None: the default)."""
    if value is None:
        return
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if not (ok and np.isfinite(value) and value > 0):
        raise ValueError(f"{name}={value!r} must be a positive number of {unit}, or None.")


def _check_options(out, opts: _FitOptions):
    """The output path (a ``.geoagb`` file, or None) and the numeric options, checked."""
    if out is not None:
        out = check_output_path(out, "out")
        if out.suffix.lower() != ".geoagb":
            raise ValueError(
                f"out={str(out)!r} must end in .geoagb, e.g. {out.with_suffix('.geoagb').name!r}."
            )
    model, n_splits = opts.model, opts.n_splits
    if model not in MODELS:
        raise ValueError(f"model={model!r} is not one of {', '.join(MODELS)}.")
    if isinstance(n_splits, bool) or not isinstance(n_splits, numbers.Integral) or n_splits < 2:
        raise ValueError(f"n_splits={n_splits!r} must be a whole number >= 2 (CV folds), e.g. 5.")
    _n_trees(opts.n_estimators)
    for name in ("footprint", "map_resolution", "block_size"):
        _positive(name, getattr(opts, name))
    return out


def fit_bundle(
    plots,
    rasters,
    out=None,
    *,
    target: str = "agb",
    unit: str = "Mg/ha",
    nonnegative: bool | None = None,
    carbon_fraction: float | None = None,
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
    n_repeats: int = 5,
    qc: str | bool = "flag",
    qc_features=None,
    secondary: str = "elevation",
    n_estimators: int | None = None,
    x: str | None = None,
    y: str | None = None,
    crs=None,
    layer=None,
    id_column: str | None = None,
    random_state: int | None = None,
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
    nonnegative : bool or None, default None
        The target cannot be negative: maps are clipped at 0 (the count recorded). None: True
        for a biomass-like target (name agb, biomass, carbon ...; or a mass-per-area unit such
        as Mg/ha), False otherwise; the rule is :func:`~geoagb.workflow.target_traits`.
    carbon_fraction : float or None, default None
        Carbon per unit of target, in (0, 1], for carbon stocks of the maps. None: 0.47
        (IPCC 2006) for a biomass-like target in Mg/ha or t/ha, 1 for MgC/ha, and no carbon
        stock for any other target. Recorded with the target in the manifest's
        ``target_traits``.
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
    n_repeats : int, default 5
        Fold seeds (>= 1): spatial and random k-fold each run under ``n_repeats`` fold
        assignments, and the scores are reported as mean +- sd over them, their range and the
        pooled scores averaged over them (Nadeau and Bengio, 2003); the first seed is
        ``random_state``, so 1 is a single fold assignment. The neighbouring block sizes of
        the sensitivity check run the first seed only.
    qc : {"flag", "drop", "off"}, default "flag"
        Imagery-based plot quality control (plots lacking a feature are always left out).
        ``"flag"``: flag the plots the imagery contradicts, each with its reason, report them
        (bundle ``qc`` table, report section) and keep every plot. ``"drop"``: leave the
        flagged plots out of CV and fit; the CV is then reported twice, kept plots only and
        kept + dropped plots, the dropped ones predicted by the final model that never saw
        them (manifest ``qc.cv_side_by_side``). ``"off"``: no check. ``True`` is read as
        ``"flag"`` with a FutureWarning (it used to drop), ``False`` as ``"off"``. No rule
        looks at the target's sign unless the target is non-negative (``nonnegative``); a zero
        target is never flagged.
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
    random_state : int or None, default None
        Seed of folds, learners and QC. ``None`` draws a seed once (fresh entropy) and records
        it in the manifest, so the bundle can be refitted exactly; ``geoagb fit --seed`` passes
        0 by default.
    n_jobs : int, default 1
        Threads of the learner.
    progress : bool or None, default None
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
    t0 = time.perf_counter()
    traits = target_traits(target, unit, nonnegative, carbon_fraction)
    opts = _FitOptions(
        target=target,
        unit=unit,
        nonnegative=traits.nonnegative,
        biomass=traits.biomass,
        carbon_fraction=traits.carbon_fraction,
        model=model,
        config=config,
        bands=bands,
        indices=indices,
        textures=textures,
        terrain=terrain,
        footprint=footprint,
        map_resolution=map_resolution,
        block_size=block_size,
        n_splits=n_splits,
        n_repeats=n_repeats,
        qc=qc_mode(qc),
        qc_features=qc_features,
        secondary=secondary,
        n_estimators=n_estimators,
        x=x,
        y=y,
        crs=crs,
        layer=layer,
        id_column=id_column,
        random_state=seed_int(random_state),
        n_jobs=n_jobs,
        progress=show_progress(progress),
        command=command,
    )
    out = _check_options(out, opts)
    check_n_repeats(n_repeats)
    inputs = _read_inputs(plots, rasters, opts, echo)  # 1. rasters, plots, recipe
    table = _features_at_plots(inputs, opts, echo)  # 2. features at the plots
    qc_result = _quality_control(inputs, table, opts, echo)  # 3. quality control
    data, names = qc_result.data, inputs.feature_names
    est = _estimator(opts)
    Xcv, yv = data[["x", "y"] + names], data[target].to_numpy(float)
    block = _choose_block_size(_learner(est), Xcv, yv, opts, echo)  # 4. block size
    cv = _cross_validate(est, Xcv, yv, block.used, opts, echo)  # 5. cross-validation
    final = _fit_final(est, data, yv, names, opts, echo)  # 6. final fit and the bundle
    plots_out = _plots_table(data, names, target, cv, block.residuals)
    qc_result = score_dropped(qc_result, table, final, plots_out, target, echo)  # qc="drop"
    map_res = _map_resolution(inputs.ref, footprint, map_resolution)
    manifest = _manifest(inputs, opts, qc_result, block, cv, final, map_resolution=map_res, t0=t0)
    manifest["footprint"] = table.attrs.get("footprint")  # partial footprints (step 2)
    bundle = Bundle(
        model=final.model, manifest=manifest, plots=plots_out, qc=qc_result.table, cv=cv.table
    )
    _write_bundle(bundle, out, echo)
    return bundle
