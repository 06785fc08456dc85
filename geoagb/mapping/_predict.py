"""``predict_raster``: a wall-to-wall AGB map (and its uncertainty) from any fitted estimator."""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rasterio.windows import Window

from .._io import check_output_path
from ..raster import (
    as_feature_source,
    atomic_geotiff,
    check_geotiff_path,
    geotiff_profile,
    has_valid_pixel,
    output_grid,
    plan_windows,
    run_windows,
    window_size_for_budget,
)
from ._dask import check_client, run_windows_dask
from ._masks import normalize_mask
from ._patch import PatchTask, is_patch_model, patch_reader
from ._tabular import TabularTask

__all__ = ["predict_raster", "make_task", "resolve_window_size"]


def make_task(
    estimator,
    features,
    *,
    resolution=None,
    mask=None,
    return_std=True,
    nodata=np.nan,
    overlap="auto",
    bands=None,
    feature_names=None,
    applicability=None,
):
    """Build the window task of ``predict_raster`` (validates everything before any file is made)."""
    from sklearn.utils.validation import check_is_fitted

    if isinstance(estimator, type):
        raise TypeError(f"estimator must be a fitted instance, not the class {estimator.__name__}.")
    check_is_fitted(estimator)
    if feature_names is not None and is_patch_model(estimator):
        raise ValueError(
            "feature_names is for tabular models fitted on an unnamed array; a patch model reads "
            f"its bands by name ({list(estimator.bands_)}): drop feature_names, use bands= to "
            "rename source bands."
        )
    if applicability is not None and is_patch_model(estimator):
        raise ValueError(
            "applicability= (DI and AOA bands) needs a tabular model whose inputs are predictor "
            "columns; a patch model has none. Fit the AreaOfApplicability on plot-level features "
            "and map DI with a tabular recipe instead."
        )
    if is_patch_model(estimator):
        source = patch_reader(features, [str(b) for b in estimator.bands_], bands)
        grid = output_grid(source.grid, resolution)
        task = PatchTask(estimator, source, grid, normalize_mask(mask, grid), return_std, nodata)
        need = max(0, max(task.patch_size) - grid.factor + 1) // 2
    else:
        source = as_feature_source(features)
        grid = output_grid(source.grid, resolution)
        task = TabularTask(
            estimator,
            source,
            grid,
            normalize_mask(mask, grid),
            return_std,
            nodata,
            feature_names=feature_names,
            applicability=applicability,
        )
        need = int(getattr(source, "halo", 0) or 0)
        if need or not hasattr(source, "read_bands"):
            # warm scene-wide state (texture ranges, PC1, TWI) once, before threads or workers
            # would each compute it
            f = grid.factor
            source.on_window(Window(0, 0, f, f), out_resolution=grid.resolution if f > 1 else None)
    if overlap != "auto":
        if not isinstance(overlap, numbers.Integral) or overlap < 0:
            raise ValueError(
                f"overlap={overlap!r} must be 'auto' or a number of input pixels >= 0."
            )
        if overlap < need:
            raise ValueError(
                f"overlap={overlap} input pixels is less than the {need} pixels of context this "
                "model/feature recipe needs around each window (texture and terrain kernels, "
                "plot-sized patches); results would change at window edges. Use overlap='auto'."
            )
    task.halo = need
    return task


def _empty_inputs(task) -> tuple[list[str], bool]:
    """Input bands of ``task`` without a single valid pixel, and whether one empty band is enough
    to leave the whole map empty (plain bands, patch bands) or only all of them (a recipe).
    """
    source = getattr(task, "source", None) or getattr(task, "reader", None)
    if hasattr(source, "_bands"):  # RasterStack: the bands the model uses
        names = [source.feature_names[i] for i in getattr(task, "_used", range(len(source._bands)))]
        bands = [b for b in source._bands if b.name in names]
        items = [(f"{b.name!r} ({b.path} band {b.index})", b.path, b.index) for b in bands]
        any_empty = True
    elif hasattr(source, "_needed_sources") and hasattr(source, "_infos"):  # RasterFeatures
        needed = sorted(source._needed_sources())
        items = [(f"{source._infos[k].path} band {i}", source._infos[k].path, i) for k, i in needed]
        any_empty = not hasattr(task, "source")  # a patch model reads every band it names
    else:
        return [], False
    empty = [label for label, path, i in items if not has_valid_pixel(path, i)]
    return empty, any_empty or (bool(items) and len(empty) == len(items))


def warn_if_nothing_to_map(task) -> None:
    """Warn, before any window is computed, when the map is bound to be all nodata: a mask that
    selects no cell, or input bands without a single valid pixel.
    """
    why = []
    for kind, payload in task.mask_items:
        if kind == "array" and not payload.any():
            why.append("the mask array is all False (True = map the cell)")
        elif kind == "raster":
            path, values, _ = payload
            if not has_valid_pixel(path, 1, values, nonzero=values is None):
                rule = f"equal to {values.tolist()}" if values is not None else "non-zero"
                why.append(f"the mask raster {path} has no pixel {rule}")
    empty, fatal = _empty_inputs(task)
    if empty and fatal:
        why.append(f"input band(s) {', '.join(empty)} have no valid pixel (all NaN or nodata)")
    task.warned_empty = bool(why)
    if why:
        warnings.warn(
            f"predict_raster will write a map with every cell nodata: {'; '.join(why)}. Check the "
            "mask values and the input rasters (their nodata value and extent) before mapping.",
            UserWarning,
            stacklevel=3,
        )


