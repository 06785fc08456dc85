"""Wall-to-wall mapping, carbon accounting and map comparison (FineKarstAGB, the Tibet ResNet
study, the China 1 km AGBC/BGBC dataset and the Shenzhen urban-carbon study).

* :func:`predict_raster` maps AGB (Mg/ha) and its uncertainty from any fitted estimator (tabular
  learners with a :class:`~geoagb.features.RasterFeatures` recipe or a feature stack, patch models
  by a sliding plot-sized patch, residual kriging), window by window with bounded memory, into a
  tiled GeoTIFF written atomically; ``client=`` spreads the windows over a Dask cluster;
* :func:`load_estimator_file` loads a fitted estimator (or a feature recipe) from a skops, joblib
  or geoagb-deep file without running code from it (unless trusted);
* :func:`explain_raster` writes per-feature or per-group SHAP maps;
* :func:`carbon_stock`, :func:`carbon_sink`, :func:`zonal_statistics` and
  :func:`agb_class_frequencies` turn maps into MgC / TgC / PgC per region or elevation band;
* :func:`compare_maps`, :func:`evaluate_against_plots` and :func:`canopy_height_consistency`
  (AGB = a H^b) evaluate a map against other maps, plots and a canopy-height model;
* :func:`plot_agb_map`, :func:`plot_power_law`, :func:`plot_class_frequencies`: quick looks.
"""

from ..features import XarrayFeatures
from ._carbon import agb_class_frequencies, carbon_sink, carbon_stock, zonal_statistics
from ._compare import (
    MapComparison,
    PlotEvaluation,
    PowerLawFit,
    canopy_height_consistency,
    compare_maps,
    evaluate_against_plots,
    fit_power_law,
)
from ._explain_raster import explain_raster
from ._load import load_estimator_file
from ._plot import plot_agb_map, plot_class_frequencies, plot_power_law
from ._predict import predict_raster
from ._tabular import uncertainty_kind
from ._xarray import predict_xarray

__all__ = [
    "predict_raster",
    "predict_xarray",
    "load_estimator_file",
    "XarrayFeatures",
    "explain_raster",
    "carbon_stock",
    "carbon_sink",
    "zonal_statistics",
    "agb_class_frequencies",
    "compare_maps",
    "evaluate_against_plots",
    "canopy_height_consistency",
    "fit_power_law",
    "MapComparison",
    "PlotEvaluation",
    "PowerLawFit",
    "plot_agb_map",
    "plot_power_law",
    "plot_class_frequencies",
    "uncertainty_kind",
]
