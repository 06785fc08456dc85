"""The ``geoagb map`` sub-command: MODEL FEATURES OUT -> an AGB map with its uncertainty.

Wired into :mod:`geoagb.cli` with :func:`add_map_command`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .._argtypes import fraction, int_at_least, positive_float
from .._untrusted import load_pickle, load_skops
from ..raster import check_geotiff_path

__all__ = ["add_map_command", "load_estimator_file", "parse_features", "parse_mask"]

_PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")


def load_estimator_file(path, trusted=False, *, expect="estimator"):
    """Load a fitted estimator (or a RasterFeatures recipe) from a skops, joblib or geoagb-deep file.

    Nothing in the file runs as code unless ``trusted=True`` (command line: ``--trust``):

    * ``.skops`` files are audited node by node against the types geoagb writes and the
      scikit-learn estimators skops trusts (:func:`geoagb._untrusted.audit_skops`); a list of type
      names adds to that list, ``True`` accepts every type in the file;
    * ``.joblib``/``.pkl``/``.pickle`` files run code when read, so they need ``trusted=True``;
    * ``.pt`` files are geoagb patch models saved with ``est.save(path)`` (tensors and JSON only).

    ``expect="estimator"`` refuses a file that holds no fitted model (e.g. a saved array);
    ``"recipe"`` one that holds no :class:`~geoagb.features.RasterFeatures`.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist.")
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not a model file (.skops, .joblib, .pkl, .pt).")
    suffix = path.suffix.lower()
    if suffix == ".skops":
        if trusted is not True:
            trusted = list(trusted or ()) + _sklearn_estimator_types()
        return _expected(load_skops(path, trusted=trusted), path, expect)
    if suffix in _PICKLE_SUFFIXES:
        return _expected(load_pickle(path, trusted=trusted), path, expect)
    if suffix == ".pt":
        from ..deep import load_model

        return load_model(path)
    raise ValueError(
        f"cannot load {path}: the suffix {suffix!r} is not one of .skops, .joblib, .pkl, .pickle or "
        ".pt (geoagb deep models). Save a model with skops.io.dump(model, 'model.skops') or "
        "joblib.dump(model, 'model.joblib')."
    )


def _sklearn_estimator_types() -> list[str]:
    """``module.Class`` of scikit-learn's public estimators (those skops trusts by default)."""
    from sklearn.utils import all_estimators

    return [f"{c.__module__}.{c.__name__}" for _, c in all_estimators()]


def _expected(obj, path, expect):
    if expect == "recipe":
        from ..features import RasterFeatures

        ok, want = isinstance(obj, RasterFeatures), "a geoagb.features.RasterFeatures recipe"
    else:
        ok, want = callable(getattr(obj, "predict", None)), "a fitted model (with a predict method)"
    if not ok:
        raise ValueError(
            f"{path} holds a {type(obj).__module__}.{type(obj).__name__}, not {want}; save the "
            "fitted estimator itself, e.g. joblib.dump(model, 'model.joblib')."
        )
    return obj


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
        from .._io import is_part_file

        # hidden files and the part files of an interrupted write are never inputs
        tifs = [
            t
            for t in sorted(p.glob("*.tif")) + sorted(p.glob("*.tiff"))
            if not t.name.startswith(".") and not is_part_file(t)
        ]
        if not tifs:
            raise ValueError(f"folder {p} holds no .tif files to map from.")
        return {t.stem: str(t) for t in tifs}
    if p.suffix.lower() in _PICKLE_SUFFIXES + (".skops",):
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


def _run_map(args) -> int:
    from .._io import check_output_path
    from ..workflow._bundle import is_bundle
    from ..workflow._cli import show_progress
    from ._predict import predict_raster

    check_output_path(args.out, "OUT")  # before the model is loaded or anything computed
    check_geotiff_path(args.out, "OUT")
    if is_bundle(args.model):
        from ..workflow._cli import run_map_bundle

        out = run_map_bundle(args)
        _print_carbon(out, args)
        return 0
    model = load_estimator_file(args.model, trusted=args.trust)
    features = parse_features(args.features, trusted=args.trust)
    names = None
    if args.feature_names:
        names = [n.strip() for n in args.feature_names.split(",") if n.strip()]
    out = predict_raster(
        model,
        features,
        args.out,
        resolution=args.resolution,
        mask=parse_mask(args.mask),
        return_std=not args.no_std,
        window_size=args.window_size,
        memory_mb=args.memory_mb,
        progress=show_progress(args),
        feature_names=names,
    )
    import rasterio

    with rasterio.open(out) as ds:
        print(
            f"wrote {out} ({ds.width} x {ds.height} cells of {ds.res[0]:g} m; "
            f"bands {', '.join(ds.descriptions)})"
        )
    _print_carbon(out, args)
    return 0


def _print_carbon(out, args) -> None:
    if not args.carbon:
        return
    from ..workflow._units import carbon_unit, format_carbon
    from ._carbon import carbon_stock

    row = carbon_stock(out, carbon_fraction=args.carbon_fraction).loc["all"]
    unit = carbon_unit(row["stock_MgC"])  # the report's and the demo's unit rule
    sd = f" +- {format_carbon(row['stock_sd_MgC'], unit)}" if "stock_sd_MgC" in row else ""
    print(
        f"carbon stock: {format_carbon(row['stock_MgC'], unit)}{sd} over "
        f"{row['area_ha']:.6g} ha (mean {row['mean_agb_Mg_ha']:.1f} Mg/ha AGB)"
    )


def add_map_command(subparsers) -> argparse.ArgumentParser:
    """Add ``geoagb map MODEL FEATURES OUT`` to an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "map",
        help="predict a wall-to-wall AGB map (with uncertainty) from a fitted model",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Predict AGB (Mg/ha) window by window into a tiled GeoTIFF with an uncertainty "
        "band. MODEL: a .geoagb bundle from `geoagb fit` (FEATURES is then the raster "
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
        "--carbon-fraction", type=fraction, default=0.47, help="carbon fraction of biomass"
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
