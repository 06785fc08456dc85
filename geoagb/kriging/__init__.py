"""Residual kriging: variograms, ordinary kriging, co-kriging and the residual-kriging regressor.

* :class:`Variogram` - empirical semivariogram and model fitting in gstat's parameterisation;
* :class:`OrdinaryKriging` - global or moving-neighbourhood kriging, batched and chunked;
* :class:`SimpleKriging` - kriging with a known mean (0 for residuals);
* :class:`KrigingRegressor` - kriging alone (optionally with a linear drift) as a regressor;
* :class:`CoKriging` - collocated (Markov model 1) or full (linear model of coregionalisation);
* :class:`ResidualKrigingRegressor` - a scikit-learn meta-estimator: learner + kriged
  out-of-fold residuals that corrects only where the residuals are spatially structured.

Importing this package loads nothing else (scikit-learn, numba) until a name is used
(:func:`geoagb._lazy.attach`, the scientific-Python lazy-import convention, SPEC 1).
"""

from .._lazy import attach as _attach

__getattr__, __dir__, __all__ = _attach(
    __name__,
    {
        "CoKriging": "._ck",
        "fit_lmc": "._lmc",
        "OrdinaryKriging": "._ok",
        "SimpleKriging": "._ok",
        "plot_variogram": "._plot",
        "KrigingRegressor": "._regressor",
        "ResidualKrigingRegressor": "._residual",
        "learner_prediction": "._residual",
        "Variogram": "._variogram",
        "empirical_variogram": "._variogram",
        "fit_variogram_model": "._variogram",
        "lag_edges": "._lags",
        "plot_spacing": "._lags",
        "distinct_locations": "._lags",
        "VariogramError": "._variogram",
    },
)
