"""The raster floor: reading, grids, windows, the atomic GeoTIFF writer, band tables and zones.

Internal plumbing shared by :mod:`geoagb.features`, :mod:`geoagb.mapping`,
:mod:`geoagb.timeseries`, :mod:`geoagb.applicability` and :mod:`geoagb.workflow`; they import
it from here (``from ..raster import plan_windows``), never from its private modules nor from
each other's. It imports none of them. Not a public API: names may change between releases.

=====================  ==========================================================================
Module                 What it holds
=====================  ==========================================================================
``_protocol``          :class:`RasterSource`, the one contract of a raster source
                       (``feature_names``, ``grid``, ``halo``, ``on_window``)
``_read``              reading: :func:`read_padded` (a window past the edges, NaN there),
                       :func:`read_block`, :func:`read_on_grid` (onto another grid, WarpedVRT),
                       :func:`nodata_to_nan`, :func:`context_block` (a tile with its halo),
                       :func:`open_all`, :func:`find_band` (band by description),
                       :func:`has_valid_pixel`; grids: :func:`raster_grid`,
                       :func:`grid_differences`, :func:`same_grid`, :func:`cell_area_ha` (ha)
``_sources``           sources as metadata: :class:`SourceInfo`, :func:`source_info`,
                       :func:`read_sources`, :func:`check_same_grid` (never resample silently),
                       :func:`grid_dict`; band names: :func:`band_table` (a recipe's lookup),
                       :func:`stack_bands` / :class:`StackBand` (a stack's feature names),
                       :func:`resolve_band`; plots: :func:`plot_xy`, :func:`footprint_rect`,
                       :func:`latitude_of`
``_entry``             inputs checked where they enter: :func:`check_projected` (UTM zone from
                       :func:`utm_epsg`), :func:`categorical_reason` (class rasters),
                       :func:`odd_grids` (the odd grid out), :data:`MAX_CLASS_CODES`,
                       :func:`require_valid_map` (no empty map)
``_windows``           windows: :class:`OutputGrid`, :func:`output_grid`,
                       :func:`check_metric_resolution`, :func:`window_size_for_budget`,
                       :func:`plan_windows`, :func:`block_mean` (pixels -> output cells),
                       :data:`TILE`
``_writer``            the atomic GeoTIFF writer: :func:`atomic_geotiff` (temporary file renamed
                       on success), :func:`geotiff_profile`, :func:`check_geotiff_path`,
                       :func:`tile_size`, :func:`overview_factors`, :data:`GEOTIFF_SUFFIXES`,
                       :func:`relabel_geotiff` (band names, tags, clip at 0)
``_zones``             zones: :class:`Zones`, :func:`make_zones`, :class:`ZonalAccumulator`,
                       :func:`map_windows`
``_stack``             GeoTIFF bands as features: :class:`RasterStack`,
                       :func:`as_feature_source` (any input -> a :class:`RasterSource`)
``_xr_source``         xarray inputs: :class:`XarrayStack` (a :class:`RasterSource`),
                       :class:`XarrayMap` (a DataArray read like a rasterio dataset),
                       :func:`open_map`, :func:`as_band_array`, :func:`xarray_grid`,
                       :func:`is_xarray`, :func:`require_xarray`, :func:`compute_block`,
                       :data:`XARRAY_HINT` (xarray and rioxarray imported at first use)
``_engine``            the window engine: :func:`run_windows` (read ahead in a thread, compute,
                       write; bounded memory), :func:`run_task` (one window, what a Dask worker
                       runs)
=====================  ==========================================================================
"""

from ._engine import run_task, run_windows
from ._entry import (
    MAX_CLASS_CODES,
    categorical_reason,
    check_projected,
    odd_grids,
    require_valid_map,
    utm_epsg,
)
from ._protocol import RasterSource
from ._read import (
    cell_area_ha,
    context_block,
    find_band,
    grid_differences,
    has_valid_pixel,
    nodata_to_nan,
    open_all,
    raster_grid,
    read_block,
    read_on_grid,
    read_padded,
    same_grid,
)
from ._sources import (
    SourceInfo,
    StackBand,
    band_table,
    check_same_grid,
    footprint_rect,
    grid_dict,
    latitude_of,
    plot_xy,
    read_sources,
    resolve_band,
    source_info,
    stack_bands,
)
from ._stack import RasterStack, as_feature_source
from ._windows import (
    TILE,
    OutputGrid,
    block_mean,
    check_metric_resolution,
    output_grid,
    plan_windows,
    window_size_for_budget,
)
from ._writer import (
    GEOTIFF_SUFFIXES,
    atomic_geotiff,
    check_geotiff_path,
    geotiff_profile,
    overview_factors,
    relabel_geotiff,
    tile_size,
)
from ._xr_source import (
    XARRAY_HINT,
    XarrayMap,
    XarrayStack,
    as_band_array,
    compute_block,
    is_xarray,
    open_map,
    require_xarray,
    xarray_grid,
)
from ._zones import ZonalAccumulator, Zones, make_zones, map_windows

__all__ = [
    # protocol
    "RasterSource",
    # reading and grids
    "read_padded",
    "read_block",
    "read_on_grid",
    "nodata_to_nan",
    "context_block",
    "open_all",
    "find_band",
    "has_valid_pixel",
    "raster_grid",
    "grid_differences",
    "same_grid",
    "cell_area_ha",
    # sources and band tables
    "SourceInfo",
    "source_info",
    "read_sources",
    "check_same_grid",
    "grid_dict",
    "band_table",
    "StackBand",
    "stack_bands",
    "resolve_band",
    "plot_xy",
    "footprint_rect",
    "latitude_of",
    # inputs checked where they enter
    "utm_epsg",
    "check_projected",
    "categorical_reason",
    "MAX_CLASS_CODES",
    "odd_grids",
    "require_valid_map",
    # windows
    "OutputGrid",
    "output_grid",
    "check_metric_resolution",
    "window_size_for_budget",
    "plan_windows",
    "block_mean",
    "TILE",
    # writer
    "GEOTIFF_SUFFIXES",
    "atomic_geotiff",
    "relabel_geotiff",
    "check_geotiff_path",
    "geotiff_profile",
    "tile_size",
    "overview_factors",
    # zones
    "Zones",
    "make_zones",
    "ZonalAccumulator",
    "map_windows",
    # feature sources
    "RasterStack",
    "as_feature_source",
    "XarrayStack",
    "XarrayMap",
    "open_map",
    "as_band_array",
    "xarray_grid",
    "is_xarray",
    "require_xarray",
    "compute_block",
    "XARRAY_HINT",
    # the window engine
    "run_windows",
    "run_task",
]
