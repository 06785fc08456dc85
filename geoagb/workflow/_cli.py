"""``geoagb fit`` and ``geoagb report`` (and ``geoagb map`` with a bundle), wired into
:mod:`geoagb.cli` by :func:`add_fit_command` and :func:`add_report_command`.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

from .._argtypes import fraction, int_at_least, n_jobs, positive_float

__all__ = ["add_fit_command", "add_report_command", "run_map_bundle", "show_progress"]

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


def show_progress(args) -> bool:
    """Progress bars only on a terminal, or with --progress; never with --quiet."""
    if getattr(args, "quiet", False):
        return False
    return bool(getattr(args, "progress", False)) or sys.stderr.isatty()


def _echo(s: str) -> None:
    print(s[4:] if s.startswith("    ") else s, flush=True)


def _command(args) -> str:
    import shlex

    argv = getattr(args, "argv", None)
    return "geoagb " + shlex.join(argv) if argv is not None else ""


#: fit_bundle's parameters -> the flags of ``geoagb fit`` (its errors name parameters).
FIT_FLAGS = {
    "n_splits": "--folds",
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
    "config": "--config",
    "model": "--model",
    "crs": "--crs",
    "layer": "--layer",
    "out": "--out",
}
_PARAM = re.compile(r"(?<![\w.-])(" + "|".join(FIT_FLAGS) + r")=")


def to_flags(message: str) -> str:
    """A fit_bundle message in ``geoagb fit`` words: ``qc=False`` -> ``--no-qc``,
    ``n_splits=5`` -> ``--folds 5``, ``target='agb'`` -> ``--target 'agb'``.

    Examples
    --------
    >>> to_flags("only 3 plots remain; lower n_splits=5, or pass qc=False.")
    'only 3 plots remain; lower --folds 5, or pass --no-qc.'
    >>> to_flags("name the target column with target=.")
    'name the target column with --target.'
    """
    message = re.sub(r"(?<![\w.-])qc=False", "--no-qc", message)

    def flag(m):
        value_follows = m.end() < len(message) and message[m.end()] not in " .,;:)"
        return FIT_FLAGS[m.group(1)] + (" " if value_follows else "")

    return _PARAM.sub(flag, message)


def _run_fit(args) -> int:
    try:
        return _fit(args)
    except (ValueError, FileNotFoundError, PermissionError) as err:
        if getattr(args, "debug", False) or not err.args or not isinstance(err.args[0], str):
            raise
        message = to_flags(err.args[0])
        if message == err.args[0]:
            raise
        try:
            new = type(err)(message)
        except TypeError:  # an error class with more arguments (e.g. UnicodeDecodeError)
            new = ValueError(message)
        raise new from err


def _fit(args) -> int:
    from ._fit import fit_bundle

    t0 = time.perf_counter()
    fit_bundle(
        args.plots,
        args.rasters,
        args.out,
        target=args.target,
        unit=args.unit,
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
        qc=not args.no_qc,
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
        command=_command(args),
        echo=lambda s: _echo(to_flags(s)),
    )
    _echo(f"geoagb fit finished in {time.perf_counter() - t0:.1f} s")
    return 0


def add_fit_command(subparsers) -> argparse.ArgumentParser:
    """Add ``geoagb fit PLOTS RASTERS`` to an argparse ``subparsers`` object."""
    from ._fit import MODELS

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
    p.add_argument("plots", help="plot file: .gpkg, .shp, .geojson, .parquet or .csv")
    p.add_argument("rasters", help="folder of co-registered GeoTIFFs, or a comma-separated list")
    p.add_argument("--target", default="agb", help="target column (default: agb)")
    p.add_argument(
        "--unit", default="Mg/ha", help="unit of the target (default: Mg/ha; MgC/ha for carbon)"
    )
    p.add_argument("--out", default="model.geoagb", help="bundle to write (default: model.geoagb)")
    p.add_argument(
        "--model",
        default="xgboost",
        choices=list(MODELS),
        help="xgboost, rf (random forest), rk-ok (XGBoost + residual kriging), rk-ck "
        "(XGBoost + residual co-kriging on --secondary) (default: xgboost)",
    )
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
    p.add_argument("--no-qc", action="store_true", help="skip the imagery check of the plots")
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
    p.add_argument("--x", default=None, metavar="COL", help="x / longitude column of a CSV")
    p.add_argument("--y", default=None, metavar="COL", help="y / latitude column of a CSV")
    p.add_argument("--crs", default=None, help="CRS of those columns, e.g. EPSG:4326")
    p.add_argument("--layer", default=None, help="layer of a multi-layer plot file")
    p.add_argument("--id", default=None, metavar="COL", help="plot id column")
    p.add_argument("--seed", type=int_at_least(0), default=0, help="random seed (default: 0)")
    p.add_argument(
        "--jobs", type=n_jobs, default=1, help="threads of the learner, -1: all (default: 1)"
    )
    p.add_argument(
        "--progress", action="store_true", help="progress bars even when not on a terminal"
    )
    p.set_defaults(func=_run_fit)
    return p


def _run_report(args) -> int:
    from .._io import check_output_path
    from ._bundle import load_bundle
    from ._report import write_report

    out = args.out or str(Path(args.bundle).with_name(Path(args.bundle).stem + "_report.html"))
    check_output_path(out, "--out")
    bundle = load_bundle(args.bundle, trusted=_trust(args))
    write_report(
        bundle,
        out,
        args.map,
        regions=args.regions,
        by=args.by,
        carbon_fraction=args.carbon_fraction,
        echo=_echo,
    )
    return 0


def _trust(args):
    """--trust: accept every type in the model file (only for bundles you trust)."""
    return True if getattr(args, "trust", False) else None


def add_report_command(subparsers) -> argparse.ArgumentParser:
    """Add ``geoagb report BUNDLE [MAP]`` to an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "report",
        help="one self-contained HTML report of a model bundle (and its map)",
        description="Write one HTML file (figures embedded, opens offline): data and QC, block "
        "size and its sensitivity, spatial vs random CV, predicted vs observed, "
        "residual variogram, SHAP summary and dependence, and with MAP the map "
        "quick-look and carbon stock per region.",
    )
    p.add_argument("bundle", help="model bundle (.geoagb) written by geoagb fit")
    p.add_argument("map", nargs="?", default=None, help="map written by geoagb map (optional)")
    p.add_argument("--out", default=None, help="HTML file (default: <bundle>_report.html)")
    p.add_argument(
        "--regions",
        default=None,
        metavar="FILE",
        help="regions for the carbon stock: polygons (vector file) or a zone raster",
    )
    p.add_argument("--by", default=None, metavar="COL", help="region name column of --regions")
    p.add_argument(
        "--carbon-fraction",
        type=fraction,
        default=None,
        help="carbon fraction of biomass (default: 0.47; 1 for a carbon target)",
    )
    p.add_argument(
        "--trust",
        action="store_true",
        help="accept every type in the bundle's model (it can run code: only bundles you made "
        "or whose source you trust)",
    )
    p.set_defaults(func=_run_report)
    return p


def run_map_bundle(args):
    """``geoagb map BUNDLE RASTERS OUT``: the bundle's model and recipe on RASTERS; returns OUT."""
    import rasterio

    from ._bundle import load_bundle

    bundle = load_bundle(args.model, trusted=_trust(args))
    if args.feature_names:
        raise ValueError(
            "--feature-names is for bare models; a bundle knows its features: drop it."
        )
    from ..mapping._cli import parse_mask

    out = bundle.predict_map(
        args.features,
        args.out,
        resolution=args.resolution,
        mask=parse_mask(args.mask),
        return_std=not args.no_std,
        window_size=args.window_size,
        memory_mb=args.memory_mb,
        progress=show_progress(args),
    )
    with rasterio.open(out) as ds:
        print(
            f"wrote {out} ({ds.width} x {ds.height} cells of {ds.res[0]:g} m; bands "
            f"{', '.join(ds.descriptions)}; {bundle.label}, {len(bundle.feature_names)} features)"
        )
    return out
