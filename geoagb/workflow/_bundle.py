"""Model bundles: one file that holds everything ``geoagb map`` and ``geoagb report`` need.

A bundle (suffix ``.geoagb``) is a zip archive of

* ``manifest.json``: bundle format, geoagb and package versions, target and its unit (and,
  under ``target_traits``, whether it is biomass, non-negative and its carbon fraction), CRS,
  feature names, the (frozen) feature recipe and the rasters it reads, plot footprint and map
  resolution, plot QC summary, suggested and used block size with the residual variogram,
  cross-validation scores, and SHA-256 hashes of every input file plus one hash of them all;
* ``model.skops``: the fitted estimator, written with :mod:`skops.io` (no pickle). On load every
  node of it is checked against the exact list of types geoagb writes, and the sizes of every
  member against caps, before anything is inflated or constructed (:mod:`geoagb._untrusted`);
  anything else is refused unless ``trusted=`` names it;
* ``plots.csv``: the plots used, with coordinates, target, features, out-of-fold predictions and
  folds of the spatial and random CV; ``qc.csv``: the plots dropped and why; ``cv.csv``: train
  and validation metrics per fold for every CV run.

The bundle is written to a part file and renamed when complete (:func:`geoagb._io.atomic_path`).
"""

from __future__ import annotations

import io
import json
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._untrusted import load_skops, open_zip, read_member
from ..mapping import predict_raster
from ..raster import check_projected, require_valid_map
from ._manifest import validate_manifest
from ._map_labels import label_map
from ._uncertainty import band_method, bundle_error_band, tag_uncertainty_band
from ._units import TargetTraits, traits_of_manifest

__all__ = [
    "Bundle",
    "load_bundle",
    "save_bundle",
    "is_bundle",
    "BUNDLE_FORMAT",
    "BUNDLE_SUFFIX",
]

BUNDLE_FORMAT = 1
BUNDLE_SUFFIX = ".geoagb"
_MEMBERS = ("manifest.json", "model.skops", "plots.csv", "qc.csv", "cv.csv")
_MANIFEST_BYTES = 16 << 20  # a manifest of a few hundred rasters takes well under 1 MiB


