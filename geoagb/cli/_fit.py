"""``geoagb fit PLOTS RASTERS``: :func:`geoagb.workflow.fit_bundle` from the command line.

fit_bundle's messages name its parameters (``n_splits=5``); :data:`FIT_FLAGS` and
:func:`to_fit_flags` say them as the flags of ``geoagb fit`` (``--folds 5``), in its errors and
in the lines it prints.
"""

from __future__ import annotations

import argparse
import time

from ..workflow import MODELS, fit_bundle
from ._args import fraction, int_at_least, n_jobs, positive_float
from ._common import command_line, echo, show_progress
from ._errors import flag_errors, to_flags

__all__ = ["add_fit_command", "FIT_FLAGS", "to_fit_flags"]

_RECIPE_HELP = """feature recipe (TOML), e.g.:
  bands = ["blue", "green", "red", "nir"]
  indices = ["ndvi", "savi"]
  terrain = ["elevation", "slope", "twi"]
  [[textures]]
  band = "nir"
  window = 7
  [extra]
  height_mean = ["chm", 1]
  height_p95 = ["chm", 1, "p95"]
"""

#: fit_bundle's parameters -> the flags of ``geoagb fit`` (its errors name parameters).
FIT_FLAGS = {
    "n_splits": "--folds",
    "n_repeats": "--n-repeats",
    "block_size": "--block-size",
    "map_resolution": "--map-resolution",
    "footprint": "--footprint",
    "n_estimators": "--n-estimators",
    "qc_features": "--qc-features",
    "id_column": "--id",
    "n_jobs": "--jobs",
    "random_state": "--seed",
    "secondary": "--secondary",
    "terrain": "--terrain",
    "target": "--target",
    "carbon_fraction": "--carbon-fraction",
    "config": "--config",
    "model": "--model",
    "crs": "--crs",
    "layer": "--layer",
    "out": "--out",
    "x": "--x",
    "y": "--y",
    "textures": "--texture",
}
#: Parameter values that are flags of their own.
_FIT_NEGATIONS = {
    "qc=False": "--qc off",
    "qc='off'": "--qc off",
    "qc='drop'": "--qc drop",
    "qc='flag'": "--qc flag",
    "nonnegative=False": "--signed",
}


def to_fit_flags(message: str) -> str:
    """A fit_bundle message in ``geoagb fit`` words: ``qc='off'`` -> ``--qc off``,
    ``n_splits=5`` -> ``--folds 5``, ``target='agb'`` -> ``--target 'agb'``.

    Examples
    --------
    >>> to_fit_flags("only 3 plots remain; lower n_splits=5, or pass qc='off'.")
    'only 3 plots remain; lower --folds 5, or pass --qc off.'
    >>> to_fit_flags("name the target column with target=.")
    'name the target column with --target.'
    """
    return to_flags(message, FIT_FLAGS, _FIT_NEGATIONS)


def _run_fit(args) -> int:
    return flag_errors(_fit, args, to_fit_flags)


def _fit(args) -> int:
    t0 = time.perf_counter()
    fit_bundle(
        args.plots,
        args.rasters,
        args.out,
        target=args.target,
        unit=args.unit,
        nonnegative=args.nonnegative,
        carbon_fraction=args.carbon_fraction,
        model=args.model,
        config=args.config,
        bands=args.bands,
        indices=args.indices,
        textures=args.texture,
        terrain=args.terrain,
        footprint=args.footprint,
        map_resolution=args.map_resolution,
        block_size=args.block_size,
        n_splits=args.folds,
        n_repeats=args.n_repeats,
        qc="off" if args.no_qc else args.qc,
        qc_features=[t.strip() for t in args.qc_features.split(",")] if args.qc_features else None,
        secondary=args.secondary,
        n_estimators=args.n_estimators,
        x=args.x,
        y=args.y,
        crs=args.crs,
        layer=args.layer,
        id_column=args.id,
        random_state=args.seed,
        n_jobs=args.jobs,
        progress=show_progress(args),
        command=command_line(args),
        echo=lambda s: echo(to_fit_flags(s)),
    )
    echo(f"geoagb fit finished in {time.perf_counter() - t0:.1f} s")
    return 0


