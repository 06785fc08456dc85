"""``predict_xarray``: a lazy AGB map (xarray + dask) from any fitted tabular estimator.

The dask counterpart of :func:`~geoagb.mapping.predict_raster`. Inputs are xarray objects (a
feature stack, or the sources of a feature recipe), eager or dask-backed; the result is an
``xarray.Dataset`` whose variables (``agb``, ``agb_std``, ``di``, ``aoa`` ...) are dask arrays,
one output block per input chunk: nothing is read or predicted until the map is computed
(``.compute()``, ``.rio.to_raster()``, ``dask.compute``), on whatever scheduler or cluster is
active. Each block runs the very window task of ``predict_raster`` (same features, masks,
design matrix and uncertainty), so the two give the same numbers cell for cell.

Block layout. Input chunks are aligned to whole output cells (a multiple of the resolution
factor, at least the halo): chunks that already are stay as they are (output chunks then match
input chunks one to one), others are rechunked. A recipe whose textures or terrain need context
gets it from the neighbouring chunks (``dask.array.overlap`` with the recipe's halo; nothing is
invented at the raster edge, where the recipe's own edge rules apply), so block edges are
seamless.
"""

from __future__ import annotations

import copy
import numbers
import uuid
from collections.abc import Sequence

import numpy as np
from rasterio.windows import Window
from sklearn.utils.validation import check_is_fitted

from ..features import RasterFeatures, XarrayFeatures
from ..raster import TILE, XarrayStack, is_xarray, output_grid, require_xarray
from ._masks import normalize_mask
from ._patch import is_patch_model
from ._tabular import TabularTask

__all__ = ["predict_xarray", "aligned_chunks", "as_xarray_source"]


def aligned_chunks(
    chunks: Sequence[int], size: int, factor: int = 1, minimum: int = 1
) -> tuple[int, ...]:
    """Chunk sizes along one axis whose boundaries fall on whole output cells.

    Every boundary is a multiple of ``factor`` (so each output cell lies in one chunk) and every
    chunk is at least ``minimum`` pixels (the halo a neighbour borrows) and ``factor`` pixels;
    the pixels past the last whole output cell stay in the last chunk (recipes read them as
    context). Chunks that already satisfy this are returned unchanged.

    Examples
    --------
    >>> aligned_chunks((40, 40, 20), 100, factor=30)     # boundaries 40, 80 -> 30, 90
    (30, 70)
    >>> aligned_chunks((16, 16, 16, 2), 50, minimum=3)    # a 2-pixel chunk cannot lend a halo of 3
    (16, 16, 18)
    """
    size, f = int(size), max(1, int(factor))
    need = max(f, int(minimum), 1)
    bounds = np.cumsum([int(c) for c in chunks])[:-1]
    out, last = [], 0
    for b in bounds:
        b = int(round(b / f)) * f
        if b - last >= need and size - b >= need:
            out.append(b)
            last = b
    edges = [0] + out + [size]
    return tuple(int(b - a) for a, b in zip(edges[:-1], edges[1:]))


def as_xarray_source(data, features=None):
    """The feature source of :func:`predict_xarray`: an :class:`XarrayStack` (bands = features)
    or an :class:`XarrayFeatures` (a recipe).
    """
    if isinstance(data, (XarrayFeatures, XarrayStack)):
        if features is not None:
            raise ValueError(
                "data is already a feature source; drop features= (or pass the raw DataArrays as data)."
            )
        return data
    if features is None:
        if isinstance(data, dict):
            raise TypeError(
                "data is a dict of sources but features= is None: give the recipe that turns the "
                "sources into features (features=RasterFeatures(...) or a dict of recipe options "
                "such as {'indices': ['ndvi'], 'terrain': ['slope']}), or a single DataArray / "
                "Dataset whose bands are the features."
            )
        if not is_xarray(data):
            raise TypeError(
                f"data must be an xarray DataArray or Dataset (or a dict of them with a "
                f"recipe in features=); got {type(data).__name__}. For GeoTIFF paths use "
                "predict_raster."
            )
        return XarrayStack(data)
    if isinstance(features, XarrayFeatures):
        raise ValueError(
            "features is an XarrayFeatures, which already holds its data: pass it as data "
            "(predict_xarray(model, xf)) or pass a RasterFeatures / recipe options."
        )
    if isinstance(features, RasterFeatures):
        return XarrayFeatures.from_recipe(features, data)
    if isinstance(features, dict):
        sources = (
            data
            if (isinstance(data, dict) or type(data).__name__ == "Dataset")
            else {"image": data}
        )
        return XarrayFeatures(sources, **features)
    raise TypeError(
        f"features must be None (bands are the features), a RasterFeatures, or a dict of "
        f"recipe options; got {type(features).__name__}."
    )


