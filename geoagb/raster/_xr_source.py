"""xarray inputs for mapping: a DataArray or Dataset as a feature stack, a map, or a source.

Rules (the same for every xarray input of :mod:`geoagb.mapping`):

* a ``DataArray`` has dims ``(band, y, x)`` (any name for the band dim; ``(y, x)`` is one band)
  with the spatial dims that rioxarray knows (``.rio.x_dim``, ``.rio.y_dim``); a ``Dataset``
  holds one variable per band, each ``(y, x)`` (or with a band dim of size 1);
* band names: a ``Dataset``'s variable names (a ``band_<i>`` variable from
  ``rioxarray.open_rasterio(..., band_as_variable=True)`` by its ``long_name``), a
  ``DataArray``'s string ``band`` coordinate, else its ``long_name`` attribute (what
  ``rioxarray.open_rasterio`` reads from the GeoTIFF band descriptions), else, for one band,
  the array's ``name``;
* the grid comes from rioxarray: ``.rio.crs`` and ``.rio.transform()``; the CRS must be
  projected in metres (resolutions, textures, slopes and cell areas are metres);
* nodata: ``.rio.nodata`` (``_FillValue``) becomes NaN, as for a GeoTIFF; arrays opened with
  ``masked=True`` already hold NaN.

Eager (numpy) and lazy (dask) arrays are both accepted. A window read from a dask array is
computed with the synchronous scheduler, so a source can be read inside a task of any cluster.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence

import numpy as np
import rasterio
from rasterio.windows import Window
from rasterio.windows import transform as transform_of_window

from .._optional import optional_import
from ._read import nodata_to_nan
from ._windows import block_mean

__all__ = [
    "XARRAY_HINT",
    "is_xarray",
    "require_xarray",
    "as_band_array",
    "xarray_grid",
    "XarrayStack",
    "XarrayMap",
    "open_map",
    "compute_block",
]

XARRAY_HINT = 'pip install "geoagb[xarray]" (xarray, rioxarray and dask)'


def is_xarray(obj) -> bool:
    """True for an ``xarray.DataArray`` or ``xarray.Dataset`` (without importing xarray)."""
    cls = type(obj)
    return cls.__module__.split(".")[0] == "xarray" and cls.__name__ in ("DataArray", "Dataset")


def require_xarray():
    """Import xarray and rioxarray (which registers the ``.rio`` accessor), or say how to get them."""
    purpose = f"xarray inputs and outputs ({XARRAY_HINT})"
    optional_import("rioxarray", purpose)
    return optional_import("xarray", purpose)


def compute_block(a) -> np.ndarray:
    """``a`` as a numpy array; a dask array is computed here with the synchronous scheduler."""
    if hasattr(a, "dask") and hasattr(a, "compute"):
        return np.asarray(a.compute(scheduler="sync"))
    return np.asarray(a)


def _spatial_dims(arr, what: str) -> tuple[str, str]:
    try:
        return arr.rio.y_dim, arr.rio.x_dim
    except Exception as err:  # rioxarray.exceptions.MissingSpatialDimensionError
        raise ValueError(
            f"{what} has dims {tuple(arr.dims)}, none of which rioxarray recognises as y/x; name "
            "them 'y' and 'x' (or 'latitude'/'longitude'), or tell rioxarray: "
            f"{what}.rio.set_spatial_dims(x_dim='lon', y_dim='lat')."
        ) from err


def _names_of(arr, band_dim: str | None, count: int) -> list[str | None]:
    """Band names of a (band, y, x) DataArray (None where unnamed)."""
    if band_dim is not None and band_dim in arr.coords:
        vals = [v.item() if hasattr(v, "item") else v for v in arr.coords[band_dim].values]
        if all(isinstance(v, str) and v for v in vals):
            return list(vals)
    ln = arr.attrs.get("long_name")
    if isinstance(ln, (tuple, list)) and len(ln) == count:
        return [str(v) if v else None for v in ln]
    if isinstance(ln, str) and ln and count == 1:
        return [ln]
    if count == 1 and isinstance(arr.name, str) and arr.name:
        return [arr.name]
    return [None] * count


def _nodata_of(arr):
    try:
        nd = arr.rio.nodata
    except Exception:  # pragma: no cover - exotic encodings
        nd = None
    return None if nd is None else float(nd)


def as_band_array(data, what: str = "data"):
    """``(array, names, nodatavals)``: ``data`` as a ``(band, y, x)`` DataArray with its band names
    (None where unnamed) and the nodata value of each band (None where unset).
    """
    xr = require_xarray()
    if isinstance(data, xr.Dataset):
        if not data.data_vars:
            raise ValueError(
                f"{what} is a Dataset without data variables; give one variable per band."
            )
        layers, names, nodata = [], [], []
        for key, var in data.data_vars.items():
            y, x = _spatial_dims(var, f"{what}[{key!r}]")
            extra = [d for d in var.dims if d not in (y, x)]
            if any(var.sizes[d] != 1 for d in extra):
                raise ValueError(
                    f"variable {key!r} of {what} has dims {tuple(var.dims)}: a Dataset holds one band "
                    "per variable, each (y, x); give a multi-band raster as a DataArray "
                    f"(band, y, x) instead, e.g. {what}.to_array('band')."
                )
            name = str(key)
            ln = var.attrs.get("long_name")
            if re.fullmatch(r"band_\d+", name) and isinstance(ln, str) and ln:
                name = ln
            layers.append(
                var.squeeze([d for d in extra], drop=True)
                .transpose(y, x)
                .drop_vars(
                    [c for c in var.coords if c not in (y, x, "spatial_ref")], errors="ignore"
                )
            )
            names.append(name)
            nodata.append(_nodata_of(var))
        arr = xr.concat(layers, dim="band", coords="minimal", compat="override", join="exact")
        arr = arr.assign_coords(band=names)
        try:
            arr = arr.rio.write_crs(data.rio.crs) if data.rio.crs is not None else arr
        except Exception:  # pragma: no cover
            pass
        return arr, names, nodata
    if not isinstance(data, xr.DataArray):
        raise TypeError(
            f"{what} must be an xarray DataArray or Dataset; got {type(data).__name__}."
        )
    y, x = _spatial_dims(data, what)
    extra = [d for d in data.dims if d not in (y, x)]
    if len(extra) > 1:
        raise ValueError(
            f"{what} has dims {tuple(data.dims)}; a raster is (band, y, x). Select or stack the "
            f"extra dims first, e.g. {what}.isel(time=0) or {what}.stack(band=('time', 'band'))."
        )
    if not extra:
        arr = data.expand_dims("band")
        band_dim = None
    else:
        band_dim = extra[0]
        arr = data.transpose(band_dim, y, x)
    count = arr.shape[0]
    names = _names_of(data, band_dim, count)
    return arr, names, [_nodata_of(data)] * count


def xarray_grid(arr, what: str = "data") -> dict:
    """Grid dict (crs, transform, width, height, resolution) of a (band, y, x) DataArray.

    Raises a ValueError (value, rule, fix) without a CRS, with a geographic CRS or one not in
    metres, and for rasters whose rows run south to north.
    """
    crs = arr.rio.crs
    if crs is None:
        raise ValueError(
            f"{what} has no CRS (.rio.crs is None): geoagb maps on a projected grid in metres and "
            "needs the CRS to place cells, plots and masks. Set the CRS the values are in, e.g. "
            f"{what} = {what}.rio.write_crs('EPSG:32648'), or open the GeoTIFF with "
            "rioxarray.open_rasterio(path), which reads it."
        )
    if crs.is_geographic:
        raise ValueError(
            f"{what} has the geographic CRS {crs.to_string()} (pixel size in degrees), but geoagb's "
            "resolutions, textures, slopes and cell areas are metres. Reproject it to a metric CRS "
            f"first, e.g. {what}.rio.reproject({what}.rio.estimate_utm_crs()) or "
            f"{what}.rio.reproject('EPSG:32648')."
        )
    units = (crs.linear_units or "").lower()
    if units not in ("metre", "meter", "m", "metres", "meters", ""):
        raise ValueError(
            f"{what} has the CRS {crs.to_string()} in {crs.linear_units}; geoagb's distances are "
            f"metres. Reproject it: {what}.rio.reproject({what}.rio.estimate_utm_crs())."
        )
    tr = arr.rio.transform(recalc=arr.sizes[arr.rio.x_dim] > 1 and arr.sizes[arr.rio.y_dim] > 1)
    if tr.e > 0:
        raise ValueError(
            f"{what} has rows running south to north (transform e = {tr.e:g} > 0); geoagb needs "
            f"north-up rasters (first row at the top). Flip it: {what}.isel({arr.rio.y_dim}="
            "slice(None, None, -1))."
        )
    return dict(
        crs=crs,
        transform=tr,
        width=int(arr.sizes[arr.rio.x_dim]),
        height=int(arr.sizes[arr.rio.y_dim]),
        resolution=(abs(tr.a), abs(tr.e)),
    )


class XarrayStack:
    """Features read from the bands of a DataArray or Dataset (no feature computation).

    The xarray counterpart of :class:`RasterStack`, with the same
    interface (``feature_names``, ``grid``, ``halo``, ``read_bands``, ``on_window``): what
    :func:`~geoagb.mapping.predict_raster` and :func:`~geoagb.mapping.explain_raster` build from
    an xarray ``features`` argument, and what :func:`~geoagb.mapping.predict_xarray` maps block by
    block.

    Parameters
    ----------
    data : DataArray (band, y, x) or Dataset (one variable per band)
        See the module docstring for band names, CRS and nodata.

    Attributes
    ----------
    feature_names : list of str
    grid : dict
        crs, transform, width, height, resolution.
    halo : int
        Always 0.
    """

    halo = 0

    def __init__(self, data):
        self.data = data
        arr, names, nodata = as_band_array(data, "features")
        missing = [i + 1 for i, n in enumerate(names) if n is None]
        if missing:
            raise ValueError(
                f"band(s) {missing} of the xarray features have no name, so the feature they hold "
                "is unknown; name every band, e.g. data.assign_coords(band=['ndvi', 'height_mean']), "
                "or set band descriptions in the GeoTIFF before rioxarray.open_rasterio."
            )
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(
                f"feature/band names {dup} occur more than once in {names}; names must be unique."
            )
        self._names = [str(n) for n in names]
        self._nodata = nodata
        self._array = arr
        self.grid = xarray_grid(arr, "features")
        self._block = None  # (numpy block (C, h, w), (row0, col0)) once bound

    @property
    def feature_names(self) -> list[str]:
        return list(self._names)

    def __repr__(self) -> str:
        return f"XarrayStack({len(self._names)} bands: {self._names})"

    # the dask path ------------------------------------------------------------------------------
    def input_arrays(self) -> list:
        """The (band, y, x) arrays the map needs (numpy or dask), in ``bind`` order."""
        return [self._array.data]

    def detached(self) -> XarrayStack:
        """A copy without the data (what goes into a dask graph; ``bind`` gives it its block)."""
        out = copy.copy(self)
        out._array = out.data = None
        return out

    def bind(self, blocks, origin, state=None) -> XarrayStack:
        """A copy whose reads come from the numpy ``blocks[0]`` starting at raster ``origin``."""
        out = copy.copy(self)
        out._block = (blocks[0], (int(origin[0]), int(origin[1])))
        return out

    # reading -----------------------------------------------------------------------------------
    def _read(self, idx, r0, r1, c0, c1) -> np.ndarray:
        if self._block is not None:
            block, (br, bc) = self._block
            if r0 < br or c0 < bc or r1 - br > block.shape[1] or c1 - bc > block.shape[2]:
                raise RuntimeError(
                    f"rows {r0}:{r1}, cols {c0}:{c1} lie outside the bound block "
                    f"at {(br, bc)} of shape {block.shape[1:]}"
                )
            return np.asarray(block[idx, r0 - br : r1 - br, c0 - bc : c1 - bc])
        if self._array is None:
            raise RuntimeError(
                "this XarrayStack was detached from its data; bind() it to a block first."
            )
        return compute_block(self._array.data[idx, r0:r1, c0:c1])

    def read_bands(self, names: Sequence[str], window: Window) -> np.ndarray:
        """The named bands over ``window`` (may pass the edges: NaN there), (C, h, w) float32."""
        lookup = {n: i for i, n in enumerate(self._names)}
        missing = [n for n in names if n not in lookup]
        if missing:
            raise KeyError(f"bands {missing} not found; available: {self._names}")
        idx = [lookup[n] for n in names]
        col0, row0 = int(window.col_off), int(window.row_off)
        h, w = int(window.height), int(window.width)
        out = np.full((len(idx), h, w), np.nan, dtype=np.float32)
        H, W = self.grid["height"], self.grid["width"]
        r0, r1, c0, c1 = max(row0, 0), min(row0 + h, H), max(col0, 0), min(col0 + w, W)
        if r1 <= r0 or c1 <= c0:
            return out
        arr = self._read(idx, r0, r1, c0, c1).astype(np.float32)
        nodata_to_nan(arr, [self._nodata[i] for i in idx])
        out[:, r0 - row0 : r1 - row0, c0 - col0 : c1 - col0] = arr
        return out

    def on_window(self, window: Window, out_resolution: float | None = None) -> np.ndarray:
        """Features over ``window`` (input pixels), averaged to ``out_resolution`` metres;
        (F, h, w) float32, NaN where nodata (a cell with any nodata pixel is NaN).
        """
        arr = self.read_bands(self._names, window)
        if out_resolution is None:
            return arr
        factor = int(round(float(out_resolution) / abs(self.grid["transform"].a)))
        return block_mean(arr, factor, skipna=False)


class XarrayMap:
    """A DataArray or Dataset read like an open rasterio dataset (for carbon and zonal statistics).

    Offers what :func:`~geoagb.mapping.carbon_stock` and friends use: ``count``, ``width``,
    ``height``, ``crs``, ``transform``, ``descriptions``, ``nodatavals``, ``read(i, window=...)``
    and ``window_transform``. A lazy (dask) map is computed window by window, all bands of a
    window at once (so a map from :func:`~geoagb.mapping.predict_xarray` runs its model once per
    window); persist it first (``agb = agb.persist()``) to reuse it across several calls.
    """

    def __init__(self, data):
        arr, names, nodata = as_band_array(data, "the map")
        self._array = arr
        self.descriptions = tuple(names)
        self.nodatavals = tuple(nodata)
        self.count = arr.shape[0]
        self.height, self.width = int(arr.shape[1]), int(arr.shape[2])
        self.crs = arr.rio.crs
        self.transform = arr.rio.transform(recalc=self.width > 1 and self.height > 1)
        self.name = f"<xarray map {list(names)}>"
        self._cache = (None, None)

    def read(
        self, indexes=None, window: Window | None = None, out_dtype=None, **kwargs
    ) -> np.ndarray:
        if window is None:
            window = Window(0, 0, self.width, self.height)
        key = tuple(int(v) for v in (window.col_off, window.row_off, window.width, window.height))
        if self._cache[0] != key:
            c0, r0, w, h = key
            self._cache = (
                key,
                np.asarray(self._array.data[:, r0 : r0 + h, c0 : c0 + w]),
            )  # all bands, once
        block = self._cache[1]
        if indexes is None:
            out = block
        elif isinstance(indexes, (list, tuple)):
            out = block[[i - 1 for i in indexes]]
        else:
            out = block[int(indexes) - 1]
        return out.astype(out_dtype) if out_dtype is not None else out.copy()

    def window_transform(self, window: Window):
        return transform_of_window(window, self.transform)

    def close(self) -> None:
        self._cache = (None, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


def open_map(raster):
    """``rasterio.open(raster)``, or an :class:`XarrayMap` for a DataArray / Dataset."""
    if is_xarray(raster):
        return XarrayMap(raster)
    return rasterio.open(raster)