@dataclass
class Bundle:
    """A fitted model with its feature recipe, CRS, CV results and provenance.

    Made by :func:`geoagb.workflow.fit_bundle` (``geoagb fit``), read by :func:`load_bundle`.

    Attributes
    ----------
    model : fitted estimator
        Predicts the target from the columns :attr:`model_columns`.
    manifest : dict
        Everything else, JSON (see the module docstring).
    plots : DataFrame
        One row per plot used: ``x``, ``y`` (metres, :attr:`crs`), the target, the features,
        ``oof_spatial``/``fold_spatial`` and ``oof_random``/``fold_random`` (out-of-fold
        predictions and test folds of the first fold seed), ``oof_residual`` (the learner's
        random 5-fold out-of-fold residual whose variogram set the block size).
    qc : DataFrame
        Plots dropped before fitting (index: plot id) with ``reason`` and ``detail``.
    cv : DataFrame
        Per fold and set (train / validation) metrics of every CV run: ``scheme`` ("spatial",
        "random", "sensitivity"), ``block_size`` (metres; NaN for random), ``repeat`` (fold
        seed, 0 = ``random_state``; absent in bundles written before repeated fold seeds, which
        hold one), ``fold``, ``set``, ``n`` and the :func:`geoagb.metrics.agb_scores` columns.
    path : Path or None
        Where it was read from or written to.
    """

    model: Any
    manifest: dict
    plots: pd.DataFrame
    qc: pd.DataFrame
    cv: pd.DataFrame
    path: Path | None = field(default=None, compare=False)

    # ---- what the model is --------------------------------------------------------------------
    @property
    def target(self) -> str:
        return self.manifest["target"]

    @property
    def unit(self) -> str:
        return self.manifest["unit"]

    @property
    def traits(self) -> TargetTraits:
        """The target's traits (biomass, non-negative, carbon fraction); see
        :func:`~geoagb.workflow.target_traits`.
        """
        return traits_of_manifest(self.manifest)

    @property
    def feature_names(self) -> list[str]:
        return list(self.manifest["feature_names"])

    @property
    def model_columns(self) -> list[str]:
        """Columns ``model.predict`` takes (coordinates first for coordinate-aware models)."""
        return list(self.manifest["model_columns"])

    @property
    def crs(self):
        from pyproj import CRS

        return CRS.from_wkt(self.manifest["crs_wkt"])

    @property
    def recipe(self) -> dict:
        return dict(self.manifest["recipe"])

    @property
    def label(self) -> str:
        """Model name for titles, e.g. ``"XGBoost"``."""
        return self.manifest["model"]["label"]

    @property
    def cv_label(self) -> str:
        """CV scheme for titles, e.g. ``"spatial 5-fold CV, 300 m blocks, 5 fold seeds"`` (no
        seed count for one fold seed, and in bundles written before repeated fold seeds).
        """
        return self.manifest["cv"]["label"]

    @property
    def block_size(self) -> float:
        """Block size used by the spatial CV, metres."""
        return float(self.manifest["block_size"]["used_m"])

    def scores(self) -> pd.DataFrame:
        """Validation and training metrics of the spatial and the random CV, numeric; rows
        ``spatial``, ``random``.

        Columns ``<set>_<metric>_mean`` / ``_sd`` (mean over fold seeds of the mean and sd over
        folds), ``pooled_<metric>`` (mean over fold seeds of the pooled out-of-fold score) and,
        in bundles fitted with repeated fold seeds, ``validation_<metric>_mean_sd`` /
        ``_mean_min`` / ``_mean_max`` and ``pooled_<metric>_sd`` / ``_min`` / ``_max`` over the
        seeds (NaN for one seed), ``n_folds`` and ``n_repeats``.
        """
        rows = {}
        for scheme in ("spatial", "random"):
            s = self.manifest["cv"][scheme]
            rows[scheme] = {
                k: np.nan if v is None else v
                for k, v in s.items()
                if v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
            }
        return pd.DataFrame(rows).T

    def X(self) -> pd.DataFrame:
        """The plots' model input (:attr:`model_columns`)."""
        return self.plots[self.model_columns]

    def __repr__(self) -> str:
        m = self.manifest
        return (
            f"Bundle({self.label} of {self.target} ({self.unit}) on {len(self.plots)} plots, "
            f"{len(self.feature_names)} features, {self.cv_label}; geoagb "
            f"{m['geoagb_version']})"
        )

    # ---- using it -----------------------------------------------------------------------------
    def features(self, rasters):
        """The fit's :class:`~geoagb.features.RasterFeatures` recipe on ``rasters`` (a folder, a
        list or ``{name: path}``), which must hold the rasters the recipe reads, on a grid of the
        same pixel size and CRS.
        """
        from ._plots_io import raster_sources
        from ._recipe import build_features

        sources = dict(rasters) if isinstance(rasters, dict) else raster_sources(rasters)
        need = list(self.manifest["rasters"]["sources"])
        missing = [k for k in need if k not in sources]
        if missing:
            files = self.manifest["rasters"]["sources"]
            raise ValueError(
                f"the model's feature recipe reads raster(s) {', '.join(missing)} (at fit: "
                f"{', '.join(files[k] for k in missing)}), which {_where(rasters)} does not hold "
                f"(it has {', '.join(sources) or 'none'}); give the folder or files with "
                f"{', '.join(need)}, named as at fit."
            )
        rf = build_features({k: sources[k] for k in need}, self.recipe)
        self._check_grid(rf)
        return rf

    def _check_grid(self, rf) -> None:
        from pyproj import CRS

        grid = rf.grid
        name = str(next(iter(dict(rf.sources).values()), "the rasters"))
        check_projected(name, grid["crs"], grid["transform"], grid["width"], grid["height"])
        want = float(self.manifest["rasters"]["resolution_m"])
        if abs(grid["resolution"] - want) > 1e-6 * want:
            raise ValueError(
                f"the rasters have {grid['resolution']:g} m pixels but the model was fitted on "
                f"{want:g} m pixels: textures, terrain and footprints would mean something else; "
                f"resample the rasters to {want:g} m (gdalwarp -tr {want:g} {want:g})."
            )
        fitted_on = CRS.from_user_input(
            self.manifest["rasters"].get("crs_wkt") or self.manifest["crs_wkt"]
        )
        if CRS.from_user_input(grid["crs"]) != fitted_on:
            msg = (
                f"the rasters are in {CRS.from_user_input(grid['crs']).to_string()} but the model "
                f"was fitted on rasters in {fitted_on.to_string()}"
            )
            if self.manifest.get("coordinate_aware"):
                raise ValueError(
                    f"{msg}, and it reads coordinates (kriging); reproject the rasters "
                    f"to {fitted_on.to_string()} (gdalwarp -t_srs ...)."
                )
            import warnings

            warnings.warn(
                f"{msg}; terrain aspect is relative to grid north, so check the map.",
                UserWarning,
                stacklevel=3,
            )

    def predict_map(
        self,
        rasters,
        out,
        *,
        resolution=None,
        mask=None,
        return_std=True,
        window_size=None,
        memory_mb=512.0,
        progress=None,
    ):
        """Map the target wall to wall with :func:`geoagb.mapping.predict_raster`.

        ``resolution`` defaults to the bundle's map resolution (the plot footprint rounded to
        whole pixels, or as given at fit). Returns the path written. Band 1 is named after the
        target (``agb``, ``richness``; its standard deviation ``<target>_std``) in its unit; a
        non-negative target (:attr:`traits`) is clipped at 0, the count of clipped cells in
        the tags ``geoagb_clipped_cells`` / ``geoagb_valid_cells``
        (:func:`geoagb.workflow._map_labels.label_map`).

        With ``return_std`` (default) every model writes a ``<target>_std`` band: its own spread
        (kriging std, per-tree spread of a forest) or, for models without one (XGBoost), the sd
        of the spatial-CV out-of-fold residual from a local error model of the plots
        (:mod:`geoagb.workflow._uncertainty`); the band's tags ``geoagb_std_method`` (and
        ``geoagb_std_coverage95``) say which, and a constant band gets ``geoagb_std_note`` and a
        warning.
        """
        rf = self.features(rasters)
        res = self.manifest.get("map_resolution_m") if resolution is None else resolution
        # a std band from every model: its own spread (forest, kriging), else the local error
        # model of the out-of-fold residuals (geoagb.workflow._uncertainty); never silently none
        band = bundle_error_band(self) if return_std else None
        model, std_tags = band if band is not None else (self.model, {})
        out = predict_raster(
            model,
            rf,
            out,
            resolution=res,
            mask=mask,
            return_std=return_std,
            window_size=window_size,
            memory_mb=memory_mb,
            progress=progress,
        )
        require_valid_map(out, self.feature_names)  # an empty map is an error, not a file
        # bands named after the target, its unit; a non-negative target clipped at 0 (counted)
        label_map(out, self.traits)
        if return_std:
            method = std_tags.pop("geoagb_std_method", None) or band_method(
                self.model, self.manifest.get("kriging")
            )
            tag_uncertainty_band(out, method, std_tags, estimator=type(self.model).__name__)
        return out

    def save(self, path) -> Path:
        """Write the bundle (see :func:`save_bundle`)."""
        return save_bundle(self, path)


