"""Recalibration of a predicted standard deviation on held-out data.

A network trained with a heteroscedastic loss predicts ``sigma`` per patch, but nothing ties its
scale to the errors it will make on new plots: early stopping, weight decay and the
``r2 + 0.1 NLL`` mix all shift it. The one-parameter recalibration here multiplies every
``sigma`` by the factor ``s`` at which the share of held-out errors within ``+-s sigma`` equals
the Gaussian 68.27 %: ``s`` is the 68.27 % quantile of ``|y - mu| / sigma`` on a validation
set. It is a one-parameter form of the quantile recalibration of Kuleshov et al. (2018); Laves
et al. (2020) fit the same single factor by maximum likelihood instead (``s^2`` the mean of
the squared standardised errors), which heavy-tailed errors widen.

References
----------
Kuleshov, V., Fenner, N. and Ermon, S. (2018). Accurate uncertainties for deep learning using
calibrated regression. Proceedings of the 35th International Conference on Machine Learning,
PMLR 80, 2796-2804.

Laves, M.-H., Ihler, S., Fast, J. F., Kahrs, L. A. and Ortmaier, T. (2020). Well-calibrated
regression uncertainty in medical imaging with deep learning. Proceedings of the Third
Conference on Medical Imaging with Deep Learning, PMLR 121, 393-412.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

__all__ = ["ONE_SD_COVERAGE", "MIN_CALIBRATION_SAMPLES", "check_predictions", "std_scale"]

#: share of a Gaussian within one standard deviation of its mean, 2 Phi(1) - 1
ONE_SD_COVERAGE = float(2 * norm.cdf(1.0) - 1)

#: fewest validation samples a scale factor is estimated from; the 68 % quantile of fewer than
#: 20 values moves by more than about 25 % from one sample to the next
MIN_CALIBRATION_SAMPLES = 20


def check_predictions(y_true, y_pred, y_std):
    """The three arrays as flat float arrays, refused unless they hold one value per sample."""
    y_true, y_pred, y_std = (
        np.asarray(a, dtype=float).reshape(-1) for a in (y_true, y_pred, y_std)
    )
    if not (y_true.shape == y_pred.shape == y_std.shape):
        raise ValueError(
            f"y_true, y_pred and y_std have {y_true.size}, {y_pred.size} and {y_std.size} "
            "values; give one of each per sample."
        )
    return y_true, y_pred, y_std


def std_scale(y_true, y_pred, y_std, coverage: float = ONE_SD_COVERAGE):
    """Factor ``s`` such that a share ``coverage`` of ``|y_true - y_pred| <= s * y_std``.

    Parameters
    ----------
    y_true, y_pred, y_std : array-like of shape (n,)
        Held-out observations, predicted means and predicted standard deviations (> 0);
        non-finite rows are ignored.
    coverage : float, default 2 Phi(1) - 1 = 0.6827
        Target share of errors within ``+- s * y_std``.

    Returns
    -------
    s : float or None
        The ``coverage`` quantile of ``|y_true - y_pred| / y_std`` (linear interpolation between
        order statistics); None when fewer than ``MIN_CALIBRATION_SAMPLES`` (20) finite rows
        are left: a factor from so few errors is not trustworthy.

    Examples
    --------
    Errors twice as wide as the predicted std need ``s`` close to 2:

    >>> rng = np.random.default_rng(0)
    >>> e = rng.normal(0.0, 2.0, 100_000)
    >>> round(std_scale(e, np.zeros_like(e), np.ones_like(e)), 1)
    2.0
    >>> std_scale([1.0, 2.0], [0.0, 0.0], [1.0, 1.0]) is None
    True
    """
    y_true, y_pred, y_std = check_predictions(y_true, y_pred, y_std)
    if not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage={coverage!r} must lie in (0, 1), e.g. 0.6827 for +-1 sd.")
    ok = np.isfinite(y_true) & np.isfinite(y_pred) & np.isfinite(y_std) & (y_std > 0)
    if ok.sum() < MIN_CALIBRATION_SAMPLES:
        return None
    z = np.abs(y_true[ok] - y_pred[ok]) / y_std[ok]
    return float(np.quantile(z, coverage))
