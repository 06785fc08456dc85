"""Field-data maths: tree volume, biomass, carbon, growth normalisation and plot quality control.

The field-data chain of the Shenzhen urban vegetation carbon study (Remote Sensing, 2026) for
one NFI plot (trees measured for species, DBH and height):

1. tree volume ``V = a D^b H^c`` (m^3, :func:`tree_volume`, Table A1);
2. stand volume ``M = sum V / plot area`` (m^3/ha, :func:`plot_density`);
3. biomass ``B = BEF M`` with ``BEF = a + b / M`` (Mg/ha, :func:`bef_biomass`, Table A2);
4. carbon ``C = B * ratio`` (MgC/ha, :func:`carbon_content`, Table A3), plus shrubs and grass
   from their mean heights (:func:`shrub_biomass`, :func:`grass_biomass`);
5. growth to the image year, ``C_ref = C_y (1 + r)^(ref - y)`` (:func:`normalize_to_year`);
6. belowground from aboveground (:func:`belowground`, :func:`fit_belowground`);
7. plot quality control against the imagery (:func:`filter_inconsistent_plots`, after
   FineKarstAGB, Li et al. 2026).

The coefficient tables ship as CSV files (``geoagb/inventory/data``); see :func:`species_table`.
"""

from ._belowground import PowerLaw, belowground, fit_belowground
from ._biomass import bef_biomass, carbon_content, grass_biomass, shrub_biomass
from ._density import plot_density
from ._qc import filter_inconsistent_plots
from ._tables import species_table
from ._temporal import normalize_to_year
from ._volume import tree_volume

__all__ = [
    "tree_volume",
    "bef_biomass",
    "carbon_content",
    "shrub_biomass",
    "grass_biomass",
    "normalize_to_year",
    "belowground",
    "fit_belowground",
    "PowerLaw",
    "plot_density",
    "filter_inconsistent_plots",
    "species_table",
]