def _where(rasters) -> str:
    if isinstance(rasters, (str, Path)):
        return f"RASTERS {str(rasters)!r}"
    return "the rasters given"


def _csv_bytes(df: pd.DataFrame, index=True) -> bytes:
    return df.to_csv(index=index).encode()


def _read_csv(data: bytes, path, member, index_col=None) -> pd.DataFrame:
    # pandas reads floats back exactly (round trip) by default since 2.x; to_csv writes repr
    try:
        return pd.read_csv(io.BytesIO(data), index_col=index_col)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as err:
        raise ValueError(
            f"{path}: {member} is not a readable table ({str(err).splitlines()[0][:120]}); write "
            "the bundle again with geoagb fit."
        ) from None


def save_bundle(bundle: Bundle, path) -> Path:
    """Write ``bundle`` to ``path`` (a ``.geoagb`` zip file), atomically.

    Returns the path.
    """
    import skops.io as sio

    from .._io import atomic_path

    path = Path(path)
    if path.suffix.lower() != BUNDLE_SUFFIX:
        raise ValueError(
            f"bundle path {str(path)!r} must end in {BUNDLE_SUFFIX}, e.g. "
            f"{path.with_suffix(BUNDLE_SUFFIX).name!r}, so that geoagb map knows it."
        )
    model = sio.dumps(bundle.model)
    with atomic_path(path, "OUT") as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr("manifest.json", json.dumps(bundle.manifest, indent=1, allow_nan=True))
            z.writestr("model.skops", model)
            z.writestr("plots.csv", _csv_bytes(bundle.plots))
            z.writestr("qc.csv", _csv_bytes(bundle.qc))
            z.writestr("cv.csv", _csv_bytes(bundle.cv, index=False))
    bundle.path = path
    return path


def is_bundle(path) -> bool:
    """True for a ``.geoagb`` file (or any zip file holding a ``manifest.json``)."""
    p = Path(path)
    if p.suffix.lower() == BUNDLE_SUFFIX:
        return True
    if not p.is_file() or not zipfile.is_zipfile(p):
        return False
    with zipfile.ZipFile(p) as z:
        return "manifest.json" in z.namelist()


