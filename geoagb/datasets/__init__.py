"""Synthetic landscapes: the embedded default data of geoagb."""

from ._landscape import DEFAULT_CRS, Landscape
from ._plots import PLOT_FEATURES, make_plots

__all__ = ["make_plots", "Landscape", "PLOT_FEATURES", "DEFAULT_CRS"]
