"""Figures: one function per figure, each returning a matplotlib Figure.

The figure functions live next to the methods they draw (``geoagb.kriging._plot`` and so on);
this module gathers them under one name. Names are resolved lazily so that
``import geoagb.plotting`` stays cheap (and never imports torch: the deep figures,
``plot_history`` and ``plot_calibration``, load their module only when first used).
"""

from .._lazy import attach as _attach

__getattr__, __dir__, __all__ = _attach(
    __name__,
    {
        "plot_folds": "geoagb.model_selection._plot",
        "plot_predicted_observed": "geoagb.model_selection._plot",
        "plot_block_size_sensitivity": "geoagb.model_selection._plot",
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
        "plot_calibration": "geoagb.deep._plot",
        "plot_region_series": "geoagb.timeseries._plot",
        "plot_trend_map": "geoagb.timeseries._plot",
    },
)
