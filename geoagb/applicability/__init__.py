"""Where the model may be trusted: area of applicability and distance-matched cross-validation.

* :class:`AreaOfApplicability` and :func:`dissimilarity_index`: the dissimilarity index (DI) of
  new locations in the importance-weighted predictor space, its cross-validation-aware
  threshold and the area of applicability (AOA), after Meyer & Pebesma (2021); the local point
  density (LPD) as in CAST. ``geoagb.mapping.predict_raster(..., applicability=aoa)`` writes DI
  and AOA bands beside the AGB map, and ``carbon_stock(..., aoa=...)`` counts carbon inside it.
* :class:`NNDM` (Milà et al. 2022) and :class:`KNNDM` (Linnenbrink et al. 2024): scikit-learn
  splitters whose held-out-to-training distances match the prediction-to-sample distances.
* :func:`geodist`: nearest-neighbour distance distributions of samples, prediction locations and
  any cross-validation, with Wasserstein distances and an ECDF plot.

References
----------
Meyer, H. & Pebesma, E. (2021). Predicting into unknown space? Estimating the area of
applicability of spatial prediction models. Methods in Ecology and Evolution 12:1620-1633.

Milà, C., Mateu, J., Pebesma, E. & Meyer, H. (2022). Nearest neighbour distance matching
Leave-One-Out Cross-Validation for map validation. Methods in Ecology and Evolution 13:1304-1316.

Linnenbrink, J., Milà, C., Ludwig, M. & Meyer, H. (2024). kNNDM CV: k-fold nearest-neighbour
distance matching cross-validation for map accuracy estimation. Geoscientific Model Development
17:5897-5912.
"""

from ._aoa import AreaOfApplicability, dissimilarity_index
from ._geodist import GeoDistances, geodist
from ._knndm import KNNDM, KNNDMResult, fold_nearest_distances, knndm_folds
from ._locations import prediction_locations
from ._nndm import NNDM, NNDMResult, nearest_neighbour_distances, nndm_exclusion
from ._raster import (
    APPLICABILITY_BANDS,
    APPLICABILITY_UNITS,
    AOAMask,
    applicability_bands,
    check_applicability,
)
from ._stats import aoa_threshold, cast_threshold, upper_whisker

__all__ = [
    "AreaOfApplicability",
    "dissimilarity_index",
    "aoa_threshold",
    "cast_threshold",
    "upper_whisker",
    "NNDM",
    "NNDMResult",
    "nndm_exclusion",
    "KNNDM",
    "KNNDMResult",
    "knndm_folds",
    "fold_nearest_distances",
    "nearest_neighbour_distances",
    "prediction_locations",
    "geodist",
    "GeoDistances",
    "APPLICABILITY_BANDS",
    "APPLICABILITY_UNITS",
    "AOAMask",
    "applicability_bands",
    "check_applicability",
]
