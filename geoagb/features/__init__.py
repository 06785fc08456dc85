"""Features from rasters: spectral indices, GLCM texture, terrain, plot and patch extraction.

One feature definition, :class:`RasterFeatures`, serves the plots (``at_points``) and the
wall-to-wall map (``on_window``) with the same numbers; :class:`XarrayFeatures` computes the
same recipe from xarray DataArrays. The maths are pure functions on arrays
(:func:`spectral_indices`, :func:`glcm_texture`, :func:`terrain`, ...);
:func:`screen_features` ranks candidate features against the target, as Table A4 of the Shenzhen
urban vegetation carbon study (Remote Sensing, 2026) does.
"""

from ._extract import extract_patches, extract_points
from ._flow import flow_accumulation
from ._indices import SENSOR_BANDS, band_ratios, pc1, spectral_indices
from ._plot import plot_feature_window, plot_screening
from ._raster import RasterFeatures
from ._screen import feature_category, screen_features
from ._terrain import TERRAIN_VARIABLES, heat_load_index, solar_radiation_proxy, terrain
from ._texture import GLCM_FEATURES, glcm_texture
from ._xr_features import XarrayFeatures

__all__ = [
    "spectral_indices",
    "band_ratios",
    "pc1",
    "SENSOR_BANDS",
    "glcm_texture",
    "GLCM_FEATURES",
    "terrain",
    "TERRAIN_VARIABLES",
    "heat_load_index",
    "solar_radiation_proxy",
    "flow_accumulation",
    "RasterFeatures",
    "XarrayFeatures",
    "extract_points",
    "extract_patches",
    "screen_features",
    "feature_category",
    "plot_screening",
    "plot_feature_window",
]
