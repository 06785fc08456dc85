"""``geoagb map MODEL FEATURES OUT``: an AGB map with its uncertainty, from the command line.

MODEL is a ``.geoagb`` bundle (mapped by ``Bundle.predict_map``) or a fitted estimator file
(:func:`geoagb.mapping.load_estimator_file`, mapped by :func:`geoagb.mapping.predict_raster`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import rasterio

from .._io import check_output_path, is_part_file
from ..mapping import carbon_stock, load_estimator_file, predict_raster
from ..raster import check_geotiff_path
from ..workflow import carbon_unit, format_carbon, is_bundle, load_bundle
from ._args import fraction, int_at_least, positive_float
from ._common import show_progress, trust

__all__ = ["add_map_command", "clip_note", "parse_features", "parse_mask", "run_map_bundle"]

#: Files FEATURES may name as a saved RasterFeatures recipe.
_RECIPE_SUFFIXES = (".joblib", ".pkl", ".pickle", ".skops")


def parse_features(text: str, trusted=False):
    """FEATURES argument -> what :func:`predict_raster` takes.

    * ``stack.tif``: one multi-band GeoTIFF whose band descriptions are the feature names;
    * ``a.tif,b.tif,c.tif``: single-band GeoTIFFs (named by band description or file stem);
    * a folder: every ``*.tif`` in it, keyed by file stem (e.g. a ``make_scene`` folder for a
      patch model: image, crown, chm, ...);
    * ``recipe.joblib`` / ``recipe.skops``: a saved :class:`geoagb.features.RasterFeatures`.
    """
    if "," in text:
        return [t.strip() for t in text.split(",") if t.strip()]
    p = Path(text)
    if p.is_dir():
        # hidden files and the part files of an interrupted write are never inputs
        tifs = [
            t
            for t in sorted(p.glob("*.tif")) + sorted(p.glob("*.tiff"))
            if not t.name.startswith(".") and not is_part_file(t)
        ]
        if not tifs:
            raise ValueError(f"folder {p} holds no .tif files to map from.")
        return {t.stem: str(t) for t in tifs}
    if p.suffix.lower() in _RECIPE_SUFFIXES:
        return load_estimator_file(p, trusted=trusted, expect="recipe")
    if not p.exists():
        raise FileNotFoundError(f"features file {p} does not exist.")
    return str(p)


def parse_mask(items):
    """``--mask PATH`` (non-zero = map) or ``--mask PATH:1,2`` (map where the value is 1 or 2)."""
    if not items:
        return None
    out = []
    for it in items:
        path, sep, values = it.rpartition(":")
        if (
            sep
            and values
            and all(v.strip().lstrip("-").replace(".", "", 1).isdigit() for v in values.split(","))
        ):
            out.append((path, [float(v) for v in values.split(",")]))
        else:
            out.append(it)
    return out


def _map_options(args) -> dict:
    """The mapping flags as keywords of predict_raster / Bundle.predict_map (they share them)."""
    return dict(
        resolution=args.resolution,
        mask=parse_mask(args.mask),
        return_std=not args.no_std,
        window_size=args.window_size,
        memory_mb=args.memory_mb,
        progress=show_progress(args),
    )


def _run_map(args) -> int:
    check_output_path(args.out, "OUT")  # before the model is loaded or anything computed
    check_geotiff_path(args.out, "OUT")
    if is_bundle(args.model):
        out, traits = run_map_bundle(args)
        _print_carbon(out, args, traits)
        return 0
    model = load_estimator_file(args.model, trusted=args.trust)
    features = parse_features(args.features, trusted=args.trust)
    names = None
    if args.feature_names:
        names = [n.strip() for n in args.feature_names.split(",") if n.strip()]
    out = predict_raster(model, features, args.out, feature_names=names, **_map_options(args))
    with rasterio.open(out) as ds:
        print(
            f"wrote {out} ({ds.width} x {ds.height} cells of {ds.res[0]:g} m; "
            f"bands {', '.join(ds.descriptions)})"
        )
    _print_carbon(out, args)
    return 0


def run_map_bundle(args):
    """``geoagb map BUNDLE RASTERS OUT``: the bundle's model and recipe on RASTERS; returns OUT
    and the bundle's :class:`~geoagb.workflow.TargetTraits`.
    """
    bundle = load_bundle(args.model, trusted=trust(args))
    if args.feature_names:
        raise ValueError(
            "--feature-names is for bare models; a bundle knows its features: drop it."
        )
    out = bundle.predict_map(args.features, args.out, **_map_options(args))
    with rasterio.open(out) as ds:
        print(
            f"wrote {out} ({ds.width} x {ds.height} cells of {ds.res[0]:g} m; bands "
            f"{', '.join(ds.descriptions)}; {bundle.label}, {len(bundle.feature_names)} features)"
        )
        tags = ds.tags()
    if "geoagb_clipped_cells" in tags:
        print(clip_note(int(tags["geoagb_clipped_cells"]), int(tags["geoagb_valid_cells"])))
    return out, bundle.traits


def clip_note(clipped: int, valid: int) -> str:
    """The line ``geoagb map`` prints for the cells of a non-negative target clipped at 0.

    Examples
    --------
    >>> clip_note(1234, 308_500)
    'clipped 1,234 cells (0.4 %) below 0 to 0 (a non-negative target)'
    """
    pct = 100.0 * clipped / valid if valid else 0.0
    return f"clipped {clipped:,} cells ({pct:.1f} %) below 0 to 0 (a non-negative target)"


def _print_carbon(out, args, traits=None) -> None:
    """``--carbon``: the map's carbon stock; for a bundle whose target is not biomass (and no
    ``--carbon-fraction``), a note instead of a number.
    """
    if not args.carbon:
        return
    cf, what = args.carbon_fraction, "Mg/ha AGB"
    if traits is not None:
        what = f"{traits.unit} {traits.name}"
        cf = traits.carbon_fraction if cf is None else cf
        if cf is None:
            print(
                f"no carbon stock: the target {traits.name!r} ({traits.unit}) is not biomass; "
                "give --carbon-fraction F to treat it as biomass (or fit with --carbon-fraction)."
            )
            return
    cf = 0.47 if cf is None else cf
    row = carbon_stock(out, carbon_fraction=cf).loc["all"]
    unit = carbon_unit(row["stock_MgC"])  # the report's and the demo's unit rule
    sd = f" +- {format_carbon(row['stock_sd_MgC'], unit)}" if "stock_sd_MgC" in row else ""
    print(
        f"carbon stock: {format_carbon(row['stock_MgC'], unit)}{sd} over "
        f"{row['area_ha']:.6g} ha (mean {row['mean_agb_Mg_ha']:.1f} {what}; carbon "
        f"fraction {cf:g})"
    )


def add_map_command(subparsers) -> argparse.ArgumentParser:
    """Add ``geoagb map MODEL FEATURES OUT`` to an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "map",
        help="predict a wall-to-wall AGB map (with uncertainty) from a fitted model",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Predict AGB (Mg/ha) window by window into a tiled GeoTIFF with an uncertainty "
        "band (for a bundle: its target, band 1 named after it, in its unit; a non-negative "
        "target clipped at 0, the cells counted). MODEL: a .geoagb bundle from `geoagb fit` "
        "(FEATURES is then the raster "
        "folder or list the bundle's recipe reads; --resolution defaults to the "
        "bundle's), or a .skops / .joblib / .pt file. FEATURES: a GeoTIFF whose band "
        "descriptions are the feature names, comma-separated single-band GeoTIFFs, a "
        "folder of GeoTIFFs (patch models), or a saved RasterFeatures recipe.",
    )
    p.add_argument(
        "model", help="model bundle (.geoagb) or fitted estimator file (.skops, .joblib, .pkl, .pt)"
    )
    p.add_argument(
        "features", help="rasters (for a bundle: the raster folder) or recipe (see above)"
    )
    p.add_argument("out", help="output GeoTIFF (.tif or .tiff)")
    p.add_argument(
        "--resolution",
        type=positive_float,
        default=None,
        help="output cell size in metres, a multiple of the input pixel size (None: "
        "a bundle's map resolution, else the input pixel size)",
    )
    p.add_argument(
        "--mask",
        action="append",
        default=None,
        metavar="PATH[:V1,V2]",
        help="map only where PATH is non-zero, or equals one of V1,V2,... (repeatable)",
    )
    p.add_argument("--no-std", action="store_true", help="do not write the uncertainty band")
    p.add_argument(
        "--window-size",
        type=int_at_least(1, ", e.g. 256"),
        default=None,
        help="window side in output cells (None: the largest that fits --memory-mb)",
    )
    p.add_argument(
        "--feature-names",
        default=None,
        metavar="NAME[,NAME...]",
        help="for a model fitted on a bare array (no column names): the names of its "
        "fitted columns, in order, so that bands are matched by name",
    )
    p.add_argument(
        "--memory-mb", type=positive_float, default=512.0, help="memory budget for windows (MiB)"
    )
    p.add_argument("--carbon", action="store_true", help="also print the carbon stock of the map")
    p.add_argument(
        "--carbon-fraction",
        type=fraction,
        default=None,
        help="carbon fraction of biomass (default: a bundle's, 0.47 for AGB in Mg/ha, none "
        "for a target that is not biomass; 0.47 for a bare model)",
    )
    p.add_argument(
        "--trust",
        action="store_true",
        help="trust the model file: read pickle/joblib files and every type in a .skops file or "
        "bundle (they can run code: only files you made or whose source you trust)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--progress",
        action="store_true",
        help="progress bar even when not on a terminal (default: only on a terminal)",
    )
    p.set_defaults(func=_run_map)
    return p