def add_fit_command(subparsers) -> argparse.ArgumentParser:
    """Add ``geoagb fit PLOTS RASTERS`` to an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "fit",
        help="fit and validate a model from a plot file and a raster folder -> model bundle",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Read plots (GeoPackage, shapefile, GeoParquet or CSV, any CRS) and rasters, "
        "compute features at the plots, drop inconsistent plots, choose a spatial CV "
        "block size from the residual variogram, cross-validate (spatial blocks and "
        "random k-fold) and fit the model on all plots; write one .geoagb bundle that "
        "`geoagb map` and `geoagb report` read.",
        epilog=_RECIPE_HELP,
    )
    # in the order --help lists them
    _add_inputs(p)
    _add_features(p)
    _add_validation(p)
    _add_plot_columns(p)
    _add_run(p)
    p.set_defaults(func=_run_fit)
    return p


def _add_inputs(p) -> None:
    """PLOTS, RASTERS, the target, the bundle to write and the learner."""
    p.add_argument("plots", help="plot file: .gpkg, .shp, .geojson, .parquet or .csv")
    p.add_argument("rasters", help="folder of co-registered GeoTIFFs, or a comma-separated list")
    p.add_argument("--target", default="agb", help="target column (default: agb)")
    p.add_argument(
        "--unit", default="Mg/ha", help="unit of the target (default: Mg/ha; MgC/ha for carbon)"
    )
    sign = p.add_mutually_exclusive_group()
    sign.add_argument(
        "--nonnegative",
        dest="nonnegative",
        action="store_const",
        const=True,
        default=None,
        help="the target cannot be negative: clip maps at 0 and count the cells clipped "
        "(default: yes for a biomass-like target: name agb, biomass, carbon ..., or a "
        "mass-per-area unit such as Mg/ha; no otherwise)",
    )
    sign.add_argument(
        "--signed",
        dest="nonnegative",
        action="store_const",
        const=False,
        help="the target may be negative (a score, a change): maps are not clipped",
    )
    p.add_argument(
        "--carbon-fraction",
        type=fraction,
        default=None,
        help="carbon per unit of target, in (0, 1], for carbon stocks of the maps (default: "
        "0.47, IPCC 2006, for biomass in Mg/ha or t/ha; 1 for MgC/ha; none for other targets)",
    )
    p.add_argument("--out", default="model.geoagb", help="bundle to write (default: model.geoagb)")
    p.add_argument(
        "--model",
        default="xgboost",
        choices=list(MODELS),
        help="xgboost, rf (random forest), rk-ok (XGBoost + residual kriging), rk-ck "
        "(XGBoost + residual co-kriging on --secondary) (default: xgboost)",
    )


def _add_features(p) -> None:
    """The feature recipe: a TOML file or flags, and the plot footprint and map cell size."""
    p.add_argument("--config", default=None, metavar="TOML", help="feature recipe file (see below)")
    p.add_argument(
        "--bands",
        default=None,
        metavar="all|B1,B2",
        help="raster bands passed through as features (default without any recipe: all)",
    )
    p.add_argument(
        "--indices", default=None, metavar="I1,I2", help="spectral indices, e.g. ndvi,savi,evi"
    )
    p.add_argument(
        "--texture", default=None, metavar="BAND[:WIN],...", help="GLCM textures, e.g. nir:7"
    )
    p.add_argument(
        "--terrain",
        default=None,
        metavar="V1,V2",
        help="terrain variables from the 'dem' raster, e.g. elevation,slope,twi",
    )
    p.add_argument(
        "--footprint",
        type=positive_float,
        default=None,
        metavar="METRES",
        help="side of the square plots: features are averaged over it (default: the pixel "
        "under the plot centre)",
    )
    p.add_argument(
        "--map-resolution",
        type=positive_float,
        default=None,
        metavar="METRES",
        help="default cell size of maps (default: the footprint in whole pixels)",
    )


def _add_validation(p) -> None:
    """Spatial CV, plot quality control and the learner's size."""
    p.add_argument(
        "--block-size",
        type=positive_float,
        default=None,
        metavar="METRES",
        help="spatial CV block side (default: from the residual variogram)",
    )
    p.add_argument(
        "--folds", type=int_at_least(2, ", e.g. 5"), default=5, help="CV folds (default: 5)"
    )
    p.add_argument(
        "--n-repeats",
        type=int_at_least(1, ", e.g. 5"),
        default=5,
        metavar="N",
        help="fold seeds of the spatial and random CV, reported as mean +- sd over them and "
        "pooled (default: 5; 1: one fold assignment)",
    )
    p.add_argument(
        "--qc",
        choices=("flag", "drop", "off"),
        default="flag",
        help="imagery check of the plots: flag = report flagged plots and keep them all "
        "(default); drop = leave them out and report the CV with them scored as held-out plots "
        "beside the CV without them; off = no check",
    )
    p.add_argument("--no-qc", action="store_true", help="same as --qc off (kept for old scripts)")
    p.add_argument(
        "--qc-features",
        default=None,
        metavar="F1,F2",
        help="features of the QC forest (default: ndvi,crown_cover,height_mean)",
    )
    p.add_argument(
        "--secondary",
        default="elevation",
        help="co-kriging variable for rk-ck (default: elevation)",
    )
    p.add_argument(
        "--n-estimators",
        type=int_at_least(1, ", e.g. 300"),
        default=None,
        help="trees of the learner (default: 300)",
    )


def _add_plot_columns(p) -> None:
    """Where the plots are in a CSV or a multi-layer file, and their ids."""
    p.add_argument("--x", default=None, metavar="COL", help="x / longitude column of a CSV")
    p.add_argument("--y", default=None, metavar="COL", help="y / latitude column of a CSV")
    p.add_argument("--crs", default=None, help="CRS of those columns, e.g. EPSG:4326")
    p.add_argument("--layer", default=None, help="layer of a multi-layer plot file")
    p.add_argument("--id", default=None, metavar="COL", help="plot id column")


def _add_run(p) -> None:
    """Seed, threads and progress bars."""
    p.add_argument("--seed", type=int_at_least(0), default=0, help="random seed (default: 0)")
    p.add_argument(
        "--jobs", type=n_jobs, default=1, help="threads of the learner, -1: all (default: 1)"
    )
    p.add_argument(
        "--progress", action="store_true", help="progress bars even when not on a terminal"
    )
