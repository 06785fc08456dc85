"""Synthetic landscapes: the embedded default data of geoagb."""

from ._landscape import DEFAULT_CRS, Landscape
from ._plots import PLOT_FEATURES, make_plots
from ._scene import BAND_NAMES, LANDCOVER_CLASSES, Scene, make_scene

__all__ = [
    "make_plots",
    "make_scene",
    "Scene",
    "Landscape",
    "PLOT_FEATURES",
    "BAND_NAMES",
    "LANDCOVER_CLASSES",
    "DEFAULT_CRS",
]
