"""Spatial cross-validation: splitters, validation with train and validation metrics, and
block-size selection. All splitters are scikit-learn cross-validators usable as ``cv=``.
"""

from ._blocks import block_labels, block_origin
from ._compare import ModelComparison, compare_models, corrected_resampled_ttest
from ._plot import plot_folds
from ._sampling import GradientStratifiedSampler, holdout_split
from ._split import BufferedLeaveOneOut, SpatialBlockKFold, check_split, check_spread
from ._suggest import BlockSizeSuggestion, suggest_block_size
from ._validate import (
    BlockSizeResult,
    SpatialCVResult,
    block_size_sensitivity,
    spatial_cross_validate,
)


def __getattr__(name):
    # distance-matching splitters live in geoagb.applicability (imported lazily: no cycle)
    if name in ("NNDM", "KNNDM"):
        from .. import applicability

        return getattr(applicability, name)
    raise AttributeError(f"module 'geoagb.model_selection' has no attribute {name!r}")


__all__ = [
    "block_labels",
    "block_origin",
    "SpatialBlockKFold",
    "BufferedLeaveOneOut",
    "GradientStratifiedSampler",
    "holdout_split",
    "spatial_cross_validate",
    "SpatialCVResult",
    "block_size_sensitivity",
    "BlockSizeResult",
    "suggest_block_size",
    "BlockSizeSuggestion",
    "compare_models",
    "ModelComparison",
    "corrected_resampled_ttest",
    "NNDM",
    "KNNDM",
    "plot_folds",
    "check_split",
    "check_spread",
]
