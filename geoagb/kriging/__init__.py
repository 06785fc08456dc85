"""Residual kriging: variograms, ordinary kriging, co-kriging and the residual-kriging regressor.

* :class:`Variogram` - empirical semivariogram and model fitting in gstat's parameterisation;
* :class:`OrdinaryKriging` - global or moving-neighbourhood kriging, batched and chunked;
* :class:`SimpleKriging` - kriging with a known mean (0 for residuals);
* :class:`KrigingRegressor` - kriging alone (optionally with a linear drift) as a regressor;
* :class:`CoKriging` - collocated (Markov model 1) or full (linear model of coregionalisation);
* :class:`ResidualKrigingRegressor` - a scikit-learn meta-estimator: learner + kriged
  out-of-fold residuals that corrects only where the residuals are spatially structured.

Importing this package loads nothing else (scikit-learn, numba) until a name is used
(``lazy_loader``, the scientific-Python lazy-import convention, SPEC 1).
"""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submod_attrs={
        "_ck": ["CoKriging"],
        "_lmc": ["fit_lmc"],
        "_ok": ["OrdinaryKriging", "SimpleKriging"],
        "_plot": ["plot_variogram"],
        "_regressor": ["KrigingRegressor"],
        "_residual": ["ResidualKrigingRegressor"],
        "_variogram": ["Variogram", "empirical_variogram", "fit_variogram_model", "lag_edges"],
    },
)
