"""Integrated-gradients attribution of a patch network's AGB prediction to bands and branches.

For an input patch ``x`` and a baseline patch ``x0``, the attribution of pixel ``p`` of band ``c``
is ``(x - x0)[c, p] * mean over alpha of d f(x0 + alpha (x - x0)) / d x[c, p]`` (Sundararajan et
al., 2017), ``f`` the predicted AGB in Mg/ha. Summed over pixels it gives one number per band;
summed over the bands of a branch, one number per branch. Attributions add up to
``f(x) - f(x0)`` (completeness), up to the quadrature error of ``n_steps`` midpoint steps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._torch import torch

__all__ = ["integrated_gradients", "group_attributions"]


def integrated_gradients(
    module,
    x,
    baseline,
    n_steps: int = 32,
    batch_size: int = 16,
    device=None,
    output_scale: float = 1.0,
    output_shift: float = 0.0,
):
    """Integrated gradients of output 0 (the mean) of ``module`` for every input pixel.

    Parameters
    ----------
    module : PatchNet
        A network returning (N, 2); it is put in eval mode.
    x : tensor (N, C, H, W)
        Inputs (nodata already filled).
    baseline : tensor broadcastable to (N, C, H, W)
        Reference input, e.g. the per-channel training mean ``(1, C, 1, 1)``.
    n_steps : int
        Midpoint-rule steps along the straight path from baseline to input.
    batch_size : int
        Patches per backward pass (memory is ``batch_size * n_steps`` patches).
    device : torch.device, optional
        Device of ``module``; defaults to that of its first parameter.
    output_scale, output_shift : float
        Map the network output to Mg/ha: ``shift + scale * out``.

    Returns
    -------
    attributions : ndarray (N, C, H, W), Mg/ha
    prediction : ndarray (N,), Mg/ha
        ``f(x)``.
    baseline_prediction : ndarray (N,), Mg/ha
        ``f(x0)``.
    """
    if n_steps < 1:
        raise ValueError(f"n_steps={n_steps} must be a positive integer.")
    module.eval()
    if device is None:
        device = next(module.parameters()).device
    base = torch.as_tensor(baseline, dtype=torch.float32)
    alphas = (torch.arange(n_steps, dtype=torch.float32) + 0.5) / n_steps
    attr, pred, pred0 = [], [], []
    for start in range(0, len(x), batch_size):
        xb = x[start : start + batch_size].to(device)
        b0 = torch.broadcast_to(base.to(device), xb.shape)
        diff = xb - b0
        path = b0[None] + alphas.to(device)[:, None, None, None, None] * diff[None]
        path = path.reshape(-1, *xb.shape[1:]).requires_grad_(True)
        out = module(path)[:, 0]
        (grad,) = torch.autograd.grad(out.sum(), path)
        grad = grad.reshape(n_steps, *xb.shape).mean(dim=0)
        attr.append((diff * grad).detach().cpu())
        with torch.no_grad():
            pred.append(module(xb)[:, 0].cpu())
            pred0.append(module(b0)[:, 0].cpu())
    a = torch.cat(attr).double().numpy() * output_scale
    p = torch.cat(pred).double().numpy() * output_scale + output_shift
    p0 = torch.cat(pred0).double().numpy() * output_scale + output_shift
    return a, p, p0


def group_attributions(
    band_attr: np.ndarray, bands: list[str], branches: dict[str, list[str]]
) -> pd.DataFrame:
    """Sum per-band attributions (N, C) into one column per branch."""
    missing = sorted({b for bs in branches.values() for b in bs} - set(bands))
    if missing:
        raise ValueError(f"branches name bands {missing} that the model does not use ({bands}).")
    cols = {
        name: band_attr[:, [bands.index(b) for b in bs]].sum(axis=1)
        for name, bs in branches.items()
    }
    return pd.DataFrame(cols)
