"""XarrayFeatures: a :class:`~geoagb.features.RasterFeatures` recipe over xarray DataArrays.

The same recipe (indices, GLCM textures, terrain, pass-through bands and footprint statistics)
computed by the same code as :class:`~geoagb.features.RasterFeatures`, with pixels read from
DataArrays (eager or dask-backed, e.g. from ``rioxarray.open_rasterio(path, chunks=...)`` or a
STAC stack) instead of GeoTIFF files: the same numbers at the plots and in every map window,
and, through :func:`~geoagb.mapping.predict_xarray`, in every dask block (blocks get the
recipe's halo from their neighbours, so textures and terrain are exact at block edges).

Scene-wide state (texture quantisation ranges from a 512 x 512 nearest-neighbour sample, the PC1
model, TWI on the whole DEM) is computed as in RasterFeatures; in a lazy map it is one task of
the graph that every block depends on.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from rasterio.windows import Window

from ..raster import SourceInfo, as_band_array, compute_block, is_xarray, read_block, xarray_grid
from ._raster import _SAMPLE_SIDE, RasterFeatures
from ._terrain import twi_from_dem

__all__ = ["XarrayFeatures", "nearest_sample_index"]


def nearest_sample_index(n: int, m: int) -> np.ndarray:
    """Rows (or columns) of an ``n``-pixel axis that a nearest-neighbour read at ``m`` pixels picks
    (GDAL's rule, as ``rasterio`` ``read(out_shape=...)``): pixel ``floor((i + 0.5) n / m)``.

    Examples
    --------
    >>> nearest_sample_index(10, 4).tolist()
    [1, 3, 6, 8]
    """
    return np.minimum(np.floor((np.arange(m) + 0.5) * (n / m)).astype(np.int64), n - 1)


def _source_info(key: str, arr, names, nodata):
    g = xarray_grid(arr, f"sources[{key!r}]")
    nd = nodata[0]
    if any(
        v != nd and not (v is not None and nd is not None and np.isnan(v) and np.isnan(nd))
        for v in nodata
    ):
        raise ValueError(
            f"the bands of sources[{key!r}] have different nodata values {nodata}; give "
            "a DataArray with one nodata value (data.rio.write_nodata(...)) or mask it."
        )
    return SourceInfo(
        key=key,
        path=f"<xarray {key}>",
        crs=g["crs"],
        transform=g["transform"],
        width=g["width"],
        height=g["height"],
        count=int(arr.shape[0]),
        nodata=nd,
        dtypes=(str(arr.dtype),) * int(arr.shape[0]),
        descriptions=tuple(names),
    )


class _Reader:
    """Duck-typed rasterio dataset for :func:`geoagb.raster.read_block`: ``read(index, window=...)``."""

    def __init__(self, data, origin=(0, 0)):
        self.data, self.origin = data, origin

    def read(self, index, window: Window):
        r0, c0 = int(window.row_off) - self.origin[0], int(window.col_off) - self.origin[1]
        h, w = int(window.height), int(window.width)
        if r0 < 0 or c0 < 0 or r0 + h > self.data.shape[1] or c0 + w > self.data.shape[2]:
            raise RuntimeError(
                f"window {window} lies outside the block at {self.origin} of shape "
                f"{self.data.shape[1:]}: the block's halo is too small for the recipe"
            )
        return compute_block(self.data[int(index) - 1, r0 : r0 + h, c0 : c0 + w])

    def close(self):
        pass


class _XrRecipe(RasterFeatures):
    """RasterFeatures whose pixels come from (band, y, x) arrays instead of files."""

    def __init__(self, arrays: Mapping[str, Any], infos, **recipe):
        self._arrays = dict(arrays)  # key -> numpy or dask array (band, y, x)
        self._xr_infos = infos
        self._blocks = None  # key -> (numpy block, (row0, col0)) once bound
        super().__init__({k: info.path for k, info in infos.items()}, **recipe)

    def _read_infos(self) -> dict:
        # the recipe planning of RasterFeatures._setup, on the arrays' metadata instead of files
        return dict(self._xr_infos)

    def _open(self):
        keys = sorted({s[0] for s in self._needed_sources()})
        if self._blocks is not None:
            return {k: _Reader(*self._blocks[k]) for k in keys}
        if self._arrays is None:
            raise RuntimeError("this recipe was detached from its data; bind() it to blocks first.")
        return {k: _Reader(self._arrays[k]) for k in keys}

    def _sample(self, src):
        key = ("sample", src)
        if key not in self._global:
            info = self._infos[src[0]]
            rows = nearest_sample_index(info.height, min(info.height, _SAMPLE_SIDE))
            cols = nearest_sample_index(info.width, min(info.width, _SAMPLE_SIDE))
            a = compute_block(self._arrays[src[0]][src[1] - 1][rows][:, cols])
            self._global[key] = sample_values(a, info.nodata)
        return self._global[key]

    def _twi(self):
        if "twi" not in self._global:
            key = self._dem[0]
            self._global["twi"] = _twi_of(
                compute_block(self._arrays[key][0]), self._infos[key], self
            )
        return self._global["twi"]


def sample_values(a, nodata) -> np.ndarray:
    """A nearest-neighbour sample as RasterFeatures keeps it: float64, nodata -> NaN."""
    a = np.asarray(a).astype(float)
    if nodata is not None:
        a[a == nodata] = np.nan
    return a


def _twi_of(dem, info, recipe) -> np.ndarray:
    dem = np.asarray(dem)[None]
    z = read_block(_Reader(dem), 1, (0, info.height), (0, info.width), info.nodata)
    return twi_from_dem(
        z, recipe.grid["resolution"], recipe.terrain_options.get("fill_depressions", True)
    )


def _scene_state(recipe, samples, dem):
    """The recipe's scene-wide state (``_global``) from numpy samples and DEM (a graph task)."""
    r = copy.copy(recipe)
    r._global = {}
    for src, a in samples.items():
        r._global[("sample", src)] = sample_values(a, r._infos[src[0]].nodata)
    if dem is not None:
        r._global["twi"] = _twi_of(dem, r._infos[r._dem[0]], r)
    for t in r._tex:
        r._texture_range(t)
    if any(t.band == "pc1" for t in r._tex):
        r._pc1_model()
    if {"hli", "solar_radiation"} & set(r._terrain_vars) and "latitude" not in r.terrain_options:
        r._latitude()
    return r._global


class XarrayFeatures:
    """A :class:`~geoagb.features.RasterFeatures` recipe computed from xarray DataArrays.

    Parameters
    ----------
    sources : dict name -> DataArray, or Dataset
        Co-registered rasters, each a DataArray (band, y, x) or (y, x) on one projected grid in
        metres, eager or dask-backed, e.g. ``{"image": rioxarray.open_rasterio("image.tif",
        chunks=512), "dem": ...}``; a Dataset's variables are single-band sources. Bands are
        found as in RasterFeatures: by name (the ``band`` coordinate or ``long_name``, see
        :mod:`geoagb.raster`), a single-band source by its key, any band as
        ``"<source>:<number>"``.
    indices, textures, terrain, extra, bands, sensor, terrain_options
        The recipe, exactly as in :class:`~geoagb.features.RasterFeatures`.

    Attributes
    ----------
    feature_names : list of str
    statistics : list of str
    grid : dict
        crs, transform, width, height, resolution of the reference (first) source.
    halo : int
        Pixels of context textures and terrain need around a window or dask block.

    See Also
    --------
    geoagb.features.RasterFeatures : the same recipe over GeoTIFF files.
    geoagb.mapping.predict_xarray : a lazy map (dask) from this recipe.

    Notes
    -----
    The features equal those of a RasterFeatures on GeoTIFFs holding the same values, cell for
    cell (same code, same edge rules, same scene-wide texture ranges). ``at_points`` and
    ``on_window`` read only the pixels they need; on a dask-backed source that is a small
    synchronous compute.

    Examples
    --------
    A 100 x 100 m image (1 m pixels, dask-backed) and a DEM rising 1 m per pixel east and south:

    >>> import numpy as np, xarray as xr, rioxarray
    >>> y, x = 2750099.5 - np.arange(100.0), 500000.5 + np.arange(100.0)
    >>> image = xr.DataArray(np.random.default_rng(0).random((4, 100, 100), dtype="float32"),
    ...                      dims=("band", "y", "x"), coords={"band": ["blue", "green", "red", "nir"],
    ...                      "y": y, "x": x}).rio.write_crs("EPSG:32648").chunk(50)
    >>> dem = xr.DataArray(900 + np.add.outer(np.arange(100.0), np.arange(100.0)), dims=("y", "x"),
    ...                    coords={"y": y, "x": x}).rio.write_crs("EPSG:32648")
    >>> xf = XarrayFeatures({"image": image, "dem": dem}, indices=["ndvi"], terrain=["slope"])
    >>> xf.feature_names, xf.halo
    (['ndvi', 'slope'], 1)
    >>> xf.on_window(Window(0, 0, 100, 100), out_resolution=25.0).shape   # 25 m cells
    (2, 4, 4)
    >>> round(float(xf.on_window(Window(10, 10, 1, 1))[1, 0, 0]), 3)    # atan(sqrt(2)), degrees
    54.736

    A recipe written for GeoTIFFs is rebound with ``XarrayFeatures.from_recipe(recipe,
    {"image": image, "dem": dem})``.
    """

    def __init__(
        self,
        sources,
        indices: Sequence[str] | None = ("ndvi",),
        textures=None,
        terrain: Sequence[str] | None = None,
        extra: Mapping[str, tuple] | None = None,
        *,
        bands: Sequence[str] | None = None,
        sensor: str | None = None,
        terrain_options: Mapping[str, Any] | None = None,
    ):
        if is_xarray(sources) and type(sources).__name__ == "DataArray":
            raise TypeError(
                "sources must be a dict name -> DataArray (e.g. {'image': da}) or a Dataset "
                "of single-band sources, as RasterFeatures takes a dict name -> path."
            )
        if not isinstance(sources, Mapping) and not is_xarray(sources):
            raise TypeError(
                f"sources must be a dict name -> DataArray or a Dataset; got {type(sources).__name__}."
            )
        keys = list(sources.data_vars) if is_xarray(sources) else list(sources)
        if not keys:
            raise ValueError("sources is empty; give at least one DataArray, e.g. {'image': da}.")
        self.sources = {str(k): sources[k] for k in keys}
        arrays, infos = {}, {}
        for key, data in self.sources.items():
            if not is_xarray(data):
                raise TypeError(
                    f"sources[{key!r}] is a {type(data).__name__}; XarrayFeatures takes "
                    "DataArrays (use geoagb.features.RasterFeatures for GeoTIFF paths)."
                )
            arr, names, nodata = as_band_array(data, f"sources[{key!r}]")
            arrays[key] = arr.data
            infos[key] = _source_info(key, arr, names, nodata)
        self._engine = _XrRecipe(
            arrays,
            infos,
            indices=indices,
            textures=textures,
            terrain=terrain,
            extra=extra,
            bands=bands,
            sensor=sensor,
            terrain_options=terrain_options,
        )
        self.indices, self.textures, self.terrain = (
            self._engine.indices,
            textures,
            self._engine.terrain,
        )
        self.extra, self.bands, self.sensor = self._engine.extra, self._engine.bands, sensor
        self.terrain_options = self._engine.terrain_options

    @classmethod
    def from_recipe(cls, recipe: RasterFeatures, sources) -> XarrayFeatures:
        """The recipe of ``recipe`` (a RasterFeatures on files) over xarray ``sources``.

        ``sources`` maps the recipe's source names to DataArrays (a single DataArray is allowed
        when the recipe has one source).
        """
        if is_xarray(sources) and type(sources).__name__ == "DataArray":
            if len(recipe.sources) != 1:
                raise ValueError(
                    f"the recipe reads {len(recipe.sources)} sources {list(recipe.sources)}; "
                    "give a dict name -> DataArray with one entry per source."
                )
            sources = {next(iter(recipe.sources)): sources}
        keys = list(sources.data_vars) if is_xarray(sources) else list(sources)
        missing = [k for k in recipe.sources if k not in keys]
        if missing:
            raise ValueError(
                f"the recipe reads source(s) {missing} that the xarray sources lack "
                f"(given: {keys}); give a dict with the recipe's source names "
                f"{list(recipe.sources)} as keys."
            )
        return cls(
            {k: sources[k] for k in recipe.sources},
            indices=recipe.indices,
            textures=recipe.textures,
            terrain=recipe.terrain,
            extra=recipe.extra,
            bands=recipe.bands,
            sensor=recipe.sensor,
            terrain_options=recipe.terrain_options,
        )

    # the RasterFeatures interface ----------------------------------------------------------------
    @property
    def feature_names(self) -> list[str]:
        return self._engine.feature_names

    @property
    def statistics(self) -> list[str]:
        return self._engine.statistics

    @property
    def grid(self) -> dict:
        return self._engine.grid

    @property
    def halo(self) -> int:
        return self._engine.halo

    def __repr__(self) -> str:
        return (
            f"XarrayFeatures({len(self.feature_names)} features from {list(self.sources)}, "
            f"halo={self.halo})"
        )

    def at_points(
        self, plots, footprint: float | None = None, coords=None, progress: bool | None = None
    ):
        """Features at plots, as :meth:`geoagb.features.RasterFeatures.at_points`."""
        return self._engine.at_points(plots, footprint=footprint, coords=coords, progress=progress)

    def on_window(self, window: Window, out_resolution: float | None = None) -> np.ndarray:
        """Features of a window, as :meth:`geoagb.features.RasterFeatures.on_window`."""
        return self._engine.on_window(window, out_resolution=out_resolution)

    # the dask path ------------------------------------------------------------------------------
    def _keys(self) -> list[str]:
        return sorted({s[0] for s in self._engine._needed_sources()})

    def input_arrays(self) -> list:
        """The (band, y, x) arrays the features need (numpy or dask), in ``bind`` order."""
        return [self._engine._arrays[k] for k in self._keys()]

    def scene_state(self):
        """The scene-wide state as a ``dask.delayed`` task (None when the recipe needs none)."""
        import dask

        e = self._engine
        srcs = set()
        for t in e._tex:
            if t.band == "pc1":
                srcs |= {s for _, s in e._pc1_bands()}
            elif t.range is None:
                srcs.add(t.src)
        twi = "twi" in e._terrain_vars
        if not srcs and not twi:
            return None
        samples = {}
        for src in sorted(srcs):
            info = e._infos[src[0]]
            rows = nearest_sample_index(info.height, min(info.height, _SAMPLE_SIDE))
            cols = nearest_sample_index(info.width, min(info.width, _SAMPLE_SIDE))
            samples[src] = _as_dask(e._arrays[src[0]])[src[1] - 1][rows][:, cols]
        dem = _as_dask(e._arrays[e._dem[0]])[0] if twi else None
        return dask.delayed(_scene_state, pure=False)(self.detached()._engine, samples, dem)

    def detached(self) -> XarrayFeatures:
        """A copy without the data (what goes into a dask graph; ``bind`` gives it its blocks)."""
        out = copy.copy(self)
        out.sources = None
        out._engine = copy.copy(self._engine)
        out._engine._arrays = None
        out._engine._global = dict(self._engine._global)
        return out

    def bind(self, blocks, origin, state=None) -> XarrayFeatures:
        """A copy reading the numpy ``blocks`` (one per :meth:`input_arrays`) from raster ``origin``,
        with the scene-wide ``state`` computed by :meth:`scene_state`.
        """
        out = copy.copy(self)
        out._engine = copy.copy(self._engine)
        origin = (int(origin[0]), int(origin[1]))
        out._engine._blocks = {k: (b, origin) for k, b in zip(self._keys(), blocks)}
        out._engine._global = {**self._engine._global, **(state or {})}
        return out


def _as_dask(a):
    import dask.array as da

    return a if hasattr(a, "dask") else da.from_array(a, chunks=a.shape)
