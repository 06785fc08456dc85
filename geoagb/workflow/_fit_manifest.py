"""The manifest of a bundle made by :func:`~geoagb.workflow.fit_bundle` (step 7): what was
fitted, on what, how well, and the hashes that tie it to its inputs and options.
"""

from __future__ import annotations

import time
from pathlib import Path

from pyproj import CRS

from .. import __version__
from ._bundle import BUNDLE_FORMAT, combined_hash, file_sha256, jsonable, package_versions
from ._fit_qc import _QCResult
from ._fit_steps import _BlockChoice, _CVOutcome, _FinalFit, _FitInputs, _FitOptions
from ._models import MODELS
from ._plots_io import _crs_name
from ._recipe import needed_sources


def _manifest(
    inputs: _FitInputs,
    opts: _FitOptions,
    qc: _QCResult,
    block: _BlockChoice,
    cv: _CVOutcome,
    final: _FinalFit,
    *,
    map_resolution: float,
    t0: float,
) -> dict:
    """Step 7: the bundle's manifest (what was fitted, on what, how well, and input hashes)."""
    need = needed_sources(inputs.features)
    hashes = {
        "plots": file_sha256(inputs.plots) if Path(inputs.plots).is_file() else None,
        "rasters": {k: file_sha256(inputs.sources[k]) for k in need},
    }
    crs_obj = CRS.from_user_input(inputs.gdf.crs)  # the plots' coordinates: the rasters' CRS
    sugg = block.suggestion
    return jsonable(
        {
            "kind": "geoagb model bundle",
            "format": BUNDLE_FORMAT,
            "geoagb_version": __version__,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "command": opts.command,
            "versions": package_versions(),
            "model": _model_entry(opts, final.model),
            "target": opts.target,
            "unit": opts.unit,
            "target_traits": {
                "name": opts.target,
                "unit": opts.unit,
                "nonnegative": bool(opts.nonnegative),
                "biomass": bool(opts.biomass),
                "carbon_fraction": opts.carbon_fraction,
            },
            "crs_wkt": crs_obj.to_wkt(),
            "crs_name": _crs_name(crs_obj),
            "feature_names": inputs.feature_names,
            "model_columns": final.columns,
            "coordinate_aware": final.coordinate_aware,
            "recipe": inputs.recipe,
            "footprint_m": None if opts.footprint is None else float(opts.footprint),
            "map_resolution_m": float(map_resolution),
            "rasters": _rasters_entry(inputs, need),
            "plots": {
                "file": Path(inputs.plots).name,
                "n_read": len(inputs.gdf),
                "n_used": len(qc.data),
                "n_dropped": qc.n_dropped,
                "id_column": opts.id_column,
            },
            "qc": qc.info,
            "block_size": _block_info(
                sugg, block.used, block.given, None if sugg is None else sugg.variogram
            ),
            "cv": {
                "n_splits": int(opts.n_splits),
                "n_repeats": len(cv.seeds),
                "fold_seeds": [int(s) for s in cv.seeds],
                "sensitivity_repeats": int(cv.sensitivity_repeats),
                "random_state": int(opts.random_state),
                "label": cv.label,
                "block_sizes_m": [float(s) for s in cv.sizes],
                "spatial": cv.summary_spatial,
                "random": cv.summary_random,
            },
            "kriging": final.kriging,
            "inputs_sha256": hashes,
            "input_hash": combined_hash(
                {"inputs": hashes, "options": _hashed_options(inputs, opts)}
            ),
            "fit_seconds": round(time.perf_counter() - t0, 1),
        }
    )


def _model_entry(opts: _FitOptions, fitted) -> dict:
    """The manifest's model entry: kind, label, class, trees, co-kriging secondary."""
    return {
        "kind": opts.model,
        "label": MODELS[opts.model],
        "class": f"{type(fitted).__module__}.{type(fitted).__name__}",
        "n_estimators": opts.n_estimators or 300,
        "secondary": opts.secondary if opts.model == "rk-ck" else None,
    }


def _rasters_entry(inputs: _FitInputs, need) -> dict:
    """The manifest's rasters entry: the files the recipe reads and the maps' grid."""
    ref = inputs.ref
    return {
        "sources": {k: Path(inputs.sources[k]).name for k in need},
        "resolution_m": float(abs(ref.transform.a)),
        "width": ref.width,
        "height": ref.height,
        "crs_wkt": CRS.from_user_input(ref.crs).to_wkt(),
        "transform": list(ref.transform)[:6],
    }


def _hashed_options(inputs: _FitInputs, opts: _FitOptions) -> dict:
    """The options that, with the input files, decide the bundle (its ``input_hash``)."""
    return dict(
        target=opts.target,
        nonnegative=opts.nonnegative,
        model=opts.model,
        footprint=opts.footprint,
        block_size=opts.block_size,
        n_splits=opts.n_splits,
        n_repeats=opts.n_repeats,
        qc=opts.qc,
        qc_features=opts.qc_features,
        secondary=opts.secondary,
        n_estimators=opts.n_estimators,
        random_state=opts.random_state,
        recipe=inputs.recipe,
    )


def _block_info(sugg, used, given, variogram):
    """The manifest's block-size entry: used, given, the suggestion and its variogram."""
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
            verdict=str(d.get("verdict", "structure")),
            reasons=list(d.get("reasons", [])),
            fallback=d.get("fallback"),
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
