"""Explanations of fitted AGB models: SHAP values, interactions, thresholds, residual kriging.

:func:`explain` returns an :class:`Explanation` for any fitted geoagb or scikit-learn-style
regressor: XGBoost through its own TreeSHAP (interaction values through exact per-leaf tables,
much faster than ``pred_interactions`` on the CPU), other tree ensembles through
``shap.TreeExplainer``, anything else through shap's model-agnostic explainers, pipelines in terms
of their input features, and a :class:`~geoagb.kriging.ResidualKrigingRegressor` as its learner's
SHAP values plus the kriged residual (``spatial_residual``), so that the terms still add up to the
prediction. Every geoagb estimator's ``.explain(X, **kw)`` calls :func:`explain`.

The analysis follows the Shenzhen urban vegetation carbon study (Remote Sensing, 2026): global
importance (mean absolute SHAP value), dependence plots coloured by elevation with thresholds from segmented
regression, and SHAP interaction values ranked between feature groups (spectral x terrain).

References
----------
Lundberg, S. M. et al. (2020). From local explanations to global understanding with explainable
AI for trees. Nature Machine Intelligence 2, 56-67.

Estimation of urban above-ground vegetation carbon density and analysis of topography-modulated
spectral responses in Shenzhen, China. Remote Sensing, 2026 (the Shenzhen study).
"""

from ._explain import explain
from ._explanation import Explanation, Thresholds
from ._groups import GROUP_RULES, feature_groups, importance, interaction_strength, top_interactions
from ._mixin import ExplainMixin
from ._segmented import SegmentedFit, dependence_thresholds, segmented_regression

__all__ = [
    "explain",
    "Explanation",
    "ExplainMixin",
    "Thresholds",
    "importance",
    "dependence_thresholds",
    "top_interactions",
    "interaction_strength",
    "feature_groups",
    "GROUP_RULES",
    "segmented_regression",
    "SegmentedFit",
]