def _check_chunks(chunks):
    if chunks is None:
        return None
    if isinstance(chunks, numbers.Integral) and chunks >= 1:
        return int(chunks), int(chunks)
    if (
        isinstance(chunks, (tuple, list))
        and len(chunks) == 2
        and all(isinstance(c, numbers.Integral) and c >= 1 for c in chunks)
    ):
        return int(chunks[0]), int(chunks[1])
    raise ValueError(
        f"chunks={chunks!r} must be a number of input pixels (e.g. 512) or a pair (rows, cols)."
    )


def _input_chunks(arrays, grid, chunks) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Row and column chunks of the first dask input (else ``chunks``, default one tile)."""
    H, W = grid["height"], grid["width"]
    if chunks is not None:
        ry, rx = chunks
        return tuple([ry] * (H // ry) + ([H % ry] if H % ry else [])), tuple(
            [rx] * (W // rx) + ([W % rx] if W % rx else [])
        )
    for a in arrays:
        if hasattr(a, "chunks") and hasattr(a, "dask"):
            return tuple(a.chunks[1]), tuple(a.chunks[2])
    return _input_chunks(arrays, grid, (2 * TILE, 2 * TILE))


def _predict_block(*blocks, task, state, layout, block_id=None):
    """Output block ``block_id`` of the map: the window task of predict_raster on numpy blocks."""
    f, halo, ys, xs, ys_out, xs_out = layout
    iy, ix = block_id[1], block_id[2]
    row0, col0 = ys[iy], xs[ix]
    t = copy.copy(task)
    t.source = task.source.bind(blocks, (max(0, row0 - halo), max(0, col0 - halo)), state)
    win = Window(col0 // f, row0 // f, xs_out[ix + 1] - xs_out[ix], ys_out[iy + 1] - ys_out[iy])
    return t.compute(t.read(win))


def predict_xarray(
    estimator,
    data,
    features=None,
    *,
    return_std: bool = True,
    applicability=None,
    resolution: float | None = None,
    mask=None,
    nodata: float = np.nan,
    chunks=None,
    feature_names: Sequence[str] | None = None,
):
    """Predict AGB wall to wall as a lazy ``xarray.Dataset`` (dask), block by block.

    Parameters
    ----------
    estimator : fitted tabular estimator
        As in :func:`predict_raster` (scikit-learn / XGBoost models, pipelines, residual
        kriging); patch models are not supported here (use ``predict_raster``).
    data : DataArray, Dataset, dict name -> DataArray, or XarrayFeatures
        With ``features=None``: the features themselves, a DataArray (band, y, x) whose band
        names are the feature names (``band`` coordinate or ``long_name``, as
        ``rioxarray.open_rasterio`` reads GeoTIFF band descriptions) or a Dataset with one
        variable per feature. With a recipe: the sources it reads. Eager or dask-backed; a
        projected CRS in metres (``.rio.crs``) and ``.rio.transform()`` are required.
    features : None, RasterFeatures, or dict, optional
        The feature recipe used at the plots: a :class:`~geoagb.features.RasterFeatures` (its
        recipe is applied to ``data``, a dict with the recipe's source names; a DataArray for a
        one-source recipe), or a dict of its options (``{"indices": ["ndvi"], "textures":
        ..., "terrain": [...], "extra": {...}}``) applied to ``data`` (a DataArray alone is then
        the source ``"image"``). None: bands are features.
    return_std : bool, default True
        Add an ``agb_std`` variable (Mg/ha) when the estimator gives uncertainty (see
        :func:`predict_raster`).
    applicability : AreaOfApplicability, optional
        Adds ``di`` (dissimilarity index) and ``aoa`` (1 inside, 0 outside) variables.
    resolution : float, optional
        Output cell size, metres, a whole multiple of the input pixel size. Default: the input
        resolution.
    mask : as in :func:`predict_raster`, optional
        Raster path, ``(path, values)``, boolean array on the output grid, or a list of these.
        Raster masks are read by each block (workers must see the file).
    nodata : float, default NaN
        Value of cells not mapped.
    chunks : int or (int, int), optional
        Block size in input pixels. Default: the chunks of the (first) dask-backed input, or
        512 x 512 for eager inputs. Either way aligned to whole output cells and to at least
        the recipe's halo (see :func:`aligned_chunks`).
    feature_names : sequence of str, optional
        The fitted columns of a model fitted on a bare array, in order (as in
        :func:`predict_raster`).

    Returns
    -------
    xarray.Dataset
        Lazy (dask) variables ``agb`` (Mg/ha), ``agb_std`` (Mg/ha) when available, ``residual``
        for residual kriging, ``di`` and ``aoa`` with ``applicability``; dims (y, x) of cell
        centres on the output grid; CRS and transform written (``ds.rio.crs``), nodata set, so
        ``ds.rio.to_raster("agb.tif")`` writes the GeoTIFF and ``ds.compute()`` loads it.
        ``ds.to_array("band")`` gives one DataArray (band, y, x).

    See Also
    --------
    predict_raster : the same map into a GeoTIFF, window by window.
    XarrayFeatures : a RasterFeatures recipe over DataArrays.

    Notes
    -----
    Building the result reads nothing and runs no model; every block (read, features,
    prediction) is a task of the graph. Scene-wide recipe state (texture ranges from a sample,
    PC1, TWI on the whole DEM) is one task every block depends on. The estimator and recipe
    enter the graph once (not once per block).

    Examples
    --------
    >>> import numpy as np, pandas as pd, xarray as xr, rioxarray
    >>> from sklearn.linear_model import LinearRegression
    >>> rng = np.random.default_rng(0)
    >>> da = xr.DataArray(rng.random((2, 60, 60), dtype="float32"), dims=("band", "y", "x"),
    ...                   coords={"band": ["ndvi", "height_mean"], "y": 2750059.5 - np.arange(60),
    ...                           "x": 500000.5 + np.arange(60)}).rio.write_crs("EPSG:32648")
    >>> X = pd.DataFrame({"ndvi": [0.1, 0.5, 0.9], "height_mean": [0.2, 0.4, 0.3]})
    >>> model = LinearRegression().fit(X, [10.0, 50.0, 90.0])
    >>> agb = predict_xarray(model, da.chunk(30), resolution=30, return_std=False)
    >>> agb.agb.shape, agb.agb.chunks, str(agb.rio.crs)
    ((2, 2), ((1, 1), (1, 1)), 'EPSG:32648')
    >>> bool(np.isfinite(agb.agb.values).all())
    True
    """
    xr = require_xarray()
    dask, da = _require_dask()
    _check_estimator(estimator)
    chunks = _check_chunks(chunks)
    source = as_xarray_source(data, features)
    grid = output_grid(source.grid, resolution)
    # built here, not in a step: its warning's stacklevel points at the caller of predict_xarray
    task = TabularTask(
        estimator,
        source.detached(),
        grid,
        normalize_mask(mask, grid),
        return_std,
        nodata,
        feature_names=feature_names,
        applicability=applicability,
    )
    stack = _lazy_map(dask, da, task, source, grid, chunks)
    return _as_dataset(xr, stack, task, grid, type(estimator).__name__, nodata)


# ---- the steps of predict_xarray -----------------------------------------------------------------
def _require_dask():
    """``dask`` and ``dask.array`` (the ``dask`` extra), imported at first use."""
    import dask
    import dask.array as da

    return dask, da


def _check_estimator(estimator) -> None:
    """A fitted tabular estimator instance (patch models map with predict_raster)."""
    if isinstance(estimator, type):
        raise TypeError(f"estimator must be a fitted instance, not the class {estimator.__name__}.")
    check_is_fitted(estimator)
    if is_patch_model(estimator):
        raise ValueError(
            f"{type(estimator).__name__} is a patch model; predict_xarray maps tabular models. Map "
            "it with predict_raster(model, sources, 'agb.tif', client=...) on the GeoTIFFs."
        )


def _block_inputs(da, arrays, ych, xch, halo: int) -> list:
    """The input arrays as dask arrays on the aligned chunks, with ``halo`` borrowed pixels."""
    inputs = []
    for a in arrays:
        a = (
            a.rechunk((-1, ych, xch))
            if hasattr(a, "dask")
            else da.from_array(a, chunks=(-1, ych, xch))
        )
        if halo:
            a = da.overlap.overlap(a, depth={0: 0, 1: halo, 2: halo}, boundary="none")
        inputs.append(a)
    return inputs


def _block_layout(ych, xch, f: int, halo: int, grid) -> tuple:
    """``(f, halo, ys, xs, ys_out, xs_out)`` of :func:`_predict_block`: the first input row and
    column of each block, and the output row and column edges of the blocks.
    """
    ys = np.concatenate([[0], np.cumsum(ych)]).astype(int)
    xs = np.concatenate([[0], np.cumsum(xch)]).astype(int)
    ys_out = np.minimum(ys // f, grid.height)
    ys_out[-1] = grid.height
    xs_out = np.minimum(xs // f, grid.width)
    xs_out[-1] = grid.width
    return (
        f,
        halo,
        tuple(ys[:-1].tolist()),
        tuple(xs[:-1].tolist()),
        tuple(ys_out.tolist()),
        tuple(xs_out.tolist()),
    )


def _lazy_map(dask, da, task: TabularTask, source, grid, chunks):
    """The map as one lazy dask array (band, y, x): one block per aligned input chunk."""
    f, halo = grid.factor, int(source.halo)
    arrays = source.input_arrays()
    ry, rx = _input_chunks(arrays, source.grid, chunks)
    H, W = source.grid["height"], source.grid["width"]
    ych = aligned_chunks(ry, H, f, halo)
    xch = aligned_chunks(rx, W, f, halo)
    inputs = _block_inputs(da, arrays, ych, xch, halo)
    layout = _block_layout(ych, xch, f, halo, grid)
    ys_out, xs_out = layout[4], layout[5]
    nb = len(task.band_names)
    out_chunks = ((nb,), tuple(np.diff(ys_out).tolist()), tuple(np.diff(xs_out).tolist()))
    state = source.scene_state() if hasattr(source, "scene_state") else None
    token = uuid.uuid4().hex  # a fresh name: the graph embeds this very task
    task_d = dask.delayed(task, pure=False)  # one key for the model and recipe
    return da.map_blocks(
        _predict_block,
        *inputs,
        task=task_d,
        state=state,
        layout=layout,
        chunks=out_chunks,
        dtype=np.float32,
        name=f"predict_xarray-{token}",
        meta=np.empty((0, 0, 0), np.float32),
    )


def _as_dataset(xr, stack, task: TabularTask, grid, estimator_name: str, nodata: float):
    """The ``xarray.Dataset`` of the map: one variable per band, cell-centre coordinates, the
    CRS, transform and nodata written.
    """
    t = grid.transform
    xc = t.c + t.a * (np.arange(grid.width) + 0.5)
    yc = t.f + t.e * (np.arange(grid.height) + 0.5)
    out = xr.Dataset(
        {
            name: (("y", "x"), stack[i], {"long_name": name, "units": unit})
            for i, (name, unit) in enumerate(zip(task.band_names, task.units))
        },
        coords={"y": yc, "x": xc},
        attrs=dict(
            geoagb_product="aboveground biomass",
            geoagb_estimator=estimator_name,
            geoagb_resolution_m=grid.resolution,
            geoagb_input_resolution_m=grid.in_resolution,
        ),
    )
    out = out.rio.write_crs(grid.crs).rio.write_transform(grid.transform)
    for name in task.band_names:
        out[name] = out[name].rio.write_nodata(nodata, encoded=False)
    return out