def resolve_window_size(task, window_size=None, memory_mb: float = 512.0) -> int:
    """Window side in output cells: ``window_size`` or the largest that fits ``memory_mb``."""
    if window_size is None:
        return window_size_for_budget(task.bytes_per_cell, memory_mb)
    if not isinstance(window_size, numbers.Integral) or window_size < 1:
        raise ValueError(
            f"window_size={window_size!r} must be a positive number of output cells, or None."
        )
    return int(window_size)


def predict_raster(
    estimator,
    features: Any,
    out_path,
    *,
    resolution: float | None = None,
    mask=None,
    return_std: bool = True,
    window_size: int | None = None,
    overlap="auto",
    client=None,
    nodata: float = np.nan,
    memory_mb: float = 512.0,
    progress: bool | None = None,
    overviews: bool = True,
    bands: dict | None = None,
    feature_names: Sequence[str] | None = None,
    applicability=None,
) -> Path:
    """Predict AGB wall to wall, window by window, into a tiled GeoTIFF with an uncertainty band.

    Works with any fitted geoagb or scikit-learn estimator:

    * tabular learners (XGBoost, random forest, pipelines...): features are computed per window
      by ``features`` (a :class:`geoagb.features.RasterFeatures`, the recipe used at the plots;
      its halo makes textures and terrain exact at window edges) or read from rasters whose
      bands are the features; with ``resolution`` they are averaged over each output cell;
    * patch models (``.bands_``, ``.patch_size_``, ``predict(PatchSet)``): a plot-sized patch
      centred on each output cell slides over the sub-metre inputs, one value per cell;
    * residual kriging (``predict_residual``, ``learner_features``): the learner's prediction
      plus the kriged residual surface, per window, with the kriging standard deviation.

    Parameters
    ----------
    estimator : fitted estimator
    features : RasterFeatures, path, list of paths, or dict name -> path
        Tabular learners: a RasterFeatures, a multi-band GeoTIFF whose band descriptions are the
        feature names, or single-band GeoTIFFs (named by band description or file stem, or by
        the dict keys). Patch models: the raw sources (e.g. ``scene.sources``) or a
        RasterFeatures (its sources are used).
    out_path : str or Path
        GeoTIFF to write (``.tif`` or ``.tiff``). Written to a temporary file in the same
        folder and renamed when complete: an error or an interrupt leaves nothing (or the old
        file) at ``out_path``.
    resolution : float, optional
        Output cell size in metres, a whole multiple of the input pixel size (e.g. 30 from 1 m
        inputs). Default: the input resolution.
    mask : raster path, (path, values), boolean array, or list of these, optional
        Cells to map, e.g. ``("landcover.tif", [1, 2])`` (forest and shrub; rock, water and
        built-up left as nodata) or ``("cloud.tif", [0])``. See :mod:`geoagb.mapping._masks`.
    return_std : bool, default True
        Add an ``agb_std`` band (Mg/ha) when the estimator gives uncertainty (see Notes).
    window_size : int, optional
        Window side in output cells. Default: the largest window that keeps the windows in
        flight under ``memory_mb``. The result does not depend on it.
    overlap : "auto" or int, default "auto"
        Context pixels read around each window; "auto" is what the recipe or patch needs. An
        integer is checked to be at least that.
    client : dask.distributed.Client, optional
        Spread windows over the cluster's workers (which must see the input files at the same
        paths); results are written by this process. Same output as without a client.
    nodata : float, default NaN
        Value of cells not mapped (nodata in any feature, masked, outside the inputs).
    memory_mb : float, default 512
        Memory budget (MiB) for the windows in flight, used when ``window_size`` is None.
    progress : bool or None, default None
        Show a progress bar. ``None``: only when stderr is a terminal.
    overviews : bool, default True
        Build internal average overviews (2x, 4x, ...) so the map opens fast in viewers.
    bands : dict, optional
        Patch models: model band name -> source band, as ``bands=`` of
        :func:`geoagb.features.extract_patches` (e.g. ``{"height": "chm"}``).
    feature_names : sequence of str, optional
        Tabular models fitted on a bare array (no ``feature_names_in_``): the names of the
        fitted columns, in order, e.g. ``["ndvi", "height_mean"]``; each is then read from the
        band (or recipe feature) of that name, whatever the band order. Without it such a model
        is refused, since matching bands by position silently gives a wrong map when the order
        differs. Models fitted on a DataFrame need nothing (a given list must equal their
        ``feature_names_in_``).
    applicability : geoagb.applicability.AreaOfApplicability, optional
        A fitted area of applicability of the model (tabular models): adds a ``di`` band (the
        dissimilarity index, dimensionless) and an ``aoa`` band (1 inside the area of
        applicability, 0 outside), computed from the same per-cell predictors as the map.

    Returns
    -------
    Path
        ``out_path``. Bands: ``agb`` (Mg/ha), ``agb_std`` (Mg/ha) when available, and for
        residual kriging ``residual`` (the kriged residual added to the learner, Mg/ha).

    Notes
    -----
    The ``agb_std`` band is the kriging standard deviation for residual kriging, the model's
    own std when its ``predict`` takes ``return_std`` (deep models trained with an uncertainty
    loss, Gaussian processes), the spread of the per-tree predictions for a random forest, and
    absent (with a warning) otherwise.

    Reading and feature computation of the next windows run in a background thread while the
    current window is predicted, so throughput approaches that of the model's own ``predict``;
    peak memory is set by ``memory_mb`` (or ``window_size``), not by the raster size.

    References
    ----------
    FineKarstAGB: 30 m AGB map from 0.8 m imagery by a plot-sized sliding patch.

    Examples
    --------
    >>> import numpy as np, rasterio, tempfile, os
    >>> from rasterio.transform import from_origin
    >>> from sklearn.linear_model import LinearRegression
    >>> d = tempfile.mkdtemp()
    >>> src = os.path.join(d, "stack.tif")
    >>> prof = dict(driver="GTiff", width=60, height=60, count=2, dtype="float32",
    ...             crs="EPSG:32648", transform=from_origin(500000, 2750060, 1, 1))
    >>> with rasterio.open(src, "w", **prof) as ds:
    ...     ds.write(np.random.default_rng(0).random((2, 60, 60)).astype("float32"))
    ...     ds.descriptions = ("ndvi", "height_mean")
    >>> import pandas as pd
    >>> X = pd.DataFrame({"ndvi": [0.1, 0.5, 0.9], "height_mean": [0.2, 0.4, 0.3]})
    >>> model = LinearRegression().fit(X, [10.0, 50.0, 90.0])
    >>> out = predict_raster(model, src, os.path.join(d, "agb.tif"), resolution=30,
    ...                      return_std=False, progress=False)
    >>> with rasterio.open(out) as m:
    ...     m.shape, m.descriptions, m.res
    ((2, 2), ('agb',), (30.0, 30.0))
    """
    check_output_path(out_path)  # a folder / missing folder is refused before any work
    check_geotiff_path(out_path)  # agb.png would get GeoTIFF bytes
    task = make_task(
        estimator,
        features,
        resolution=resolution,
        mask=mask,
        return_std=return_std,
        nodata=nodata,
        overlap=overlap,
        bands=bands,
        feature_names=feature_names,
        applicability=applicability,
    )
    warn_if_nothing_to_map(task)
    if client is not None:
        check_client(client)
    size = resolve_window_size(task, window_size, memory_mb)
    windows = plan_windows(task.grid.width, task.grid.height, size)
    profile = geotiff_profile(task.grid, len(task.band_names), nodata, window_size=size)
    tags = dict(
        geoagb_product="aboveground biomass",
        geoagb_estimator=type(estimator).__name__,
        geoagb_resolution_m=task.grid.resolution,
        geoagb_input_resolution_m=task.grid.in_resolution,
    )
    return write_windows(
        task,
        windows,
        out_path,
        profile,
        tags,
        overviews=overviews,
        memory_mb=memory_mb,
        client=client,
        progress=progress,
        desc="predict_raster",
    )


