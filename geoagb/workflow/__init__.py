"""From a plot file and a raster folder to a validated model, a map and a report.

The library side of ``geoagb fit``, ``geoagb map BUNDLE`` and ``geoagb report``:

* :func:`fit_bundle` reads plots (GeoPackage, shapefile, GeoParquet, CSV; any CRS) and rasters,
  computes features with one :class:`~geoagb.features.RasterFeatures` recipe, runs plot quality
  control, suggests a CV block size from the residual variogram, cross-validates (spatial blocks
  and random k-fold) and fits the model on all plots;
* a :class:`Bundle` holds the fitted model (skops), the frozen feature recipe, CRS, feature
  names, target unit, CV scores, block size, package versions and input hashes in one
  ``.geoagb`` file (:func:`save_bundle`, :func:`load_bundle`); ``Bundle.predict_map`` maps with
  nothing else;
* :func:`write_report` writes one self-contained HTML report, after
  :func:`check_report_inputs` (the manifest, the map, the regions).
"""

from ._bundle import BUNDLE_SUFFIX, Bundle, is_bundle, load_bundle, save_bundle
from ._fit import MODELS, fit_bundle, make_model
from ._plots_io import raster_sources, read_plots
from ._recipe import load_config, make_recipe, recipe_to_toml
from ._report import report_figures, write_report
from ._report_inputs import check_report_inputs
from ._units import TargetTraits, carbon_unit, format_carbon, target_traits

__all__ = [
    "fit_bundle",
    "make_model",
    "MODELS",
    "Bundle",
    "load_bundle",
    "save_bundle",
    "is_bundle",
    "BUNDLE_SUFFIX",
    "read_plots",
    "raster_sources",
    "load_config",
    "make_recipe",
    "write_report",
    "report_figures",
    "check_report_inputs",
    "carbon_unit",
    "format_carbon",
    "target_traits",
    "TargetTraits",
    "recipe_to_toml",
]
