"""Figures: one function per figure, each returning a matplotlib Figure.

The figure functions live next to the methods they draw (``geoagb.kriging._plot`` and so on);
this module gathers them under one name. Names are resolved lazily so that
``import geoagb.plotting`` stays cheap.
"""

from importlib import import_module

from ._cv import plot_block_size_sensitivity, plot_folds, plot_predicted_observed

_LAZY = {
    "plot_variogram": "geoagb.kriging._plot",
    "plot_importance": "geoagb.explain._plot",
    "plot_summary": "geoagb.explain._plot",
    "plot_dependence": "geoagb.explain._plot",
    "plot_interaction": "geoagb.explain._plot",
    "plot_top_interactions": "geoagb.explain._plot",
    "plot_agb_map": "geoagb.mapping._plot",
    "plot_power_law": "geoagb.mapping._plot",
    "plot_class_frequencies": "geoagb.mapping._plot",
    "plot_screening": "geoagb.features._plot",
    "plot_feature_window": "geoagb.features._plot",
    "plot_history": "geoagb.deep._plot",
}

__all__ = ["plot_folds", "plot_predicted_observed", "plot_block_size_sensitivity", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'geoagb.plotting' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