def load_bundle(path, *, trusted=None, check_version: bool = True) -> Bundle:
    """Read a model bundle written by ``geoagb fit`` (:func:`save_bundle`).

    Nothing in the file runs as code: the member sizes are checked before they are inflated and
    every node of the model against the exact list of types geoagb writes before anything is
    constructed (:func:`geoagb._untrusted.audit_skops`; threat model in the docs' security page).

    Parameters
    ----------
    path : str or Path
        The ``.geoagb`` file.
    trusted : True or list of str, optional
        Further type names (``module.Class``, as :func:`skops.io.get_untrusted_types` gives them)
        to accept in the model beyond :data:`geoagb._untrusted.GEOAGB_TYPES`; ``True`` accepts
        every type in the file. Only for files you made or whose source you trust.
    check_version : bool, default True
        Refuse a bundle written by another geoagb version (its features or model may differ);
        refit it, or read it with the version that wrote it.

    Returns
    -------
    Bundle

    Raises
    ------
    FileNotFoundError, ValueError
        Missing file, not a bundle, incomplete bundle, other geoagb version, untrusted types
        (:class:`geoagb._untrusted.UntrustedFileError`, a ValueError), oversized members.
    """
    from .. import __version__

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"bundle {str(path)!r} does not exist; write one with geoagb fit.")
    if path.is_dir() or not zipfile.is_zipfile(path):
        raise ValueError(
            f"{path} is not a geoagb model bundle (not a zip archive: truncated or "
            "another format); write it again with geoagb fit, or copy it again."
        )
    with open_zip(path) as z:
        names = set(z.namelist())
        missing = [m for m in _MEMBERS if m not in names]
        if missing:
            raise ValueError(
                f"{path} is an incomplete model bundle: it lacks {', '.join(missing)}; "
                "write it again with geoagb fit."
            )
        if z.getinfo("manifest.json").file_size > _MANIFEST_BYTES:
            raise ValueError(
                f"{path}: manifest.json inflates to {z.getinfo('manifest.json').file_size:,} "
                f"bytes, more than the {_MANIFEST_BYTES:,} a manifest takes; it is not a bundle "
                "geoagb wrote."
            )
        try:
            manifest = json.loads(read_member(z, "manifest.json", path=path))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(
                f"{path}: manifest.json is not valid JSON ({err}); write the bundle "
                "again with geoagb fit."
            ) from None
        if not isinstance(manifest, dict):
            raise ValueError(
                f"{path}: manifest.json holds a {type(manifest).__name__}, not an object; "
                "write the bundle again with geoagb fit."
            )
        fmt = manifest.get("format")
        if fmt != BUNDLE_FORMAT:
            raise ValueError(
                f"{path} has bundle format {fmt!r}; this geoagb ({__version__}) reads "
                f"format {BUNDLE_FORMAT}: refit with geoagb fit."
            )
        written = manifest.get("geoagb_version")
        if check_version and written != __version__:
            raise ValueError(
                f"{path} was written by geoagb {written}, this is geoagb {__version__}: "
                "features and models may differ between versions; refit with this version or "
                f"install geoagb=={written} to use it."
            )
        manifest = validate_manifest(manifest, path)
        model = load_skops(read_member(z, "model.skops", path=path), path=path, trusted=trusted)
        plots = _read_csv(read_member(z, "plots.csv", path=path), path, "plots.csv", index_col=0)
        qc = _read_csv(read_member(z, "qc.csv", path=path), path, "qc.csv", index_col=0)
        cv = _read_csv(read_member(z, "cv.csv", path=path), path, "cv.csv")
    _warn_versions(manifest, path)
    return Bundle(model=model, manifest=manifest, plots=plots, qc=qc, cv=cv, path=path)


def package_versions() -> dict:
    """Versions of the packages a bundle depends on (None: not installed)."""
    from importlib import metadata

    from .. import __version__

    out = {"python": sys.version.split()[0], "geoagb": __version__}
    for name in (
        "numpy",
        "pandas",
        "scikit-learn",
        "xgboost",
        "scipy",
        "skops",
        "rasterio",
        "geopandas",
        "pyproj",
        "gstools",
        "shap",
    ):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def _warn_versions(manifest, path) -> None:
    """One warning naming packages whose version differs from the one that wrote the bundle."""
    import warnings

    now = package_versions()
    then = manifest.get("versions", {})
    diff = [
        f"{k} {then[k]} -> {now.get(k)}"
        for k in ("scikit-learn", "xgboost", "numpy")
        if then.get(k) and now.get(k) and then[k] != now[k]
    ]
    if diff:
        warnings.warn(
            f"{Path(path).name} was written with other package versions ({', '.join(diff)}); "
            "predictions may differ slightly from the bundle's CV results.",
            UserWarning,
            stacklevel=3,
        )


def file_sha256(path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    import hashlib

    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def combined_hash(parts: dict) -> str:
    """One SHA-256 over a JSON-able dict of hashes and options (sorted keys)."""
    import hashlib

    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def jsonable(obj):
    """Plain JSON types from numpy scalars / arrays, dicts and lists (NaN kept as NaN)."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    return obj
