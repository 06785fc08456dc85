"""Residual kriging: variograms, ordinary kriging, co-kriging and the residual-kriging regressor.

* :class:`Variogram` - empirical semivariogram and model fitting in gstat's parameterisation;
* :class:`OrdinaryKriging` - global or moving-neighbourhood kriging, batched and chunked;
* :class:`SimpleKriging` - kriging with a known mean (0 for residuals);
* :class:`KrigingRegressor` - kriging alone (optionally with a linear drift) as a regressor;
* :class:`CoKriging` - collocated (Markov model 1) or full (linear model of coregionalisation);
* :class:`ResidualKrigingRegressor` - a scikit-learn meta-estimator: learner + kriged
  out-of-fold residuals that corrects only where the residuals are spatially structured.
"""

from ._ck import CoKriging
from ._lmc import fit_lmc
from ._ok import OrdinaryKriging, SimpleKriging
from ._plot import plot_variogram
from ._regressor import KrigingRegressor
from ._residual import ResidualKrigingRegressor
from ._variogram import Variogram, empirical_variogram, fit_variogram_model, lag_edges

__all__ = [
    "Variogram",
    "OrdinaryKriging",
    "SimpleKriging",
    "KrigingRegressor",
    "CoKriging",
    "ResidualKrigingRegressor",
    "empirical_variogram",
    "fit_variogram_model",
    "fit_lmc",
    "lag_edges",
    "plot_variogram",
]
