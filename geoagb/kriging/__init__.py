"""Residual kriging: variograms, ordinary kriging, co-kriging and the residual-kriging regressor.

* :class:`Variogram` - empirical semivariogram and model fitting in gstat's parameterisation;
* :class:`OrdinaryKriging` - global or moving-neighbourhood kriging, batched and chunked;
* :class:`CoKriging` - collocated (Markov model 1) or full (linear model of coregionalisation);
* :class:`ResidualKrigingRegressor` - a scikit-learn meta-estimator: learner + kriged
  out-of-fold residuals (seed 002).
"""

from ._ck import CoKriging
from ._lmc import fit_lmc
from ._ok import OrdinaryKriging
from ._plot import plot_variogram
from ._residual import ResidualKrigingRegressor
from ._variogram import Variogram, empirical_variogram, fit_variogram_model, lag_edges

__all__ = [
    "Variogram",
    "OrdinaryKriging",
    "CoKriging",
    "ResidualKrigingRegressor",
    "empirical_variogram",
    "fit_variogram_model",
    "fit_lmc",
    "lag_edges",
    "plot_variogram",
]