def write_windows(
    task,
    windows,
    out_path,
    profile,
    tags,
    *,
    overviews=True,
    memory_mb=512.0,
    client=None,
    progress=None,
    desc="predict_raster",
) -> Path:
    """Run ``task`` over ``windows`` (in this process or on a dask ``client``) into one GeoTIFF.

    The file is written under a temporary name and renamed only when every window is in, so a
    failure leaves nothing half-written at ``out_path``. A warning says so when no cell at all
    was mapped.
    """
    mapped = [0]
    nodata = profile.get("nodata")
    with atomic_geotiff(
        out_path,
        profile,
        task.band_names,
        task.units,
        tags,
        overviews,
        cache_mb=max(16.0, memory_mb / 4),
    ) as dst:

        def write(win, arr):
            dst.write(arr, window=win)
            first = arr[0]
            ok = np.isfinite(first)
            if nodata is not None and not np.isnan(nodata):
                ok &= first != nodata
            mapped[0] += int(ok.sum())

        if client is None:
            run_windows(task, windows, write, progress=progress, desc=desc)
        else:
            run_windows_dask(task, windows, write, client, progress=progress, desc=f"{desc} (dask)")
    if mapped[0] == 0 and windows and not getattr(task, "warned_empty", False):
        warnings.warn(
            f"{desc} wrote {out_path} with no mapped cell: every cell is nodata (the valid parts "
            "of the features and the mask do not overlap, or the features are nodata where the "
            "mask allows mapping). Check the mask values and the feature rasters' extents.",
            UserWarning,
            stacklevel=3,
        )
    return Path(out_path)
