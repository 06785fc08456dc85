"""Loss functions of the patch regressors (FineKarstAGB, eqs. 5-7), as plain torch functions."""

from __future__ import annotations

from ._torch import torch

__all__ = ["r2_loss", "heteroscedastic_nll", "csmf_loss", "mse_loss", "LOSSES", "get_loss"]


def r2_loss(y, y_pred, eps: float = 1e-12):
    """R2 loss ``sum (y - y_pred)^2 / sum (y - mean(y))^2`` over a batch (FineKarstAGB, eq. 6).

    ``1 - r2_loss`` is the coefficient of determination of the batch, so minimising it maximises
    R2. The loss does not change when ``y`` and ``y_pred`` are rescaled together.

    Parameters
    ----------
    y, y_pred : tensor of shape (N,)
        Observed and predicted values (any unit, e.g. Mg/ha or standardised).
    eps : float
        Floor of the denominator, for a batch whose targets are all equal.

    Returns
    -------
    tensor
        A scalar.

    Examples
    --------
    >>> import torch
    >>> float(r2_loss(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0, 4.0])))
    0.5
    """
    y = y.reshape(-1)
    y_pred = y_pred.reshape(-1)
    ss_res = torch.sum((y - y_pred) ** 2)
    ss_tot = torch.sum((y - y.mean()) ** 2)
    return ss_res / torch.clamp(ss_tot, min=eps)


def heteroscedastic_nll(y, y_pred, log_var):
    """Heteroscedastic uncertainty loss ``mean(exp(-s) (y - y_pred)^2 + s)``, ``s = log sigma^2``.

    FineKarstAGB, eq. 7: twice the Gaussian negative log-likelihood up to a constant. Samples that
    the network declares uncertain (large ``s``) weigh less in the squared-error term; the ``+ s``
    term stops it from declaring everything uncertain.

    Parameters
    ----------
    y, y_pred, log_var : tensor of shape (N,)
        Observation, predicted mean and predicted log-variance (in the units of ``y`` squared).

    Examples
    --------
    >>> import torch
    >>> float(heteroscedastic_nll(torch.tensor([1.0]), torch.tensor([3.0]), torch.tensor([0.0])))
    4.0
    """
    y = y.reshape(-1)
    y_pred = y_pred.reshape(-1)
    log_var = log_var.reshape(-1)
    return torch.mean(torch.exp(-log_var) * (y - y_pred) ** 2 + log_var)


def csmf_loss(y, y_pred, log_var, weight: float = 0.1):
    """CSMF-Net's total loss ``r2_loss + weight * heteroscedastic_nll`` (FineKarstAGB, eq. 5, lambda=0.1)."""
    return r2_loss(y, y_pred) + weight * heteroscedastic_nll(y, y_pred, log_var)


def mse_loss(y, y_pred):
    """Mean squared error."""
    return torch.mean((y.reshape(-1) - y_pred.reshape(-1)) ** 2)


#: loss name -> whether it trains the log-variance output (so ``predict(return_std=True)`` works)
LOSSES = {"mse": False, "r2": False, "nll": True, "r2_unc": True}


def get_loss(name: str, uncertainty_weight: float = 0.1):
    """Return ``f(y, out) -> scalar`` for a loss name; ``out`` is the (N, 2) network output."""
    if name not in LOSSES:
        raise ValueError(f"loss={name!r} is not one of {sorted(LOSSES)}.")
    if name == "mse":
        return lambda y, out: mse_loss(y, out[:, 0])
    if name == "r2":
        return lambda y, out: r2_loss(y, out[:, 0])
    if name == "nll":
        return lambda y, out: heteroscedastic_nll(y, out[:, 0], out[:, 1])
    return lambda y, out: csmf_loss(y, out[:, 0], out[:, 1], weight=uncertainty_weight)
